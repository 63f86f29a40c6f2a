"""`maskkit pretrain | finetune | distill | report`: two-step runs from TOML configs with flags overriding."""

from __future__ import annotations

import json

import pytest

from maskkit.cli.config import load_toml
from maskkit.cli.main import main
from tests.conftest import LABELLED, SENTENCES


@pytest.fixture
def tables(tmp_path):
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\n" + "".join(f"{r['text']}\t{'pos' if r['label'] else 'neg'}\n" for r in LABELLED))
    texts = tmp_path / "domain.txt"
    texts.write_text("\n".join(SENTENCES) + "\n\n")
    return train, texts


def test_finetune_two_seeds_then_report(tiny_model_dir, tmp_path, tables, capsys):
    train, _ = tables
    config = tmp_path / "run.toml"
    config.write_text(f'model = "{tiny_model_dir}"\nmax_steps = 5\nbatch_size = 4\nseeds = [1, 2]\npooling = "mean"\n')
    run = tmp_path / "ft"
    argv = ["finetune", "--config", str(config), "--train", str(train), "--dev", str(train), "--run-dir", str(run)]
    assert main([*argv, "--max-steps", "2", "--no-progress"]) == 0
    for seed in (1, 2):
        metrics = json.loads((run / f"seed-{seed}" / "metrics.json").read_text())
        assert metrics["steps"] == 2 and metrics["label_names"] == ["neg", "pos"]
    written = (run / "config.toml").read_text()
    assert "max_steps = 2" in written and 'pooling = "mean"' in written
    assert main([*argv, "--max-steps", "2", "--no-progress"]) == 0  # finished seeds are skipped
    assert "finished earlier" in capsys.readouterr().out
    plot = tmp_path / "report.png"
    assert main(["report", str(run), "--plot", str(plot), "--out", str(tmp_path / "report.md")]) == 0
    out = capsys.readouterr().out
    assert "| 2 |" in out and "±" in out and plot.stat().st_size > 1000

    teacher = run / "seed-1"
    distilled = tmp_path / "kd"
    assert main(["distill", "--model", tiny_model_dir, "--teacher", str(teacher), "--train", str(train),
                 "--run-dir", str(distilled), "--max-steps", "2", "--batch-size", "4", "--alpha", "0.7",
                 "--no-progress"]) == 0  # fmt: skip
    assert json.loads((distilled / "seed-42" / "metrics.json").read_text())["steps"] == 2


