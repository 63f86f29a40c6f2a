"""Checkpoints that a kill cannot leave half-trusted.

Trainer writes a checkpoint folder file by file (weights, optimizer, scheduler, RNG state, trainer state);
a job killed in the middle leaves a folder that looks like the newest checkpoint but cannot be loaded.
`CompleteCheckpoints` marks a folder complete once Trainer has written all of it, and
`last_complete_checkpoint` resumes from the newest complete one: a newer partial folder is removed
(it is recomputed), with a message. A folder written without the mark (by another tool, or an older
maskkit) counts as complete when its trainer state parses and its safetensors files are whole.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from typing import Any

from maskkit.runs.files import write_json

MARK = "maskkit-complete.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def complete_checkpoints_callback() -> Any:
    """A TrainerCallback that marks each checkpoint complete after Trainer has saved all of it."""
    from transformers import TrainerCallback

    class CompleteCheckpoints(TrainerCallback):
        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            if state.is_world_process_zero and os.path.isdir(folder):
                write_json(os.path.join(folder, MARK), {"step": state.global_step})

    return CompleteCheckpoints()


def _safetensors_whole(path: str) -> bool:
    """The file's header parses and the file is as long as the header says."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length <= 0 or 8 + length > size:
                return False
            header = json.loads(f.read(length))
        ends = [info["data_offsets"][1] for key, info in header.items() if key != "__metadata__"]
        return 8 + length + max(ends, default=0) == size
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return False


def is_complete(folder: str) -> bool:
    if os.path.isfile(os.path.join(folder, MARK)):
        return True
    try:
        with open(os.path.join(folder, "trainer_state.json"), encoding="utf-8") as f:
            json.load(f)
    except (OSError, ValueError):
        return False
    weights = [n for n in os.listdir(folder) if n.endswith(".safetensors")]
    return bool(weights) and all(_safetensors_whole(os.path.join(folder, n)) for n in weights)


def last_complete_checkpoint(folder: str, log: Any = print, remove: bool = True) -> str | None:
    """The newest complete `checkpoint-N` in `folder` (None if none). Newer incomplete ones are skipped, and
    removed when `remove` (under torchrun only the main process removes them)."""
    if not os.path.isdir(folder):
        return None
    found = sorted(
        ((int(m.group(1)), name) for name in os.listdir(folder) if (m := _CHECKPOINT.match(name))), reverse=True
    )
    for _, name in found:
        path = os.path.join(folder, name)
        if not os.path.isdir(path):
            continue
        if is_complete(path):
            return path
        if remove:
            log(f"note: {path} is incomplete (the job was stopped while saving it): removed, resuming from before it")
            shutil.rmtree(path)
    return None
