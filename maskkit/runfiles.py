"""Small files of a run folder (manifests, metrics, configs) written atomically and read back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Writes a text file atomically: a temporary file in the same folder, renamed into place."""
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path: str | os.PathLike[str], value: Any, indent: int = 2) -> None:
    """Writes JSON atomically."""
    write_text(path, json.dumps(value, indent=indent, default=str) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON at `path`, or None when the file does not exist."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@contextmanager
def exclusive(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Holds an exclusive lock on `path` + ".lock" for the block, or refuses at once when another process
    holds it. The lock is the kernel's (flock), so a killed job never leaves it stuck; the lock file is
    removed on release, and a file removed under a waiting process is locked again, never shared. Under
    torchrun the processes of one job are one holder: rank 0 takes the lock."""
    import fcntl

    from maskkit.errors import RunConflict

    if int(os.environ.get("RANK", "0")) != 0:  # one job under torchrun: its main process holds the lock
        yield
        return
    lock = f"{os.fspath(path)}.lock"
    os.makedirs(os.path.dirname(os.path.abspath(lock)), exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunConflict(
                f"{what} {os.fspath(path)!r} is in use by another maskkit job ({holder}); wait for it to finish, "
                "or choose another output"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the file was removed by the job that held it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.unlink(lock)
        os.close(fd)


def setting_differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """`key: old -> new` for each setting that differs (compared as JSON writes them; an absent key is the
    setting's default)."""
    old, new = json.loads(json.dumps(before, default=str)), json.loads(json.dumps(after, default=str))

    def shown(values: dict[str, Any], key: str) -> str:
        return repr(values[key]) if key in values else "(default)"

    keys = sorted(set(old) | set(new))
    return [f"{k}: {shown(old, k)} -> {shown(new, k)}" for k in keys if old.get(k, ...) != new.get(k, ...)]


def claim_folder(folder: str | os.PathLike[str], settings: dict[str, Any], what: str = "run") -> None:
    """Records the settings a run folder is for (`started.json`), or refuses a folder that holds a run with
    other settings: resuming it would mix two runs' checkpoints, and skipping it would relabel a result."""
    from maskkit.errors import RunConflict

    marker = os.path.join(folder, "started.json")
    found = read_json(marker)
    if found is not None:
        changed = setting_differences(found.get("settings", {}), settings)
        if changed:
            raise RunConflict(
                f"{os.fspath(folder)!r} holds a {what} with other settings ({'; '.join(changed)}): use another "
                "folder, or remove it to run again"
            )
        return
    os.makedirs(folder, exist_ok=True)
    write_json(marker, {"settings": settings})
