"""Self-ensemble teachers (Xu et al. 2020): an exponential moving average of the student's weights,
or the average of its last K snapshots, kept up to date by a Trainer callback."""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

import torch
from transformers import TrainerCallback

from maskkit.errors import InputError, JobFailed


class SelfEnsembleTeacher(TrainerCallback):
    """A frozen copy of the student that follows it: `kind="ema"` (weight `decay` on the old average
    after every optimizer step) or `kind="average"` (mean of the last `k` snapshots, one every
    `interval` steps). It starts as the student's initial weights."""

    def __init__(self, kind: str = "ema", decay: float = 0.99, k: int = 5, interval: int = 50) -> None:
        if kind not in ("ema", "average"):
            raise InputError(f"kind must be ema or average, got {kind!r}")
        if not 0 < decay < 1:
            raise InputError(f"decay must be in (0, 1), got {decay}")
        if k < 1 or interval < 1:
            raise InputError("k and interval must be >= 1")
        self.kind, self.decay, self.k, self.interval = kind, decay, k, interval
        self.model: Any = None
        self.snapshots: deque[list[torch.Tensor]] = deque(maxlen=k)

    def attach(self, student: Any) -> None:
        self.model = copy.deepcopy(student).eval()
        for param in self.model.parameters():
            param.requires_grad_(False)
        self.snapshots.clear()
        self.snapshots.append([p.detach().clone() for p in student.parameters()])

    def update(self, student: Any, step: int) -> None:
        if self.model is None:
            self.attach(student)
            return
        with torch.no_grad():
            if self.kind == "ema":
                for mine, theirs in zip(self.model.parameters(), student.parameters()):
                    mine.mul_(self.decay).add_(theirs.detach(), alpha=1 - self.decay)
            elif step % self.interval == 0:
                self.snapshots.append([p.detach().clone() for p in student.parameters()])
                for i, mine in enumerate(self.model.parameters()):
                    mine.copy_(torch.stack([snap[i] for snap in self.snapshots]).mean(dim=0))

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if self.model is None and model is not None:
            self.attach(model)
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if model is not None:
            self.update(model, state.global_step)
        return control

    def logits(self, inputs: dict[str, Any]) -> torch.Tensor:
        if self.model is None:
            raise JobFailed("the self-ensemble teacher is not attached to a student yet")
        with torch.no_grad():
            return self.model(**inputs).logits
