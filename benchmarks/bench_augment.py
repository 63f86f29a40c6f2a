"""Augmentation speed: maskkit's EDA against nlpaug 1.1.11 on the same real sentences, same run.

MR sentences from ../shared/data (or MASKKIT_DATA), one process, one thread. nlpaug reads WordNet and
its POS tagger through NLTK_DATA (set here to maskkit's WordNet copy plus ../shared/nltk_data). maskkit's
synonym lookups are timed with a cold cache (first pass in the process) and a warm one. Also: EDA through
`augment_dataset` with num_proc 1 and 2, and an Apertium round trip. Not collected by pytest.

    .venv/bin/python benchmarks/bench_augment.py [--sentences 2000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import csv
import json
import platform
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sentences(data: Path, limit: int) -> list[str]:
    path = data / "mr" / "train.tsv"
    if not path.exists():
        raise SystemExit(f"no MR data at {path}: pass --data or set MASKKIT_DATA")
    with path.open(encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return [row["text"] for _, row in zip(range(limit), rows)]


def scaling_run(data: Path, num_proc: int) -> float:
    """EDA x4 over the whole MR training set through augment_dataset: augmented sentences per second."""
    from datasets import Dataset, disable_progress_bars

    from maskkit.augment import EDA, augment_dataset

    disable_progress_bars()
    texts = sentences(data, 10**9)
    start = time.perf_counter()
    augment_dataset(Dataset.from_dict({"text": texts}), EDA(n_aug=4), n_aug=4,
                    num_proc=num_proc if num_proc > 1 else None, load_from_cache_file=False)  # fmt: skip
    return len(texts) * 4 / (time.perf_counter() - start)


def timed(fn, texts: list[str], per_text: int = 1) -> float:
    start = time.perf_counter()
    fn(texts)
    return len(texts) * per_text / (time.perf_counter() - start)


def report(name: str, rate: float, unit: str = "sentences/s") -> None:
    print(json.dumps({"name": name, unit: round(rate, 1)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("MASKKIT_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--scaling-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scaling_run:
        print(scaling_run(Path(args.data), args.scaling_run))
        return
    warnings.filterwarnings("ignore")

    from maskkit.augment import EDA, ApertiumTranslator, BackTranslate
    from maskkit.augment.eda import RandomDelete, RandomInsert, RandomSwap, SynonymReplace
    from maskkit.corpora.wordnet import DEBIAN_WORDNET, nltk_wordnet_dir
    from maskkit.text.synonyms import _wordnet_synonyms, _wordnet_tables

    texts = sentences(Path(args.data), args.sentences)
    os.environ["NLTK_DATA"] = os.pathsep.join([str(nltk_wordnet_dir()), str(ROOT.parent / "shared" / "nltk_data")])
    import nlpaug
    import nlpaug.augmenter.word as naw

    print(json.dumps({"machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                                  "nlpaug": nlpaug.__version__}, "sentences": len(texts)}))  # fmt: skip
    _wordnet_tables(str(DEBIAN_WORDNET))  # load WordNet before timing, as nlpaug's warm-up below does
    anchors = {
        "synonym": naw.SynonymAug(aug_src="wordnet"),
        "swap": naw.RandomWordAug(action="swap"),
        "delete": naw.RandomWordAug(action="delete"),
    }
    for aug in anchors.values():
        aug.augment(texts[:20])
    results = {}
    _wordnet_synonyms.cache_clear()
    results["maskkit synonym (cold cache)"] = timed(SynonymReplace(), texts)
    results["maskkit synonym (warm cache)"] = timed(SynonymReplace(seed=1), texts)
    results["nlpaug synonym"] = timed(anchors["synonym"].augment, texts)
    results["maskkit swap"] = timed(RandomSwap(), texts)
    results["nlpaug swap"] = timed(anchors["swap"].augment, texts)
    results["maskkit delete"] = timed(RandomDelete(), texts)
    results["nlpaug delete"] = timed(anchors["delete"].augment, texts)
    results["maskkit insert"] = timed(RandomInsert(), texts)
    recipe = EDA(n_aug=4)
    results["maskkit EDA recipe (4 per sentence)"] = timed(recipe.generate, texts, per_text=4)
    for name, rate in results.items():
        report(name, rate)

    for num_proc in (1, 2):  # fresh processes over the whole MR training set: nothing loaded or cached
        out = subprocess.run([sys.executable, __file__, "--scaling-run", str(num_proc), "--data", args.data],
                             capture_output=True, text=True, check=True)  # fmt: skip
        results[f"augment_dataset EDA num_proc={num_proc}"] = float(out.stdout.strip().splitlines()[-1])
        report(f"augment_dataset EDA num_proc={num_proc} (8530 sentences x 4, fresh process)",
               results[f"augment_dataset EDA num_proc={num_proc}"], "augmented/s")  # fmt: skip
    if shutil.which("apertium"):
        bt = BackTranslate(ApertiumTranslator(), drop_identical=False)
        sample = texts[:1000]
        results["apertium round trip"] = timed(bt, sample)
        report("apertium round trip (en-es-en, no cache)", results["apertium round trip"])

    print("\nratios (same run):")
    cold, warm = (results[f"maskkit synonym ({c} cache)"] / results["nlpaug synonym"] for c in ("cold", "warm"))
    print(f"  synonym replacement: {cold:.1f}x nlpaug (cold cache), {warm:.1f}x (warm)")
    print(f"  swap: {results['maskkit swap'] / results['nlpaug swap']:.2f}x nlpaug; "
          f"delete: {results['maskkit delete'] / results['nlpaug delete']:.2f}x nlpaug")  # fmt: skip
    print(f"  EDA recipe: {results['maskkit EDA recipe (4 per sentence)']:.0f} augmented sentences/s on one core")
    scaling = results["augment_dataset EDA num_proc=2"] / results["augment_dataset EDA num_proc=1"]
    print(f"  augment_dataset: num_proc=2 gives {scaling:.2f}x num_proc=1")


if __name__ == "__main__":
    main()
