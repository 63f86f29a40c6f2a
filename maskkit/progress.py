"""Progress for long jobs: a tqdm bar on a terminal; elsewhere (CI logs, nohup, a cluster job) one plain
line on stderr at intervals (`MASKKIT_PROGRESS_SECONDS`, default 30) and one at the end."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from maskkit.errors import InputError

INTERVAL_VARIABLE = "MASKKIT_PROGRESS_SECONDS"


def on_terminal() -> bool:
    return sys.stderr.isatty()


def interval_seconds() -> float:
    value = os.environ.get(INTERVAL_VARIABLE, "30")
    try:
        return max(float(value), 0.0)
    except ValueError:
        raise InputError(f"{INTERVAL_VARIABLE} must be a number of seconds, got {value!r}") from None


class ProgressLines:
    """tqdm's update/close interface, writing `desc: done/total unit (p%), elapsed, left` lines."""

    def __init__(self, total: int | None, desc: str, unit: str = "it", initial: int = 0) -> None:
        self.total, self.desc, self.unit, self.done, self.initial = total, desc, unit, initial, initial
        self.started = self.last = time.monotonic()
        self.interval = interval_seconds()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.write()

    def write(self, end: str = "") -> None:
        elapsed = time.monotonic() - self.started
        line = f"{self.desc}: {self.done}"
        if self.total:
            line += f"/{self.total} {self.unit} ({100 * self.done / self.total:.0f}%)"
        else:
            line += f" {self.unit}"
        line += f", {elapsed:.0f} s"
        if self.total and self.initial < self.done < self.total and not end:  # the rate of this process only
            line += f", about {elapsed * (self.total - self.done) / (self.done - self.initial):.0f} s left"
        print(line + end, file=sys.stderr, flush=True)

    def close(self) -> None:
        self.write(end=", done")


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int | None, desc: str, unit: str = "it", enabled: bool = True) -> Any:
    """A progress display with tqdm's update(n)/close(): a bar on a terminal, lines elsewhere, or nothing."""
    if not enabled:
        return _Silent()
    if on_terminal():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit)
    return ProgressLines(total, desc, unit)


def trainer_progress(enabled: bool) -> tuple[bool, list[Any]]:
    """(disable_tqdm, callbacks) for a Trainer run: its own bar on a terminal, progress lines elsewhere."""
    if not enabled:
        return True, []
    if on_terminal():
        return False, []
    return True, [trainer_progress_lines()]


def without_log_printing(trainer: Any) -> Any:
    """Trainer prints raw log dicts when its bar is off; maskkit's progress lines (with the loss and each
    evaluation) replace them, and a run asked to be quiet (progress=False) prints neither."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    return trainer


def trainer_progress_lines() -> Any:
    """A TrainerCallback writing progress lines (steps, the latest loss); transformers is imported here only."""
    from transformers import TrainerCallback

    class TrainerProgressLines(TrainerCallback):
        def __init__(self) -> None:
            self.lines: ProgressLines | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self.lines = ProgressLines(state.max_steps, "training", "steps", initial=state.global_step)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if self.lines is not None and logs and "loss" in logs:
                self.lines.desc = f"training (loss {float(logs['loss']):.3f})"

        def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
            """One line per evaluation, naming its split: "dev" during training (Trainer's "eval_" keys) and
            the split a caller names with metric_key_prefix afterwards ("dev", "test")."""
            if state.is_world_process_zero and metrics:
                prefix = next(iter(metrics)).split("_", 1)[0]
                split = {"eval": "dev during training"}.get(prefix, f"{prefix}, the checkpoint kept")
                shown = ", ".join(f"{k.split('_', 1)[1]} {float(v):.4g}" for k, v in metrics.items()
                                  if "_" in k and not k.endswith(("runtime", "per_second", "epoch")))  # fmt: skip
                parts = [p for p in str(args.output_dir).split(os.sep) if p and p != "checkpoints"][-3:]
                print(f"{split}, step {state.global_step} ({'/'.join(parts)}): {shown}", file=sys.stderr, flush=True)

        def on_predict(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
            self.on_evaluate(args, state, control, metrics=metrics)  # the test split, scored with predict()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.lines is not None:
                self.lines.update(state.global_step - self.lines.done)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.lines is not None:
                self.lines.close()
                self.lines = None

    return TrainerProgressLines()
