"""Small files of a run folder (manifests, metrics, configs) written atomically and read back."""

from __future__ import annotations

import json
import os
from typing import Any


def write_json(path: str | os.PathLike[str], value: Any, indent: int = 2) -> None:
    """Writes JSON atomically: a temporary file in the same folder, renamed into place."""
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=indent, default=str)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON at `path`, or None when the file does not exist."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)
