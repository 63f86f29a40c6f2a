"""Step cost of SpanBERT's span boundary objective: MiniLM-L6 training steps (forward, backward, AdamW) with
span masking and the sparse MLM head, alone and with the SBO head, alternating ABAB in one process so that
machine drift hits both alike. Not collected by pytest.

    .venv/bin/python benchmarks/bench_sbo.py [--steps 8] [--repeats 3] [--batch 32] [--length 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_file, machine, timed_steps


def batches(tokenizer, count: int, batch: int, length: int, boundaries: bool) -> list[dict]:
    import maskkit

    path = data_file("movie_reviews_unlabeled", "sentences.txt")
    with path.open(encoding="utf-8") as f:
        texts = [line.strip() for _, line in zip(range(batch * count * 4), f) if line.strip()]
    joined = [" ".join(texts[i : i + 4]) for i in range(0, len(texts), 4)]  # rows near the target length
    enc = tokenizer(joined, truncation=True, max_length=length)
    collator = maskkit.MaskingCollator(tokenizer, maskkit.SpanSelector(), seed=0, span_boundaries=boundaries)
    rows = [{"input_ids": ids} for ids in enc["input_ids"]]
    return [collator(rows[i * batch : (i + 1) * batch]) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch
    from transformers import AutoTokenizer

    from maskkit.runs.models import load_masked_lm, resolve_model_dir
    from maskkit.training.span_boundary import attach_span_boundary_head

    torch.set_num_threads(args.threads)
    folder = resolve_model_dir(None)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    setups = {}
    for name, boundaries in (("mlm", False), ("mlm+sbo", True)):
        torch.manual_seed(0)
        model, _ = load_masked_lm(folder)
        if boundaries:
            attach_span_boundary_head(model)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        setups[name] = (model, optimizer, batches(tokenizer, args.steps, args.batch, args.length, boundaries))
    best = {name: float("inf") for name in setups}
    for _ in range(args.repeats):
        for name, (model, optimizer, data) in setups.items():
            best[name] = min(best[name], timed_steps(model, optimizer, data) / len(data))
    for name, seconds in best.items():
        print(json.dumps({"name": name, "ms_per_step": round(1000 * seconds, 1), "batch": args.batch,
                          "length": args.length, "threads": args.threads}))  # fmt: skip
    print(f"\nSBO step cost: {best['mlm+sbo'] / best['mlm']:.2f}x MLM alone ({machine(args.threads)})")


if __name__ == "__main__":
    main()
