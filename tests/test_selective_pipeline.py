"""The selective-masking pipeline end to end on a tiny model: every stage, skipping on rerun, resuming
after a simulated kill, and its config checks."""

from __future__ import annotations

import json

import pytest
from datasets import load_from_disk

from maskkit.cli.main import main
from maskkit.selective.config import SelectiveConfig
from maskkit.text.sentences import split_sentences
from tests.conftest import LABELLED, SENTENCES, model_folder


@pytest.fixture
def files(tmp_path):
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\n" + "".join(f"{r['text']}\t{r['label']}\n" for r in LABELLED))
    domain = tmp_path / "domain.txt"
    domain.write_text("\n".join([*SENTENCES, "", *SENTENCES]) + "\n")
    return train, domain


@pytest.mark.slow
def test_pipeline_runs_skips_and_resumes(tiny_model_dir, tmp_path, files, capsys):
    train, domain = files
    config = tmp_path / "run.toml"
    config.write_text(
        f'model = "{tiny_model_dir}"\ntrain = "{train}"\ndev = "{train}"\ntest = "{train}"\n'
        f'in_domain = "{domain}"\nrun_dir = "{tmp_path / "run"}"\nseeds = [1, 2]\npretrain_steps = 2\n'
        "head_warmup_steps = 1\nbatch_size = 8\ntask_epochs = 1\nclassifier_epochs = 1\nfinetune_epochs = 1\n"
        "max_length = 32\npack_length = 48\nprogress = true\n"
    )
    assert main(["selective", "run", "--config", str(config), "--method", "prob_drop"]) == 0
    out, err = capsys.readouterr()
    assert "| " in out and "selective" in out and "random" in out and "none" in out
    # what a user sees (as in `make demo`): no raw Trainer dict, every evaluation line names its split once
    assert not [line for line in (out + err).splitlines() if line.lstrip().startswith("{'")]
    evaluations = [line for line in err.splitlines() if ", step " in line]
    named = ("dev during training", "dev, the checkpoint", "test, the checkpoint", "heldout, the checkpoint")
    assert evaluations and all(line.startswith(named)
                               for line in evaluations)  # fmt: skip
    assert len(evaluations) == len(set(evaluations)), evaluations
    assert "- selective vs none: " in out and "paired over 2 seeds" in out and "can be told reliably" in out
    run = tmp_path / "run"
    for stage in ("task_model", "scoring", "importance_classifier", "in_domain", "pretrain_selective",
                  "pretrain_random", "finetune"):  # fmt: skip
        manifest = json.loads((run / stage / "manifest.json").read_text())
        assert manifest["stage"] == stage and manifest["versions"]["maskkit"]
    scoring = json.loads((run / "scoring" / "results.json").read_text())
    # the official recipe (the default with your own data): documents split into sentences, misclassified
    # sentences kept for the classifier with every token unimportant
    sentences = sum(len(split_sentences(r["text"])) for r in LABELLED)
    assert scoring["documents"] == len(LABELLED) and scoring["sentences"] == sentences > len(LABELLED)
    assert scoring["kept"] + scoring["misclassified"] + scoring["empty"] == sentences
    assert scoring["classifier_rows"] == sentences - scoring["empty"]
    assert (
        "recipe official (maskkit.selective.official.v1), profile paper" in out
        and "you override max_length: 128 (profile paper) -> 32" in out
    )
    in_domain = json.loads((run / "in_domain" / "results.json").read_text())
    assert in_domain["empty_skipped"] == 1
    packed = load_from_disk(str(run / "in_domain" / "dataset"))
    assert len(packed) == in_domain["rows"] <= 2 * len(SENTENCES)  # one document per line, sentences packed
    for row in packed:
        assert len(row["input_ids"]) <= 48 and len(row["selected"]) == len(row["input_ids"])
        assert sum(row["selected"]) == sum(row["random_selected"])  # the control masks as many tokens
    assert (run / "finetune" / "report.png").stat().st_size > 1000

    # a rerun skips every stage; a changed setting reruns its stage and everything downstream
    assert main(["selective", "run", "--config", str(config), "--method", "prob_drop"]) == 0
    assert capsys.readouterr().out.count("finished earlier, skipped") == 7
    (run / "finetune" / "manifest.json").unlink()  # as if killed during fine-tuning
    (run / "finetune" / "selective" / "seed-2" / "metrics.json").unlink()
    kept = run / "finetune" / "none" / "seed-1" / "metrics.json"
    before = kept.stat().st_mtime_ns
    assert main(["selective", "run", "--config", str(config), "--method", "prob_drop"]) == 0
    assert capsys.readouterr().out.count("finished earlier, skipped") == 6
    assert kept.stat().st_mtime_ns == before  # finished seeds are reused on resume
    assert (run / "finetune" / "selective" / "seed-2" / "metrics.json").is_file()

    # a changed setting reruns its stage and everything downstream, from scratch
    assert main(["selective", "run", "--config", str(config), "--method", "prob_drop", "--rate", "0.3"]) == 0
    out = capsys.readouterr().out
    # (the official selection is made per sentence in the in-domain stage, so the rate reruns it)
    assert out.count("finished earlier, skipped") == 3 and "[in_domain] running" in out
    assert kept.stat().st_mtime_ns != before


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"learning_rate": 1}, "unknown config keys"),
        ({"train": "no/such.tsv"}, "train path 'no/such.tsv' does not exist"),
        ({"method": "gradient"}, "method must be one of"),
        ({"seeds": []}, "at least one seed"),
        ({"train": __file__}, "give in_domain"),
    ],
)
def test_bad_configs_are_refused(values, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        SelectiveConfig.from_dict(values)


def test_preview_shows_importance_scores(tiny_model_dir, tmp_path, capsys):
    from transformers import AutoModelForTokenClassification

    folder = model_folder(AutoModelForTokenClassification, tiny_model_dir, tmp_path / "classifier", num_labels=2)
    assert main(["preview", "--text", "the movie was great", "--importance", str(folder), "--color", "never"]) == 0
    out = capsys.readouterr().out
    line = out.splitlines()[0]  # the scores first, then every scheme's masks (selective by these scores among them)
    assert "== scored: ScoredSelector" in out
    cells = line.split()
    assert [c.split("[")[0] for c in cells] == ["the", "movie", "was", "great"]
    assert all(0 <= float(c.split("[")[1].rstrip("]")) <= 1 for c in cells)


def test_every_setting_a_stage_reads_is_in_its_manifest(tmp_path):
    """The first seed seeds the task model, the scoring sample, the classifier and pre-training; the text
    and label columns choose the data: changing any of them must rerun those stages, never reuse them."""
    from maskkit.selective.config import SelectiveConfig
    from maskkit.selective.pipeline import Pipeline

    def digests(**changes):
        run = Pipeline(SelectiveConfig(run_dir=str(tmp_path / "run"), **changes), log=lambda _: None)
        return {stage: run.manifest(stage)["digest"] for stage in ("task_model", "scoring", "importance_classifier",
                                                                   "pretrain_selective")}  # fmt: skip

    base = digests()
    assert digests(seeds=(1, 7)) == base  # a later seed is only fine-tuning's
    for changes in ({"seeds": (3, 2)}, {"label_column": "polarity"}, {"text_column": "sentence"}):
        changed = digests(**changes)
        assert changed["task_model"] != base["task_model"], changes
    assert digests(seeds=(3, 2))["pretrain_selective"] != base["pretrain_selective"]
    assert digests(batch_size=8)["importance_classifier"] != base["importance_classifier"]
    assert digests(pack_length=64)["pretrain_selective"] != base["pretrain_selective"]  # pre-training's length


@pytest.mark.slow
def test_aspect_pairs_run_end_to_end(tiny_model_dir, tmp_path):
    """Aspect-level sentiment as the official ASC code: (aspect, text) pairs train the task model and are
    scored with the aspect held fixed; the classifier learns one row per distinct text."""
    texts = [r["text"] for r in LABELLED[: len(SENTENCES)]]
    rows = [(t, a, (i + k) % 2) for i, t in enumerate(texts) for k, a in enumerate(("food", "service"))]
    train = tmp_path / "absa.tsv"
    train.write_text("text\taspect\tlabel\n" + "".join(f"{t}\t{a}\t{y}\n" for t, a, y in rows))
    domain = tmp_path / "domain.txt"
    domain.write_text("\n".join(SENTENCES) + "\n")
    config = tmp_path / "run.toml"
    config.write_text(
        f'model = "{tiny_model_dir}"\ntrain = "{train}"\nin_domain = "{domain}"\nrun_dir = "{tmp_path / "run"}"\n'
        'aspect_column = "aspect"\nsentences = false\nseeds = [1]\npretrain_steps = 1\nhead_warmup_steps = 0\n'
        "batch_size = 8\ntask_epochs = 1\nclassifier_epochs = 1\nfinetune_epochs = 1\nmax_length = 32\n"
        "pack_length = 48\nprogress = false\n"
    )
    assert main(["selective", "run", "--config", str(config), "--method", "prob_drop"]) == 0
    scoring = json.loads((tmp_path / "run" / "scoring" / "results.json").read_text())
    assert scoring["sentences"] == len(rows) and scoring["classifier_rows"] == len(set(texts))
    with pytest.raises(ValueError, match="set sentences = false"):
        SelectiveConfig(train=str(train), in_domain=str(domain), aspect_column="aspect")
