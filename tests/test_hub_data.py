"""Hub datasets wherever a table or a corpus is named (`hf://ID[:CONFIG]:SPLIT`, or a TOML table), loaded
as `datasets.load_dataset` loads them; offline, from a hub-layout cache built here; the dataset's commit
recorded, so a new commit is a changed input."""

from __future__ import annotations

import json

import pytest

from maskkit.cli.main import main
from maskkit.errors import MissingFile
from maskkit.runs.hub_data import hub_dataset_name, load_hub_dataset, parse_hub_dataset
from maskkit.runs.tables import read_table, text_lines
from maskkit.study.config import StudyConfig
from maskkit.training.corpus import load_corpus
from tests.conftest import LABELLED, SENTENCES

FIRST, SECOND = "1" * 40, "2" * 40


def publish(cache, repo, commit, rows):
    """A dataset repository `repo` at `commit` in a hub-layout cache (`main` points to it): CSV files with
    a `sentence` and a `label` column, one per split."""
    root = cache / f"datasets--{repo.replace('/', '--')}"
    data = root / "snapshots" / commit / "data"
    data.mkdir(parents=True, exist_ok=True)
    for split, part in (("train", rows), ("test", rows[:6])):
        lines = "".join(f'"{r["text"]}",{"pos" if r["label"] else "neg"}\n' for r in part)
        (data / f"{split}.csv").write_text("sentence,label\n" + lines)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    import datasets
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets-cache")
    monkeypatch.chdir(tmp_path)
    publish(cache, "org/reviews", FIRST, LABELLED)
    return cache


def test_names_and_tables_read_as_one_form():
    spec = parse_hub_dataset("hf://nyu-mll/glue@v1:sst2:validation?text=sentence")
    assert (spec.id, spec.revision, spec.config, spec.split, spec.renames) == (
        "nyu-mll/glue", "v1", "sst2", "validation", (("text", "sentence"),))  # fmt: skip
    assert parse_hub_dataset("hf://imdb:train[:10%]").split == "train[:10%]"
    table = {"dataset": "nyu-mll/glue", "name": "sst2", "split": "train", "text": "sentence"}
    assert hub_dataset_name(table, "study: train") == "hf://nyu-mll/glue:sst2:train?text=sentence"
    for bad in ("hf://glue", "hf://datasets/org/x/train.csv"):
        with pytest.raises(ValueError, match="hf://ID"):
            parse_hub_dataset(bad)
    with pytest.raises(ValueError, match="unknown keys \\['splt'\\]"):
        hub_dataset_name({"dataset": "x", "split": "train", "splt": "y"}, "study: train")


def test_a_cached_hub_dataset_loads_offline_renamed_with_its_commit(hub):
    data, fingerprint = load_hub_dataset("hf://org/reviews:train?text=sentence")
    assert data.column_names == ["text", "label"] and data["text"] == [r["text"] for r in LABELLED]
    assert fingerprint == f"hf://org/reviews@{FIRST}:train?text=sentence"  # pinned to the commit read
    assert len(read_table("hf://org/reviews:test")) == 6
    assert text_lines("hf://org/reviews:train?text=sentence", limit=3) == [r["text"] for r in LABELLED[:3]]
    corpus = load_corpus(["hf://org/reviews:train"], text_column="sentence", log=lambda line: None)
    assert corpus.dataset["text"] == [r["text"] for r in LABELLED]


def test_a_missing_dataset_offline_names_it_the_cache_and_offline(hub):
    with pytest.raises(MissingFile) as error:
        load_hub_dataset("hf://org/other:train")
    message = str(error.value)
    assert "hf://org/other:train" in message and str(hub) in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(ValueError, match="hf://org/reviews:validation: .*split"):
        load_hub_dataset("hf://org/reviews:validation")
    with pytest.raises(ValueError, match="no column 'review'"):
        load_hub_dataset("hf://org/reviews:train?text=review")


def test_finetune_records_the_dataset_commit_and_refuses_a_moved_main(hub, tmp_path, tiny_model_dir, capsys):
    run = tmp_path / "ft"
    argv = ["finetune", "--model", str(tiny_model_dir), "--train", "hf://org/reviews:train?text=sentence",
            "--run-dir", str(run), "--max-steps", "1", "--batch-size", "4", "--seeds", "1",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    recorded = json.loads((run / "inputs.json").read_text())["train"]
    assert recorded == f"hf://org/reviews@{FIRST}:train?text=sentence"
    publish(hub, "org/reviews", SECOND, LABELLED[::-1])
    assert main(argv) == 2
    assert "the content of train" in capsys.readouterr().err
    assert json.loads((run / "inputs.json").read_text())["train"] == recorded
    out = tmp_path / "pt"  # a hub dataset as a pre-training corpus, its stage named by dataset and split
    argv = ["pretrain", "--model", str(tiny_model_dir), "--texts", "hf://org/reviews:train", "--text-column",
            "sentence", "--run-dir", str(out), "--max-steps", "1", "--batch-size", "4", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert (out / "reviews-train").is_dir() and SECOND in json.loads((out / "inputs.json").read_text())["texts"]


def test_a_study_takes_hub_datasets_as_tables(hub, tmp_path):
    table = {"dataset": "org/reviews", "split": "train", "text": "sentence"}
    config = StudyConfig.from_dict({"train": table, "dev": {**table, "split": "test"}, "test": table,
                                    "arms": [{"name": "none"}]})  # fmt: skip
    assert config.train == "hf://org/reviews:train?text=sentence" and config.dev.endswith(":test?text=sentence")
    with pytest.raises(MissingFile, match="hf://org/gone:train"):
        StudyConfig.from_dict({"train": "hf://org/gone:train", "dev": "hf://org/gone:train",
                               "test": "hf://org/gone:train", "arms": [{"name": "none"}]})  # fmt: skip
    assert SENTENCES  # the rows above are the shared test sentences
