"""Trainer integration: deliver epochs to a collator, keep the columns a masking scheme reads, and save
snapshots of the model at chosen steps."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

from transformers import TrainerCallback

from maskkit.collate import CONSUMED, MaskingCollator
from maskkit.errors import WrongType


class EpochCallback(TrainerCallback):
    """Sets the collator's epoch at the start of every Trainer epoch, so each epoch gets new masks.

    The epoch reaches DataLoader workers through shared memory before the epoch's iterator starts, so
    masks are the same with 0 or N workers, persistent or not. A dataset with a length has its epoch in
    Trainer's state (a run resumed at epoch 1.75 is in epoch 1). A stream has none there (Trainer counts
    its epochs in fractions of max_steps: 0.33 at the start of a second pass), so its passes are counted
    here; for a resume that stays exact across passes, feed Trainer `maskkit.repeat_passes(stream)`, whose
    examples carry their pass (the collator reads it, and Trainer sees one endless pass).
    """

    def __init__(self, collator: MaskingCollator) -> None:
        if not hasattr(collator, "set_epoch"):
            raise WrongType(f"EpochCallback needs a collator with set_epoch, got {type(collator).__name__}")
        self.collator = collator
        self.passes = 0  # passes over a stream finished in this run

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.passes = 0
        return control

    def on_epoch_begin(self, args: Any, state: Any, control: Any, train_dataloader: Any = None, **kwargs: Any) -> Any:
        if train_dataloader is not None and not has_length(train_dataloader):
            self.collator.set_epoch(self.passes)
        else:  # (a float sum may give 1.9999999 at the start of epoch 2, hence the small margin)
            self.collator.set_epoch(math.floor((state.epoch or 0) + 1e-6))
        return control

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.passes += 1
        return control


def has_length(loader: Any) -> bool:
    try:
        len(loader)
    except TypeError:
        return False
    return True


class SaveModelAtSteps(TrainerCallback):
    """Saves the model (and `tokenizer`) when training reaches each of `steps`, into `folder(step)`,
    atomically (a folder is whole or absent): the snapshots a "when to stop" curve fine-tunes from. A run
    resumed from a later checkpoint keeps the snapshots it made before; only the main process writes."""

    def __init__(self, steps: Iterable[int], folder: Callable[[int], str], tokenizer: Any = None) -> None:
        self.steps, self.folder, self.tokenizer = frozenset(int(s) for s in steps), folder, tokenizer

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if state.global_step in self.steps and state.is_world_process_zero:
            from maskkit.runs.files import atomic_path

            with atomic_path(self.folder(state.global_step)) as tmp:
                model.save_pretrained(tmp)
                if self.tokenizer is not None:
                    self.tokenizer.save_pretrained(tmp)
        return control


def keep_columns(dataset: Any, collator: MaskingCollator, model: Any) -> Any:
    """Drops the columns that neither the model's forward() nor the collator reads.

    Use it with `TrainingArguments(remove_unused_columns=False)` when a scheme needs a column that
    Trainer would otherwise remove (word ids for Chinese, importance scores, unit ids).
    """
    accepted = set(inspect.signature(model.forward).parameters) | set(CONSUMED) | set(collator.columns)
    drop = [c for c in dataset.column_names if c not in accepted]
    return dataset.remove_columns(drop) if drop else dataset
