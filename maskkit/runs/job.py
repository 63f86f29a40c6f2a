"""The processes of one job (`torchrun` / `accelerate launch`) working through a run folder's stages as one:
the main process decides (which stage comes next, whether it is done already) and writes each stage's
figures; every process runs the stage's function, so a training stage trains data-parallel over all of
them; and they meet after each stage, so every process reads the figures the main process wrote. A job of
one process (no launcher) skips all of it."""

from __future__ import annotations

import os
from typing import Any


class Job:
    def __init__(self) -> None:
        self.size = int(os.environ.get("WORLD_SIZE", "1"))
        self.main = self.size == 1 or int(os.environ.get("RANK", "0")) == 0  # a stray RANK alone is no job
        self._ready = False

    def _connect(self) -> None:
        if not self._ready:  # the process group Trainer will use too (gloo on CPU, NCCL on GPUs)
            import torch
            from accelerate import PartialState

            PartialState(cpu=not torch.cuda.is_available())
            self._ready = True

    def agree(self, value: Any) -> Any:
        """The main process's `value`, in every process of the job."""
        if self.size == 1:
            return value
        import torch.distributed as dist

        self._connect()
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def meet(self) -> None:
        """Waits until every process of the job has come here."""
        if self.size > 1:
            import torch.distributed as dist

            self._connect()
            dist.barrier()