def test_pretrain_stages_from_text_files(tiny_model_dir, tmp_path, tables, capsys):
    _, texts = tables
    run = tmp_path / "pt"
    code = main(["pretrain", "--model", tiny_model_dir, "--texts", str(texts), "--eval-texts", str(texts),
                 "--run-dir", str(run), "--max-steps", "2", "--batch-size", "4", "--scheme", "span", "--rate", "0.3",
                 "--per", "token", "--no-progress"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "skipped 1 empty lines" in out and "stage domain: 2 steps, held-out loss" in out
    assert (run / "domain" / "model.safetensors").is_file()
    # the config a run writes holds the masking as component specs, reads back and names the same run
    written = load_toml(str(run / "config.toml"))
    assert written["seed"] == 42 and "scheme" not in written and "rate" not in written
    assert written["selector"]["@component"] == "maskkit.span.v1" and written["selector"]["rate"] == 0.3
    assert written["corruption"] == {"@component": "maskkit.mask_random_keep.v1", "mask": 0.8, "random": 0.1,
                                     "keep": 0.1, "per": "token", "random_weights": None}  # fmt: skip
    manifest = json.loads((run / "domain" / "started.json").read_text())["settings"]
    assert manifest["selector"] == written["selector"]  # the stage's record loads back too, not a repr
    assert main(["pretrain", "--config", str(run / "config.toml"), "--no-progress"]) == 0
    assert "2 steps" in capsys.readouterr().out  # the finished stage, reported again
    # another rate on the same folder is another run: refused, naming the setting
    assert main(["pretrain", "--config", str(run / "config.toml"), "--rate", "0.5", "--no-progress"]) == 2
    assert "other settings (selector.rate: 0.3 -> 0.5)" in capsys.readouterr().err


def test_pretrain_reads_globbed_table_corpora_packed_and_streamed(tiny_model_dir, tmp_path, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for part in range(2):
        rows = [{"body": f"{text} part {part}"} for text in SENTENCES] + [{"body": ""}]
        (folder / f"part-{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = ["pretrain", "--model", tiny_model_dir, "--texts", str(folder / "*.jsonl"), "--text-column", "body",
            "--max-steps", "2", "--batch-size", "4", "--max-length", "16", "--no-progress"]  # fmt: skip
    assert main([*base, "--run-dir", str(tmp_path / "mapped"), "--num-proc", "2"]) == 0
    out = capsys.readouterr().out
    assert "corpus: 16 documents from 2 files" in out and "skipped 2 empty rows (first: " in out
    assert "blocks of at most 16 tokens (full packing)" in out and "stage corpus: 2 steps" in out
    assert main([*base, "--run-dir", str(tmp_path / "streamed"), "--streaming", "--packing", "document"]) == 0
    assert "stage corpus, the rows training read:\n  corpus: " in capsys.readouterr().out
    assert (tmp_path / "streamed" / "corpus" / "model.safetensors").is_file()
    written = load_toml(str(tmp_path / "streamed" / "config.toml"))
    assert (written["streaming"], written["packing"], written["text_column"]) == (True, "document", "body")


def test_pretrain_scheme_options_are_keys_of_the_config_file(tiny_model_dir, tmp_path, tables):
    _, texts = tables
    config = tmp_path / "run.toml"
    config.write_text(f'model = "{tiny_model_dir}"\ntexts = ["{texts}"]\nrun_dir = "{tmp_path / "pt"}"\n'
                      'max_steps = 1\nbatch_size = 4\nprogress = false\nscheme = "token"\nrate = 0.25\n'
                      'mask = 0.5\nrandom = 0.25\nkeep = 0.25\n')  # fmt: skip
    assert main(["pretrain", "--config", str(config)]) == 0
    written = load_toml(str(tmp_path / "pt" / "config.toml"))
    assert written["selector"] == {"@component": "maskkit.token.v1", "rate": 0.25, "budget": "exact",
                                   "max_predictions": None}  # fmt: skip
    assert (written["corruption"]["mask"], written["corruption"]["random"]) == (0.5, 0.25)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["finetune", "--model", "no/such/folder"], "does not exist .* and it is not a hub id"),
        (["finetune", "--config", "CONFIG"], "unknown config keys \\['learning_rate'\\]"),
        (["distill", "--model", "MODEL"], "give --teacher FOLDER"),
        (["finetune", "--model", "MODEL", "--pooling", "max"], "pooling must be"),
    ],
)
def test_bad_settings_fail_before_training(tiny_model_dir, tmp_path, argv, message, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("learning_rate = 0.1\n")
    argv = [str(config) if a == "CONFIG" else tiny_model_dir if a == "MODEL" else a for a in argv]
    assert main([*argv, "--run-dir", str(tmp_path / "run")]) == 2
    assert __import__("re").search(message, capsys.readouterr().err)


def test_bf16_and_fp16_spell_precision_and_a_cpu_refuses_them_clearly(tiny_model_dir, tmp_path, tables, capsys):
    from maskkit.cli.main import build_parser

    assert build_parser().parse_args(["finetune", "--bf16"]).precision == "bf16"
    assert build_parser().parse_args(["pretrain", "--fp16"]).precision == "fp16"
    train, _ = tables
    argv = ["finetune", "--model", str(tiny_model_dir), "--train", str(train), "--run-dir", str(tmp_path / "ft"),
            "--max-steps", "1", "--seeds", "1", "--bf16", "--no-progress"]  # fmt: skip
    import torch

    if not torch.cuda.is_available():
        assert main(argv) == 2
        assert "precision bf16 needs a CUDA GPU" in capsys.readouterr().err
