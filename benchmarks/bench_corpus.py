"""Further pre-training at corpus scale: data preparation (read, tokenise, pack) plus the first 20 training
steps for corpora of 64k, 640k and 6.4M lines, each run twice (the second reuses the datasets cache), with
wall time and peak memory; then training throughput of packed blocks against line-by-line examples.

The corpora are ../shared/data/movie_reviews_unlabeled/sentences.txt (64,720 lines) repeated 1, 10 and 100
times, built at benchmark time in --workdir (never committed; 6.4M lines are 770 MB). Each size runs in its
own process. Memory is sampled every 0.2 s over the process and its workers: the sum of their anonymous
resident memory (RssAnon: what the job allocates), and the peak RSS the kernel reports (VmHWM), which also
counts the memory-mapped corpus pages the job has touched (clean file pages the kernel can drop).
Not collected by pytest.

    .venv/bin/python benchmarks/bench_corpus.py [--copies 1 10 100] [--num-proc 2] [--steps 20]
        [--batch 16] [--length 128] [--workdir /tmp/maskkit-bench-corpus] [--throughput-steps 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_file, machine, timed_steps


def build_corpus(workdir: Path, copies: int) -> Path:
    source = data_file("movie_reviews_unlabeled", "sentences.txt")
    path = workdir / f"sentences-x{copies}.txt"
    if not path.exists() or path.stat().st_size != copies * source.stat().st_size:
        data = source.read_bytes()
        with open(f"{path}.part", "wb") as f:
            for _ in range(copies):
                f.write(data)
        os.replace(f"{path}.part", path)
    return path


class MemorySampler(threading.Thread):
    """Peak sum of RssAnon, and peak of the sum of VmRSS, over this process and its children."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.anon = self.rss = 0
        self.running = True

    @staticmethod
    def status(pid: int) -> dict[str, int]:
        values = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in ("RssAnon", "VmRSS"):
                        values[key] = int(rest.split()[0]) * 1024
        except OSError:
            pass
        return values

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while self.running:
            pids = [me.pid] + [c.pid for c in me.children(recursive=True)]
            stats = [self.status(p) for p in pids]
            self.anon = max(self.anon, sum(s.get("RssAnon", 0) for s in stats))
            self.rss = max(self.rss, sum(s.get("VmRSS", 0) for s in stats))
            time.sleep(0.2)


def child(args: argparse.Namespace) -> None:
    """One run in this process: prepare the corpus and train the first steps; prints a JSON line."""
    import torch
    from transformers import AutoTokenizer

    import maskkit
    from maskkit.runs.models import resolve_model_dir
    from maskkit.training.corpus import corpus_blocks, load_corpus
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    torch.set_num_threads(args.threads)
    sampler = MemorySampler()
    sampler.start()
    started = time.time()
    folder = resolve_model_dir(None)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    corpus = load_corpus([args.corpus], num_proc=args.num_proc, cache_dir=args.cache, log=lambda _: None)
    blocks = corpus_blocks(corpus, tokenizer, args.length, args.packing, num_proc=args.num_proc)
    prepared = time.time()
    collator = maskkit.MaskingCollator(tokenizer, maskkit.WholeWordSelector(), seed=0)
    config = PretrainConfig(output_dir=args.run_dir, max_steps=args.steps, batch_size=args.batch,
                            max_length=args.length, progress=False, save_steps=10**9)  # fmt: skip
    further_pretrain(folder, tokenizer, blocks, collator, config)
    finished = time.time()
    sampler.running = False
    sampler.join()
    print(json.dumps({"documents": corpus.report.documents, "blocks": len(blocks),
                      "prepare_s": prepared - started, "train_s": finished - prepared, "total_s": finished - started,
                      "peak_anon_mib": sampler.anon / 2**20, "peak_rss_mib": sampler.rss / 2**20}))  # fmt: skip


def throughput(args: argparse.Namespace, corpus: Path) -> list[dict]:
    """Real (non-padding) tokens per second of training steps on packed blocks and on line-by-line
    examples of the same corpus, the same batch size, ABAB-alternated; and each one's share of padding."""
    import torch
    from transformers import AutoTokenizer

    import maskkit
    from maskkit.runs.models import load_masked_lm, resolve_model_dir
    from maskkit.training.corpus import corpus_blocks, load_corpus

    torch.set_num_threads(args.threads)
    folder = resolve_model_dir(None)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    read = load_corpus([str(corpus)], cache_dir=args.cache, log=lambda _: None)
    collator = maskkit.MaskingCollator(tokenizer, maskkit.WholeWordSelector(), seed=0)
    runs = {}
    for packing in ("full", "document"):
        blocks = corpus_blocks(read, tokenizer, args.length, packing)
        rows = [blocks[i] for i in range(args.batch * args.throughput_steps)]
        batches = [collator([{k: r[k] for k in ("input_ids", "word_ids")} for r in rows[i : i + args.batch]])
                   for i in range(0, len(rows), args.batch)]  # fmt: skip
        torch.manual_seed(0)
        model, _ = load_masked_lm(folder)
        model.train()
        runs[packing] = (model, torch.optim.AdamW(model.parameters(), lr=1e-5), batches, float("inf"))
    for _ in range(args.repeats):
        for packing, (model, optimizer, batches, best) in runs.items():
            runs[packing] = (model, optimizer, batches, min(best, timed_steps(model, optimizer, batches)))
    out = []
    for packing, (_, _, batches, best) in runs.items():
        real = sum(int(b["attention_mask"].sum()) for b in batches)
        total = sum(b["attention_mask"].numel() for b in batches)
        out.append({"packing": packing, "real_tokens": real, "padding_share": 1 - real / total,
                    "real_tokens_per_s": real / best, "seconds": best})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--packing", default="full")
    parser.add_argument("--workdir", default="/tmp/maskkit-bench-corpus")
    parser.add_argument("--throughput-steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the corpora and cache in --workdir")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(machine(args.threads)))
    results = []
    for copies in args.copies:
        corpus = build_corpus(workdir, copies)
        cache = workdir / f"cache-x{copies}"
        shutil.rmtree(cache, ignore_errors=True)
        for attempt in ("first", "cached"):
            run_dir = workdir / f"run-x{copies}-{attempt}"
            shutil.rmtree(run_dir, ignore_errors=True)
            command = [sys.executable, __file__, "--child", "--corpus", str(corpus), "--cache", str(cache),
                       "--run-dir", str(run_dir), "--num-proc", str(args.num_proc), "--steps", str(args.steps),
                       "--batch", str(args.batch), "--length", str(args.length), "--threads", str(args.threads),
                       "--packing", args.packing]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
            if done.returncode:
                raise SystemExit(f"the run on {corpus} failed:\n{done.stderr[-4000:]}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            row = {"lines": copies * 64720, "run": attempt, **figures}
            results.append(row)
            print(json.dumps(row), flush=True)
    args.cache = str(workdir / "cache-throughput")
    for row in throughput(args, build_corpus(workdir, 1)):
        print(json.dumps(row), flush=True)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
