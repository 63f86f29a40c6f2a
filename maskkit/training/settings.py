"""The settings every training run shares (further pre-training, fine-tuning, distillation, the importance
classifier), and the one place they become `transformers.TrainingArguments`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from maskkit.errors import InputError


@dataclass
class TrainingSettings:
    """AdamW with linear warm-up and decay on Trainer. Each kind of run keeps these names and may give
    them its own defaults (fine-tuning: lr 2e-5, 3 epochs, 10% warm-up, as BERT; further pre-training: lr
    5e-5, 6% warm-up, as RoBERTa); the seed is 42 for all, as Trainer's."""

    output_dir: str
    epochs: float = 1.0
    max_steps: int = -1  # > 0: stop after this many optimiser steps (overrides epochs)
    batch_size: int = 32  # per device, per step before accumulation
    lr: float = 5e-5
    warmup_ratio: float = 0.06  # share of the steps with a linearly rising learning rate
    weight_decay: float = 0.01
    optim: str = "adamw_torch"  # any TrainingArguments.optim name ("sgd", "adafactor", ...)
    max_length: int = 128  # tokens per example, specials included
    seed: int = 42  # model initialisation, data order, dropout
    precision: str = "auto"  # auto (bf16/fp16 on a GPU that has it), fp32, bf16, fp16
    gradient_accumulation_steps: int = 1
    logging_steps: int = 50
    dataloader_num_workers: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_length", "gradient_accumulation_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise InputError(f"lr must be a finite number > 0, got {self.lr}")
        if not math.isfinite(self.weight_decay) or self.weight_decay < 0:
            raise InputError(f"weight_decay must be a finite number >= 0, got {self.weight_decay}")
        check_seed(self.seed, "seed")
        from transformers.training_args import OptimizerNames

        names = [o.value for o in OptimizerNames]
        if self.optim not in names:
            raise InputError(f"optim {self.optim!r} is not an optimizer transformers knows; e.g. "
                             f"{', '.join(names[:6])} (all: transformers.training_args.OptimizerNames)")  # fmt: skip
        if not 0 <= self.warmup_ratio < 1:
            raise InputError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.dataloader_num_workers < 0:
            raise InputError(f"dataloader_num_workers must be >= 0, got {self.dataloader_num_workers}")


SEED_RANGE = (0, 2**32 - 1)  # what numpy and torch accept as a seed


def check_seed(seed: object, where: str) -> int:
    """A seed is a whole number in SEED_RANGE (never a boolean or a float): returned as an int, else an
    InputError naming `where`."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise InputError(f"{where} must be a whole number from {SEED_RANGE[0]} to {SEED_RANGE[1]}, got {seed!r}")
    return seed


def training_arguments(settings: TrainingSettings, output_dir: str, **extra: Any) -> Any:
    """`TrainingArguments` for a run with these settings, checkpoints in `output_dir`; `extra` sets or
    replaces TrainingArguments fields (evaluation and saving strategy, another step count or rate)."""
    import torch
    from transformers import TrainingArguments

    from maskkit.progress import trainer_progress
    from maskkit.runs.models import precision_flags

    s = settings
    values: dict[str, Any] = dict(
        output_dir=output_dir, num_train_epochs=s.epochs, max_steps=s.max_steps,
        per_device_train_batch_size=s.batch_size, learning_rate=s.lr, warmup_steps=s.warmup_ratio,
        weight_decay=s.weight_decay, optim=s.optim,
        lr_scheduler_type="linear", seed=s.seed, gradient_accumulation_steps=s.gradient_accumulation_steps,
        logging_steps=s.logging_steps, dataloader_num_workers=s.dataloader_num_workers, report_to=[],
        disable_tqdm=trainer_progress(s.progress)[0], dataloader_pin_memory=torch.cuda.is_available(),
        **precision_flags(s.precision),
    )  # fmt: skip
    values.update(extra)
    return TrainingArguments(**values)


def folder_settings(model: Any, config: Any) -> dict[str, Any]:
    """What every training run folder is claimed for: its start model (a folder or hub id as named, or a
    loaded model's class) and its config, less the output folder and the progress display."""
    import os
    from dataclasses import asdict

    start = os.fspath(model) if isinstance(model, (str, os.PathLike)) else type(model).__name__
    return {"model": start, **{k: v for k, v in asdict(config).items() if k not in ("output_dir", "progress")}}
