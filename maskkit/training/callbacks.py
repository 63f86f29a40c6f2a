"""Trainer integration: deliver epochs to a collator and keep the columns a masking scheme reads."""

from __future__ import annotations

import inspect
import math
from typing import Any

from transformers import TrainerCallback

from maskkit.collate import CONSUMED, MaskingCollator
from maskkit.errors import WrongType


class EpochCallback(TrainerCallback):
    """Sets the collator's epoch at the start of every Trainer epoch, so each epoch gets new masks.

    The epoch reaches DataLoader workers through shared memory before the epoch's iterator starts, so
    masks are the same with 0 or N workers, persistent or not.
    """

    def __init__(self, collator: MaskingCollator) -> None:
        if not hasattr(collator, "set_epoch"):
            raise WrongType(f"EpochCallback needs a collator with set_epoch, got {type(collator).__name__}")
        self.collator = collator

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        # the epoch under way: a run resumed at epoch 1.75 is in epoch 1 (a float sum may give 1.9999999
        # at the start of epoch 2, hence the small margin)
        self.collator.set_epoch(math.floor((state.epoch or 0) + 1e-6))
        return control


def keep_columns(dataset: Any, collator: MaskingCollator, model: Any) -> Any:
    """Drops the columns that neither the model's forward() nor the collator reads.

    Use it with `TrainingArguments(remove_unused_columns=False)` when a scheme needs a column that
    Trainer would otherwise remove (word ids for Chinese, importance scores, unit ids).
    """
    accepted = set(inspect.signature(model.forward).parameters) | set(CONSUMED) | set(collator.columns)
    drop = [c for c in dataset.column_names if c not in accepted]
    return dataset.remove_columns(drop) if drop else dataset
