"""Hub model ids wherever a model is named: resolved through the Hugging Face cache as transformers does
(HF_HUB_CACHE, HF_HUB_OFFLINE), the resolved commit recorded. Offline: a hub-layout cache built here."""

from __future__ import annotations

import json
import shutil

import pytest

from maskkit.cli.main import main
from maskkit.errors import MissingFile
from maskkit.runs.hub import is_hub_id, snapshot_of
from maskkit.runs.models import resolve_model_dir
from tests.test_cli_train import tables  # noqa: F401 (a fixture)

FIRST, SECOND = "1" * 40, "2" * 40


def publish(cache, model_dir, repo, commit):
    """Puts `model_dir` into a hub-layout cache as `repo` at `commit`, which `main` then points to."""
    root = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(model_dir, root / "snapshots" / commit, dirs_exist_ok=True)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    return root / "snapshots" / commit


@pytest.fixture
def hub(tmp_path, tiny_model_dir, monkeypatch):
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path)  # no local folder shadows the ids
    publish(cache, tiny_model_dir, "org/tiny-bert", FIRST)
    return cache


def test_a_hub_id_resolves_to_its_cached_snapshot_and_a_local_folder_wins(hub, tmp_path, tiny_model_dir):
    folder = resolve_model_dir("org/tiny-bert")
    assert folder == str(hub / "models--org--tiny-bert" / "snapshots" / FIRST)
    assert snapshot_of(folder).fingerprint == f"hub:org/tiny-bert@{FIRST}"
    assert resolve_model_dir(f"org/tiny-bert@{FIRST}") == folder  # a pinned revision
    publish(hub, tiny_model_dir, "tiny-bert", FIRST)  # an id without an owner (bert-base-uncased)
    assert resolve_model_dir("tiny-bert").endswith(f"models--tiny-bert/snapshots/{FIRST}")
    shutil.copytree(tiny_model_dir, tmp_path / "tiny-bert")
    assert resolve_model_dir("tiny-bert") == str(tmp_path / "tiny-bert")  # as in transformers
    assert not is_hub_id("no/such/folder") and not is_hub_id("../x") and is_hub_id("roberta-base")


def test_an_id_missing_from_the_cache_offline_says_id_cache_and_offline(hub):
    with pytest.raises(MissingFile) as error:
        resolve_model_dir("org/other-model")
    message = str(error.value)
    assert "'org/other-model'" in message and str(hub) in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(MissingFile, match="not a hub id"):
        resolve_model_dir("no/such/folder")


def test_finetune_and_pretrain_take_a_hub_id_and_record_its_commit(hub, tmp_path, tiny_model_dir, tables, capsys):  # noqa: F811
    train, texts = tables
    run = tmp_path / "ft"
    argv = ["finetune", "--model", "org/tiny-bert", "--train", str(train), "--run-dir", str(run),
            "--max-steps", "1", "--batch-size", "4", "--seeds", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((run / "inputs.json").read_text())["model"] == f"hub:org/tiny-bert@{FIRST}"
    assert FIRST in json.loads((run / "seed-1" / "metrics.json").read_text())["start"]
    # the hub's main moves to a new commit: the same command is another run, refused, naming the model
    publish(hub, tiny_model_dir, "org/tiny-bert", SECOND)
    assert main(argv) == 2
    assert "the content of model ('org/tiny-bert')" in capsys.readouterr().err
    out = tmp_path / "pt"
    assert main(["pretrain", "--model", f"org/tiny-bert@{FIRST}", "--texts", str(texts), "--run-dir", str(out),
                 "--max-steps", "1", "--batch-size", "4", "--no-progress"]) == 0  # fmt: skip
    assert json.loads((out / "inputs.json").read_text())["model"] == f"hub:org/tiny-bert@{FIRST}"


def test_a_study_on_a_hub_id_records_its_commit_and_a_new_commit_reruns_what_reads_the_model(
    hub, tmp_path, tiny_model_dir, capsys
):
    import re

    from tests.test_study import ARMS, study_file

    path = study_file(tmp_path, "org/tiny-bert", [ARMS[0]])
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    manifest = json.loads((tmp_path / "study" / "finetune" / "none" / "seed-1" / "manifest.json").read_text())
    assert (
        manifest["settings"]["model"] == "org/tiny-bert" and manifest["inputs"]["model"] == f"hub:org/tiny-bert@{FIRST}"
    )
    capsys.readouterr()
    publish(hub, tiny_model_dir, "org/tiny-bert", SECOND)
    assert main(["study", "plan", str(path)]) == 0
    total, done = map(int, re.search(r"(\d+) stages in all, (\d+) done", capsys.readouterr().out).groups())
    assert done == total - 2  # the two fine-tuning runs read the model; the seeds' samples do not
