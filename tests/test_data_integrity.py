"""The data-integrity defects found by fault and bad-input testing, each with the test that catches it:
originals kept byte for byte, one job per output, augmentations that are augmentations, labels that keep
their meaning, settings checked by type, run folders that never claim a run that did not happen."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from transformers import AutoTokenizer

from maskkit.augment import BackTranslate, RandomDelete, augment_dataset
from maskkit.augment.job import run_augment_job
from maskkit.cli.main import main
from maskkit.errors import RunConflict
from maskkit.runs.files import exclusive
from maskkit.runs.tables import read_table
from tests.conftest import LABELLED, ROOT, SENTENCES
from tests.test_tables import PANDAS_SAFE


@pytest.fixture()
def tricky_tsv(tmp_path):
    """A TSV written the usual way (pandas), whose texts hold quotes, backslashes, tabs and newlines."""
    texts = [t for t in PANDAS_SAFE if t.strip()] + SENTENCES
    path = tmp_path / "in.tsv"
    pd.DataFrame({"text": texts, "label": [i % 2 for i in range(len(texts))]}).to_csv(path, sep="\t", index=False)
    return path, texts


def test_augment_keeps_every_original_byte_for_byte(tricky_tsv, tmp_path):
    path, texts = tricky_tsv
    for suffix in (".tsv", ".csv", ".jsonl"):
        out = tmp_path / f"out{suffix}"
        assert main(["augment", str(path), str(out), "--method", "rd", "--n-aug", "1", "--quiet"]) == 0
        table = read_table(out)
        assert [t for t, m in zip(table["text"], table["aug_method"]) if m == "original"] == texts
    written = pd.read_csv(tmp_path / "out.tsv", sep="\t", keep_default_na=False, dtype=str)
    assert list(written[written["aug_method"] == "original"]["text"]) == texts  # as pandas reads it back


def test_the_issue_example_keeps_quotes_and_backslashes(tmp_path):
    source = tmp_path / "q.tsv"
    source.write_text('text\tlabel\nhe said "hi" \\ ok\t1\n')
    assert main(["augment", str(source), str(tmp_path / "o.tsv"), "--method", "rd", "--n-aug", "1", "--quiet"]) == 0
    assert read_table(tmp_path / "o.tsv")["text"][0] == 'he said "hi" \\ ok'


def test_an_unknown_output_format_is_refused_before_any_work(tricky_tsv, tmp_path, capsys):
    path, _ = tricky_tsv
    assert main(["augment", str(path), str(tmp_path / "out.txt"), "--method", "rd", "--quiet"]) == 2
    assert "cannot tell the format of" in capsys.readouterr().err
    assert not (tmp_path / "out.txt.parts").exists()


def test_re_augmenting_an_augmented_file_is_refused(tricky_tsv, tmp_path, capsys):
    path, _ = tricky_tsv
    once = tmp_path / "once.jsonl"
    assert main(["augment", str(path), str(once), "--method", "rd", "--n-aug", "1", "--quiet"]) == 0
    assert main(["augment", str(once), str(tmp_path / "twice.jsonl"), "--method", "rd", "--quiet"]) == 2
    assert "already has provenance columns ['source_row', 'aug_method', 'aug_index']" in capsys.readouterr().err


def test_a_second_job_on_a_busy_output_is_refused(tricky_tsv, tmp_path, capsys):
    path, _ = tricky_tsv
    out = tmp_path / "out.tsv"
    with exclusive(out, "the output"):  # another job holds OUT
        code = main(["augment", str(path), str(out), "--method", "rd", "--overwrite", "--quiet"])
    assert code == 2 and "in use by another maskkit job" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "out.tsv.parts").exists()
    holder = subprocess.Popen(  # a job killed while holding the lock does not leave it stuck
        [sys.executable, "-c", "import sys, time\nfrom maskkit.runs.files import exclusive\n"
         "with exclusive(sys.argv[1], 'the output'):\n    print('held', flush=True)\n    time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert main(["augment", str(path), str(out), "--method", "rd", "--quiet"]) == 2
    holder.kill()
    holder.wait()
    assert main(["augment", str(path), str(out), "--method", "rd", "--quiet"]) == 0


def test_shards_of_another_job_are_never_assembled(tricky_tsv, tmp_path):
    path, texts = tricky_tsv
    options = {"method": "rd"}
    whole = tmp_path / "whole.jsonl"
    run_augment_job(str(path), RandomDelete(0.3), whole, options, shard_size=3, progress=False)
    out = tmp_path / "out.jsonl"
    parts = tmp_path / "out.jsonl.parts"
    killed = subprocess.run([sys.executable, "-m", "tests.fault_worker", "augment_job", "2", str(path), str(out)],
                            cwd=ROOT, check=False)  # fmt: skip
    assert killed.returncode == 137 and len(list(parts.glob("shard-*.jsonl"))) == 2
    # a shard written by another job (same file name, other job id) is redone, not trusted
    foreign = parts / "shard-000001.jsonl"
    lines = foreign.read_text().splitlines()
    foreign.write_text("\n".join([json.dumps({"job": "another", "start": 3}), *lines[1:]]) + "\n")
    summary = run_augment_job(str(path), RandomDelete(0.3), out, options, shard_size=3, progress=False)
    assert summary.shards_resumed == 1 and out.read_bytes() == whole.read_bytes()
    # a shard beyond this job's count is refused at assembly
    run_augment_job(str(path), RandomDelete(0.3), tmp_path / "x.jsonl", options, shard_size=3, progress=False)
    stray = tmp_path / "y.jsonl.parts"
    stray.mkdir()
    (stray / "manifest.json").write_text("{}")
    (stray / "shard-000000.jsonl").write_text(json.dumps({"job": "another", "start": 0}) + "\n")
    with pytest.raises(RunConflict):  # a folder of another job (other manifest, work done) is not merged
        run_augment_job(str(path), RandomDelete(0.3), tmp_path / "y.jsonl", options, shard_size=3, progress=False)
    (stray / "shard-000000.jsonl").unlink()  # a job that stopped before its first shard left nothing to keep
    run_augment_job(str(path), RandomDelete(0.3), tmp_path / "y.jsonl", options, shard_size=3, progress=False)
    assert (tmp_path / "y.jsonl").read_bytes() == whole.read_bytes()
    assert len(texts) > 6


@dataclass(frozen=True)
class EchoFirst:
    """An augmenter that returns its input for k = 0 and a change for k = 1 twice (k = 1, 2)."""

    name: str = "echo"

    def __call__(self, texts, keys=None, k=0):
        return [t if k == 0 else t + " (changed)" for t in texts]


def test_identical_augmentations_are_dropped_and_counted(tmp_path, capsys):
    from datasets import Dataset

    data = Dataset.from_dict({"text": ["one text", "another text"], "label": [0, 1]})
    out = augment_dataset(data, EchoFirst(), n_aug=3)
    assert out["text"] == ["one text", "one text (changed)", "another text", "another text (changed)"]
    summary = run_augment_job(data, EchoFirst(), tmp_path / "o.jsonl", {}, n_aug=3, progress=False)
    assert (summary.augmented, summary.duplicates, summary.rows_out) == (2, 4, 4)


class FakeTranslator:
    """Deterministic: tags the text with its pivot, and maps it back."""

    deterministic = True

    def translate(self, texts, src, tgt):
        return [f"{t} [{tgt}]" if src == "en" else t.replace(" [", " via ").rstrip("]") for t in texts]


def test_a_deterministic_translator_gives_one_paraphrase_per_pivot(tmp_path):
    from datasets import Dataset

    one = BackTranslate(FakeTranslator(), pivot="es", length_ratio=None)
    assert one.distinct_augmentations() == 1
    data = Dataset.from_dict({"text": ["a film.", "a movie."]})
    with pytest.raises(ValueError, match="one paraphrase per pivot language, so n_aug 4 can give at most 1"):
        run_augment_job(data, one, tmp_path / "o.jsonl", {}, n_aug=4, progress=False)
    with pytest.warns(UserWarning, match="at most 1"):
        augment_dataset(data, one, n_aug=2)
    several = BackTranslate(FakeTranslator(), pivot=("es", "eo", "gl"), length_ratio=None)
    out = augment_dataset(data, several, n_aug=3)
    assert [t for t in out["text"] if "via" in t][:3] == ["a film. via es", "a film. via eo", "a film. via gl"]


def test_progress_lines_when_stderr_is_not_a_terminal(tricky_tsv, tmp_path, capsys, monkeypatch):
    path, _ = tricky_tsv
    monkeypatch.setenv("MASKKIT_PROGRESS_SECONDS", "0")
    assert main(["augment", str(path), str(tmp_path / "o.tsv"), "--method", "rd", "--shard-size", "4"]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("augmenting (RandomDelete):")]
    assert len(lines) >= 3 and lines[0].startswith("augmenting (RandomDelete): 1/") and lines[-1].endswith("done")


def test_preview_shows_unknown_tokens(tiny_model_dir, capsys):
    assert main(["preview", "--model", tiny_model_dir, "--text", "the movie ☃ was good", "--scheme", "token",
                 "--color", "never"]) == 0  # fmt: skip
    assert "[UNK]" in capsys.readouterr().out


# ---- labels that keep their meaning


def test_equal_numeric_labels_are_one_class(tiny_model_dir, capsys):
    from maskkit.training.classify import FinetuneConfig
    from maskkit.training.data import prepare_classification

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    labels = ["1", "1.0", "0", "0.0", "1 ", " 0", "1", "0.0"]
    rows = [{"text": s, "label": label} for s, label in zip(SENTENCES, labels)]
    encoded, names = prepare_classification({"train": rows}, tokenizer, FinetuneConfig("unused"))
    assert names == ["0", "1"] and encoded["train"]["label"] == [1, 1, 0, 0, 1, 0, 1, 0]
    numbers = [{"text": s, "label": label} for s, label in zip(SENTENCES, [1, 1.0, 0, 0.0])]  # JSON numbers
    assert prepare_classification({"train": numbers}, tokenizer, FinetuneConfig("unused"))[1] == ["0", "1"]
    assert "trimmed whitespace around 2 'label' labels (first: row 4, '1 ')" in capsys.readouterr().out
    for labels, message in ((["nan", "1"], "blank or NaN"), ([float("nan"), 1.0], "blank or NaN"),
                            (["  ", "1"], "blank or NaN"), ([0.5, 1.0], "row 0 is 0.5")):  # fmt: skip
        broken = [{"text": "a", "label": labels[0]}, {"text": "b", "label": labels[1]}]
        with pytest.raises(ValueError, match=message):
            prepare_classification({"train": broken}, tokenizer, FinetuneConfig("unused"))


def test_a_teacher_with_other_label_names_is_refused(tiny_model_dir, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    from maskkit.distill.trainer import DistillConfig, with_teacher_soft_labels
    from maskkit.training.classify import FinetuneConfig

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, id2label={0: "no", 1: "yes"}, label2id={"no": 0, "yes": 1})  # fmt: skip
    teacher = BertForSequenceClassification(config)
    with pytest.raises(
        ValueError, match=r"the teacher's labels \['no', 'yes'\] differ from the student's \['0', '1'\]"
    ):
        with_teacher_soft_labels(
            teacher, LABELLED, tokenizer, FinetuneConfig("unused", progress=False), DistillConfig()
        )


# ---- settings checked by type; run folders that never claim a run that did not happen


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('seeds = "12"', "key 'seeds' must be a list of integers, got '12' \\(str\\)"),
        ('lr = "fast"', "key 'lr' must be a number, got 'fast'"),
        ("batch_size = 2.5", "key 'batch_size' must be an integer"),
        ("freeze_base = 1", "key 'freeze_base' must be true or false"),
        ("head_hidden = [64, 'x']", "key 'head_hidden' must be a list of integers"),
    ],
)
def test_config_values_are_checked_by_type(tmp_path, capsys, line, message):
    config = tmp_path / "run.toml"
    config.write_text(line + "\n")
    assert main(["finetune", "--config", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    assert pytest.importorskip("re").search(message, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_any_integer_is_a_seed(wordpiece):
    from maskkit import MaskingCollator, TokenSelector
    from maskkit.augment import EDA
    from tests.conftest import features

    batch = features(wordpiece, SENTENCES)
    ours = MaskingCollator(wordpiece, TokenSelector(rate=0.3), seed=np.int64(3), return_tensors="np")(batch)
    plain = MaskingCollator(wordpiece, TokenSelector(rate=0.3), seed=3, return_tensors="np")(batch)
    assert (ours["labels"] == plain["labels"]).all()
    assert EDA(seed=np.int64(3), synonyms=None).seed == 3
    with pytest.raises(ValueError, match="seed must be an integer"):
        MaskingCollator(wordpiece, seed=3.0)


def test_a_finished_run_with_other_settings_is_refused_not_relabelled(tiny_model_dir, tmp_path, capsys):
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\n" + "".join(f"{r['text']}\t{r['label']}\n" for r in LABELLED))
    run = tmp_path / "run"
    argv = ["finetune", "--model", tiny_model_dir, "--train", str(train), "--run-dir", str(run), "--max-steps", "1",
            "--batch-size", "4", "--no-progress", "--seeds", "1"]  # fmt: skip
    assert main(argv) == 0
    written = (run / "config.toml").read_text()
    capsys.readouterr()
    assert main([*argv, "--lr", "0.001", "--pooling", "mean"]) == 2
    err = capsys.readouterr().err
    assert "holds a run with other settings" in err and "lr: (default) -> 0.001" in err and "--rerun" in err
    assert (run / "config.toml").read_text() == written  # the folder still says what was run
    assert main([*argv, "--seeds", "1", "2"]) == 0  # another seed with the same settings is not a change
    assert main([*argv, "--lr", "0.001", "--rerun"]) == 0
    assert "lr = 0.001" in (run / "config.toml").read_text()
    metrics = json.loads((run / "seed-1" / "metrics.json").read_text())
    assert metrics["steps"] == 1 and not (run / "seed-2").exists()
