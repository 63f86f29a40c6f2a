"""MLM training on a GPU: steps and tokens per second in fp32, bf16 and fp16, at batch 64 x 128 and 32 x 512,
the dense vocabulary head against maskkit's sparse one; the share of step time spent waiting for data with
the collator in `--workers` DataLoader workers; peak GPU memory. Without CUDA it runs on the CPU in fp32
only (bf16/fp16 rows are skipped and say so), so the test suite can exercise it at a tiny size.

Each configuration trains `--steps` timed steps after `--warmup` untimed ones, on packed blocks of real
movie-review text (../shared/data, or --texts), masked by `MaskingCollator(WholeWordSelector())` in the
DataLoader's workers, as `maskkit pretrain` feeds Trainer. Data wait = time blocked in the loader's
`next()` / step time. Not collected by pytest.

    .venv/bin/python benchmarks/bench_gpu.py [--shapes 64x128 32x512] [--precisions fp32 bf16 fp16]
        [--heads dense sparse] [--steps 30] [--warmup 5] [--workers 4] [--model FOLDER] [--texts FILE]
        [--json OUT.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_file, machine


def shape(text: str) -> tuple[int, int]:
    batch, length = text.lower().split("x")
    return int(batch), int(length)


def loader(blocks, collator, batch: int, workers: int):
    """An endless DataLoader over the blocks, masking in its workers (new masks each pass)."""
    import torch

    def passes():
        epoch = 0
        while True:
            collator.set_epoch(epoch)
            yield from torch.utils.data.DataLoader(
                blocks, batch_size=batch, shuffle=False, collate_fn=collator, num_workers=workers, drop_last=True
            )
            epoch += 1

    return passes()


def measure(args, folder, tokenizer, blocks, batch: int, length: int, precision: str, head: str) -> dict:
    import torch

    import maskkit
    from maskkit.runs.models import load_masked_lm
    from maskkit.training.mlm import mlm_loss

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    row = {"batch": batch, "length": length, "precision": precision, "head": head, "device": str(device)}
    if precision != "fp32" and not cuda:
        return {**row, "skipped": "needs CUDA"}
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        return {**row, "skipped": "this GPU has no bf16"}
    torch.manual_seed(0)
    model, _ = load_masked_lm(folder, log=lambda _: None)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    autocast = torch.autocast(device.type, dtype=dtype) if dtype else nullcontext()
    collator = maskkit.MaskingCollator(tokenizer, maskkit.WholeWordSelector(), seed=0)
    batches = loader(blocks, collator, batch, args.workers)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    waited = stepped = 0.0
    tokens = 0
    for step in range(args.warmup + args.steps):
        started = time.perf_counter()
        inputs = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
        got = time.perf_counter()
        with autocast:
            loss = mlm_loss(model, inputs, sparse=head == "sparse")
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        done = time.perf_counter()
        if step >= args.warmup:
            waited += got - started
            stepped += done - started
            tokens += int(inputs["attention_mask"].sum())
    return {**row, "steps_per_s": args.steps / stepped, "tokens_per_s": tokens / stepped,
            "data_wait_share": waited / stepped, "loss": float(loss.detach()),
            "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None}  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="+", type=shape, default=[(64, 128), (32, 512)])
    parser.add_argument("--precisions", nargs="+", choices=["fp32", "bf16", "fp16"], default=["fp32", "bf16", "fp16"])
    parser.add_argument("--heads", nargs="+", choices=["dense", "sparse"], default=["dense", "sparse"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch threads when on the CPU")
    parser.add_argument("--model", help="an MLM model folder or hub id (default: the offline MiniLM-L6)")
    parser.add_argument("--texts", help="a text file, one document per line (default: movie-review sentences)")
    parser.add_argument("--json", help="also append the rows to this JSONL file")
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoTokenizer

    from maskkit.runs.models import resolve_model_dir
    from maskkit.training.corpus import corpus_blocks, load_corpus

    torch.set_num_threads(args.threads)
    facts = machine(args.threads)
    if torch.cuda.is_available():
        facts["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(facts), flush=True)
    folder = resolve_model_dir(args.model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    texts = args.texts or str(data_file("movie_reviews_unlabeled", "sentences.txt"))
    corpus = load_corpus([texts], log=lambda _: None)
    rows = []
    for batch, length in args.shapes:
        blocks = corpus_blocks(corpus, tokenizer, length, "full").select_columns(["input_ids", "word_ids"])
        needed = batch * (args.warmup + args.steps)
        if len(blocks) < batch:
            raise SystemExit(f"{texts} makes {len(blocks)} blocks of {length} tokens, fewer than a batch of {batch}")
        blocks = blocks.select(range(min(len(blocks), needed)))
        for precision in args.precisions:
            for head in args.heads:
                row = measure(args, folder, tokenizer, blocks, batch, length, precision, head)
                rows.append({**facts, **row})
                print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    return rows


if __name__ == "__main__":
    main()
