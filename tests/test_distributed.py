"""Data-parallel runs: `maskkit pretrain` and `maskkit finetune` under torchrun with two CPU processes
(gloo) end with the same weights as one process with the same global batch. Plain SGD, because Adam
divides each gradient by its own size and so magnifies summation-order noise in gradients that are
mathematically zero (e.g. along the softmax's shift invariance in attention keys) to a full step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import LABELLED, SENTENCES, assert_same_weights, model_folder, torchrun, weights

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def no_dropout_model(tmp_path_factory, wordpiece):
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    config = BertConfig(
        vocab_size=len(wordpiece), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=128, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(folder)
    wordpiece.save_pretrained(folder)
    return str(folder)


def launch(processes: int, argv: list[str]) -> None:
    torchrun(processes, ["-m", "maskkit.cli.main", *argv])


def test_finetune_on_two_processes_equals_one(no_dropout_model, tmp_path):
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\n" + "".join(f"{r['text']}\t{r['label']}\n" for r in LABELLED))
    common = ["finetune", "--model", no_dropout_model, "--train", str(train), "--max-steps", "3", "--lr", "0.5",
              "--optim", "sgd", "--warmup-ratio", "0", "--no-progress", "--seeds", "7"]  # fmt: skip
    launch(1, [*common, "--batch-size", "8", "--run-dir", str(tmp_path / "one")])
    launch(2, [*common, "--batch-size", "4", "--run-dir", str(tmp_path / "two")])
    assert_same_weights(tmp_path / "one" / "seed-7", tmp_path / "two" / "seed-7", no_dropout_model)
    changed = weights(tmp_path / "one" / "seed-7")["classifier.weight"]
    assert changed.abs().sum() > 0


@pytest.mark.parametrize(
    "corpus",
    [["--packing", "document"], ["--streaming", "--max-length", "16"]],
    ids=["memory-mapped-line-by-line", "streamed-packed"],
)
def test_pretrain_on_two_processes_equals_one(no_dropout_model, tmp_path, corpus):
    """Memory-mapped examples are shared out by Trainer's sampler; a stream's batches by accelerate, each
    process reading its own (`dispatch_batches` off). Either way 2 x 4 examples per step = 1 x 8."""
    texts = tmp_path / "domain.txt"
    texts.write_text("\n".join(SENTENCES * 6) + "\n")
    common = [
        "pretrain",
        "--model",
        no_dropout_model,
        "--texts",
        str(texts),
        "--max-steps",
        "3",
        "--lr",
        "0.5",
        "--optim",
        "sgd",
        "--warmup-ratio",
        "0",
        "--scheme",
        "span",
        "--rate",
        "0.3",
        "--span-boundary-objective",
        "--no-progress",
        *corpus,
    ]  # fmt: skip (SpanBERT's objective under DDP too)
    launch(1, [*common, "--batch-size", "8", "--run-dir", str(tmp_path / "one")])
    launch(2, [*common, "--batch-size", "4", "--run-dir", str(tmp_path / "two")])
    assert_same_weights(tmp_path / "one" / "domain", tmp_path / "two" / "domain", no_dropout_model)


IN_DOMAIN_WORKER = """
import json, sys
from transformers import AutoModelForTokenClassification, AutoTokenizer
from accelerate import PartialState
from maskkit.selective.in_domain import score_in_domain
folder, out, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForTokenClassification.from_pretrained(folder)
result = score_in_domain(model, tokenizer, texts, out, max_length=32, shard_size=3, progress=False)
if PartialState().is_main_process:
    with open(out + "/scores.json", "w") as f:
        json.dump({"processes": PartialState().num_processes, "importance": list(result.dataset["importance"])}, f)
"""


def test_in_domain_scoring_over_two_processes_equals_one(no_dropout_model, tmp_path):
    import json

    from transformers import AutoModelForTokenClassification

    folder = model_folder(AutoModelForTokenClassification, no_dropout_model, tmp_path / "classifier", num_labels=2)
    script = tmp_path / "worker.py"
    script.write_text(IN_DOMAIN_WORKER)
    texts = json.dumps([*SENTENCES, *SENTENCES[:3]])
    results = {}
    for processes in (1, 2):
        out = tmp_path / f"out{processes}"
        torchrun(processes, [str(script), str(folder), str(out), texts], timeout=300)
        results[processes] = json.loads((out / "scores.json").read_text())
        assert len(list((out / "shards").iterdir())) == 4  # 11 texts in shards of 3
    assert results[2]["processes"] == 2 and len(results[2]["importance"]) == 11
    for a, b in zip(results[1]["importance"], results[2]["importance"]):
        assert np.allclose(a, b, atol=1e-6)
