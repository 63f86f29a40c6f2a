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

`--versus-run-mlm FILE ...` instead compares data preparation alone with the anchor users would otherwise
pick, transformers' `run_mlm.py` recipe (the `text` loader, `datasets.map` tokenisation with the special
tokens mask, then `group_texts`: concatenate and cut into blocks of --length, dropping the remainder), on
the same files, one document per line, the same tokenizer and `num_proc`, each run in a fresh process with
an empty cache, alternated `--repeats` times (maskkit, anchor, maskkit, anchor, ...):

    .venv/bin/python benchmarks/bench_corpus.py --versus-run-mlm ../shared/data/general_english/train-0*.txt
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


def prepare_child(args: argparse.Namespace) -> None:
    """Data preparation alone, by maskkit's corpus path or by the run_mlm.py recipe; prints a JSON line."""
    from transformers import AutoTokenizer

    from maskkit.runs.models import resolve_model_dir

    sampler = MemorySampler()
    sampler.start()
    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir(None))
    files = args.corpus.split(os.pathsep)
    if args.recipe == "maskkit":
        from maskkit.training.corpus import corpus_blocks, load_corpus

        corpus = load_corpus(files, documents="line", num_proc=args.num_proc, cache_dir=args.cache, log=lambda _: None)
        blocks = corpus_blocks(corpus, tokenizer, args.length, "full", num_proc=args.num_proc)
        count, tokens = len(blocks), sum(len(ids) for ids in blocks.data.column("input_ids").to_pylist())
    else:  # run_mlm.py as its README runs it (line_by_line off): tokenise every line, then group_texts
        from datasets import load_dataset

        raw = load_dataset("text", data_files=files, split="train", cache_dir=args.cache)

        def tokenize(batch):
            return tokenizer(batch["text"], return_special_tokens_mask=True)

        def group_texts(batch):
            joined = {k: [x for row in batch[k] for x in row] for k in batch}
            usable = len(joined["input_ids"]) // args.length * args.length
            return {k: [v[i : i + args.length] for i in range(0, usable, args.length)] for k, v in joined.items()}

        tokenized = raw.map(tokenize, batched=True, num_proc=args.num_proc, remove_columns=["text"])
        blocks = tokenized.map(group_texts, batched=True, num_proc=args.num_proc)
        count, tokens = len(blocks), len(blocks) * args.length
    finished = time.time()
    sampler.running = False
    sampler.join()
    print(json.dumps({"recipe": args.recipe, "blocks": count, "tokens": tokens, "prepare_s": finished - started,
                      "peak_anon_mib": sampler.anon / 2**20, "peak_rss_mib": sampler.rss / 2**20}))  # fmt: skip


def versus_run_mlm(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(json.dumps({**machine(args.threads), "files": args.versus_run_mlm, "num_proc": args.num_proc}))
    best: dict[str, dict] = {}
    for repeat in range(args.repeats):
        for recipe in ("maskkit", "run_mlm"):
            cache = workdir / f"cache-{recipe}"
            shutil.rmtree(cache, ignore_errors=True)
            command = [sys.executable, __file__, "--prepare-child", "--recipe", recipe, "--cache", str(cache),
                       "--corpus", os.pathsep.join(args.versus_run_mlm), "--num-proc", str(args.num_proc),
                       "--length", str(args.length)]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
            if done.returncode:
                raise SystemExit(f"the {recipe} run failed:\n{done.stderr[-4000:]}")
            row = {"repeat": repeat, **json.loads(done.stdout.strip().splitlines()[-1])}
            print(json.dumps(row), flush=True)
            if recipe not in best or row["prepare_s"] < best[recipe]["prepare_s"]:
                best[recipe] = row
    ratio = best["run_mlm"]["prepare_s"] / best["maskkit"]["prepare_s"]
    print(json.dumps({"best_of": args.repeats, "run_mlm_s / maskkit_s": ratio,
                      "anon_mib": {k: v["peak_anon_mib"] for k, v in best.items()}}))  # fmt: skip
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


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
    parser.add_argument("--versus-run-mlm", nargs="+", metavar="FILE", help="compare preparation with run_mlm.py's")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prepare-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--recipe", choices=["maskkit", "run_mlm"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.prepare_child:
        prepare_child(args)
        return
    if args.versus_run_mlm:
        versus_run_mlm(args)
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
