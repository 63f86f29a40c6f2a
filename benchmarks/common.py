"""What the benchmarks share: the project root on sys.path and the real data folder beside the project."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def data_file(*parts: str) -> Path:
    """A file under ../shared/data (or MASKKIT_DATA); exits with a clear message when it is absent."""
    path = Path(os.environ.get("MASKKIT_DATA", ROOT.parent / "shared" / "data")).joinpath(*parts)
    if not path.exists():
        raise SystemExit(f"no data at {path}: set MASKKIT_DATA to the shared data folder")
    return path


def machine(threads: int) -> dict:
    """The facts a figure needs beside it: CPU, cores, threads used, torch, and whether CUDA was there."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return {"machine": cpu, "cpus": os.cpu_count(), "threads": threads, "torch": torch.__version__,
            "cuda": torch.cuda.is_available()}  # fmt: skip


def timed_steps(model, optimizer, batches) -> float:
    """Seconds for one MLM training step (sparse head, forward, backward, optimiser) per batch, in order."""
    import time

    from maskkit.training.mlm import mlm_loss

    started = time.perf_counter()
    for batch in batches:
        loss = mlm_loss(model, batch, sparse=True)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return time.perf_counter() - started
