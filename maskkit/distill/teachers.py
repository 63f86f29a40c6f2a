"""Self-ensemble teachers (Xu et al. 2020): an exponential moving average of the student's weights, the
average of the weights of its last K snapshots (SDA), or the average of the outputs of its last K snapshots
(SDV), kept up to date by a Trainer callback."""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

import torch
from transformers import TrainerCallback

from maskkit.errors import InputError, JobFailed


class SelfEnsembleTeacher(TrainerCallback):
    """A frozen teacher made of the student: `kind="ema"` (weight `decay` on the old average after every
    optimizer step), `kind="average"` (weights: the mean of the last `k` snapshots; it starts as the
    student's initial weights) or `kind="outputs"` (logits: the mean of the last `k` snapshot models'; none
    before the first snapshot, when the student learns from the hard labels alone). A snapshot is taken
    every `interval` optimizer steps, or at the end of every epoch with `interval=0`."""

    def __init__(self, kind: str = "ema", decay: float = 0.99, k: int = 5, interval: int = 50) -> None:
        if kind not in ("ema", "average", "outputs"):
            raise InputError(f"kind must be ema, average or outputs, got {kind!r}")
        if not 0 < decay < 1:
            raise InputError(f"decay must be in (0, 1), got {decay}")
        if k < 1 or interval < 0:
            raise InputError("k must be >= 1 and interval >= 0 (0: at each epoch's end)")
        self.kind, self.decay, self.k, self.interval = kind, decay, k, interval
        self.model: Any = None
        self.snapshots: deque[list[torch.Tensor]] = deque(maxlen=k)
        self.members: deque[Any] = deque(maxlen=k)  # kind="outputs": frozen snapshot models

    @staticmethod
    def frozen(student: Any) -> Any:
        model = copy.deepcopy(student).eval()
        for param in model.parameters():
            param.requires_grad_(False)
        return model

    def attach(self, student: Any) -> None:
        self.snapshots.clear()
        self.members.clear()
        if self.kind == "outputs":
            self.model = student  # attached; members come with the snapshots
            return
        self.model = self.frozen(student)
        self.snapshots.append([p.detach().clone() for p in student.parameters()])

    def snapshot(self, student: Any) -> None:
        if self.kind == "outputs":
            self.members.append(self.frozen(student))
            return
        with torch.no_grad():
            self.snapshots.append([p.detach().clone() for p in student.parameters()])
            for i, mine in enumerate(self.model.parameters()):
                mine.copy_(torch.stack([snap[i] for snap in self.snapshots]).mean(dim=0))

    def update(self, student: Any, step: int) -> None:
        if self.model is None:
            self.attach(student)
            return
        if self.kind == "ema":
            with torch.no_grad():
                for mine, theirs in zip(self.model.parameters(), student.parameters()):
                    mine.mul_(self.decay).add_(theirs.detach(), alpha=1 - self.decay)
        elif self.interval and step % self.interval == 0:
            self.snapshot(student)

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if self.model is None and model is not None:
            self.attach(model)
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if model is not None:
            self.update(model, state.global_step)
        return control

    def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if model is not None and self.interval == 0 and self.kind != "ema":
            if self.model is None:
                self.attach(model)
            self.snapshot(model)
        return control

    def logits(self, inputs: dict[str, Any]) -> torch.Tensor | None:
        """The teacher's logits; None while a kind="outputs" teacher has no snapshot yet."""
        if self.model is None:
            raise JobFailed("the self-ensemble teacher is not attached to a student yet")
        with torch.no_grad():
            if self.kind == "outputs":
                if not self.members:
                    return None
                return torch.stack([m(**inputs).logits.float() for m in self.members]).mean(dim=0)
            return self.model(**inputs).logits
