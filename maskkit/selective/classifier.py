"""The token-importance classifier (Gu et al. 2020, stage 3) and its use on in-domain text (stage 4).

A token-classification model initialised from the base model learns which tokens the task model found
important (class weights [1, 3] by default, as the authors used, since important tokens are the rarer
class) and reports precision, recall and F1 of the important class on held-out scored sentences. It then
scores unlabelled in-domain text: `P(important)` per token (the `importance` column `ScoredSelector`
reads), or the important-class logit and the argmax the official selection ranks by.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import Trainer

from maskkit.errors import InputError
from maskkit.progress import trainer_progress, without_log_printing
from maskkit.selective.importance import ScoredSentences
from maskkit.training.encode import special_frame

IGNORE = -100


def importance_examples(
    scored: ScoredSentences, tokenizer: Any, threshold: float, unimportant_ids: frozenset[int] | set[int] = frozenset()
) -> Any:
    """Token-classification rows: the framed ids, label 1 where a token's score exceeds `threshold` and the
    token is not one of `unimportant_ids` (the official recipe labels stop words unimportant)."""
    from datasets import Dataset

    before, after = special_frame(tokenizer)
    ids, labels = [], []
    for tokens, scores in zip(scored.token_ids, scored.scores):
        ids.append(before + list(tokens) + after)
        labels.append(
            [IGNORE] * len(before)
            + [int(s > threshold and t not in unimportant_ids) for t, s in zip(tokens, scores)]
            + [IGNORE] * len(after)
        )
    if not ids:
        raise InputError("no scored sentences to learn from (all were misclassified or empty)")
    return Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids], "labels": labels})


class WeightedTokenTrainer(Trainer):
    """Cross-entropy over tokens with per-class weights (important tokens weigh more)."""

    def __init__(self, *args: Any, class_weights: Sequence[float] = (1.0, 3.0), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.class_weights = torch.tensor([float(w) for w in class_weights])
        self.model_accepts_loss_kwargs = False

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.logits.float()
        weights = self.class_weights.to(logits.device)
        loss = torch.nn.functional.cross_entropy(
            logits.view(-1, logits.shape[-1]), labels.view(-1), weight=weights, ignore_index=IGNORE
        )
        return (loss, outputs) if return_outputs else loss


def token_metrics(eval_pred: Any) -> dict[str, float]:
    from sklearn.metrics import precision_recall_fscore_support

    logits, labels = eval_pred
    predicted = np.asarray(logits).argmax(-1)
    keep = np.asarray(labels) != IGNORE
    p, r, f, _ = precision_recall_fscore_support(
        np.asarray(labels)[keep], predicted[keep], average="binary", zero_division=0
    )
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


@dataclass
class ImportanceClassifierResult:
    output_dir: str
    heldout: dict[str, float]
    train_sentences: int
    heldout_sentences: int
    important_share: float
    epoch_f1: list[float] = field(default_factory=list)  # dev F1 after each epoch (selection="best_f1")


def train_importance_classifier(
    base_model: str, tokenizer: Any, examples: Any, output_dir: str, class_weights: Sequence[float] = (1.0, 3.0),
    epochs: float = 2.0, lr: float = 5e-5, batch_size: int = 32, heldout: float = 0.1, seed: int = 0,
    max_steps: int = -1, progress: bool = True, selection: str = "last",
) -> ImportanceClassifierResult:  # fmt: skip
    """Trains the token-importance classifier from `base_model` (a local folder) and scores a held-out part.

    `selection="best_f1"` evaluates the held-out part (the dev set) after every epoch and keeps the epoch
    with the best F1 of the important class, as the official mask_model_pretrain.py does; "last" keeps
    the final weights."""
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

    from maskkit.runs.models import quiet_loading, seeded_init
    from maskkit.training.settings import TrainingSettings, training_arguments

    if len(class_weights) != 2 or min(class_weights) <= 0:
        raise InputError(f"class_weights must be two positive numbers, got {tuple(class_weights)}")
    if selection not in ("best_f1", "last"):
        raise InputError(f"selection must be 'best_f1' or 'last', got {selection!r}")
    if not 0 < heldout < 1:
        raise InputError(f"heldout must be in (0, 1), got {heldout}")
    if len(examples) < 2:
        raise InputError(f"the importance classifier needs at least 2 scored sentences, got {len(examples)}")
    split = examples.train_test_split(test_size=heldout, seed=seed)
    with seeded_init(seed), quiet_loading():  # the new token head is expected, not news
        model = AutoModelForTokenClassification.from_pretrained(
            base_model, num_labels=2, id2label={0: "other", 1: "important"}, label2id={"other": 0, "important": 1}
        )
    settings = TrainingSettings(output_dir=output_dir, epochs=epochs, max_steps=max_steps, lr=lr, batch_size=batch_size,
                                warmup_ratio=0.1, weight_decay=0.0, seed=seed, progress=progress)  # fmt: skip
    args = training_arguments(
        settings, os.path.join(output_dir, "checkpoints"), per_device_eval_batch_size=64, **(
            {"eval_strategy": "epoch", "save_strategy": "epoch", "load_best_model_at_end": True,
             "metric_for_best_model": "f1", "greater_is_better": True, "save_total_limit": 1,
             "save_only_model": True} if selection == "best_f1" else {"save_strategy": "no"}),
    )  # fmt: skip
    trainer = WeightedTokenTrainer(
        model=model, args=args, train_dataset=split["train"], eval_dataset=split["test"],
        data_collator=DataCollatorForTokenClassification(tokenizer), compute_metrics=token_metrics,
        class_weights=class_weights, callbacks=trainer_progress(progress)[1],
    )  # fmt: skip
    without_log_printing(trainer)
    trainer.train()
    epoch_f1 = [float(e["eval_f1"]) for e in trainer.state.log_history if "eval_f1" in e]
    scores = {k.removeprefix("heldout_"): float(v) for k, v in trainer.evaluate(metric_key_prefix="heldout").items()
              if k in ("heldout_precision", "heldout_recall", "heldout_f1")}  # fmt: skip
    trainer.save_model(output_dir)
    tokenizer.save_pretrained(output_dir)
    if selection == "best_f1":
        import shutil

        shutil.rmtree(os.path.join(output_dir, "checkpoints"), ignore_errors=True)
    labels = [v for row in examples["labels"] for v in row if v != IGNORE]
    return ImportanceClassifierResult(
        output_dir=output_dir, heldout=scores, train_sentences=len(split["train"]),
        heldout_sentences=len(split["test"]), important_share=float(np.mean(labels)) if labels else 0.0,
        epoch_f1=epoch_f1,
    )  # fmt: skip


def predict_importance(
    model: Any, batch: dict[str, list[Any]], pad_id: int, batch_size: int = 64, output: str = "probability"
) -> list[list[float]]:
    """Per token of tokenised rows (`input_ids`, `attention_mask`; specials included): P(important), or with
    `output="logits"` the important-class logit where the argmax is important and -inf elsewhere."""
    if output not in ("probability", "logits"):
        raise InputError(f"output must be 'probability' or 'logits', got {output!r}")
    from maskkit.masking.batch import pad_rows

    rows = batch["input_ids"]
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    out: list[list[float]] = [[] for _ in rows]
    device = model.device
    model.eval()
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        lengths = np.array([len(rows[i]) for i in chosen])
        padded = pad_rows([list(rows[i]) for i in chosen], lengths, int(lengths.max()), pad_id, np.int64)
        ids = torch.from_numpy(padded).to(device)
        mask = torch.from_numpy(np.arange(ids.shape[1])[None, :] < lengths[:, None]).long().to(device)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()
        if output == "logits":
            probs = torch.where(logits.argmax(-1) == 1, logits[..., 1], torch.tensor(float("-inf")))
        else:
            probs = torch.softmax(logits, dim=-1)[..., 1]
        for k, i in enumerate(chosen):
            out[i] = probs[k, : len(rows[i])].cpu().tolist()
    return out
