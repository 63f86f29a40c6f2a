"""Small files of a run folder (manifests, metrics, configs) written atomically and read back."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any


def remove(path: str | os.PathLike[str]) -> None:
    """Removes a file or a folder, if there is one."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[str]:
    """The one way maskkit writes an output: the block writes a file or a folder at the temporary path it is
    given (beside `path`, so the rename stays on one file system), which replaces `path` when the block
    ends and is removed when it raises. A reader never sees a half-written output, and a job killed in the
    block leaves only a `.tmp<pid>` beside it. `suffix` keeps an extension that a writer reads the format
    from (matplotlib's `.png`)."""
    final = os.fspath(path)
    tmp = f"{final}.tmp{os.getpid()}{suffix}"
    remove(tmp)
    try:
        yield tmp
    except BaseException:
        remove(tmp)
        raise
    if os.path.isdir(tmp) and os.path.exists(final):
        remove(final)  # os.replace cannot put a folder over a non-empty folder
    os.replace(tmp, final)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Writes a text file atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def write_json(path: str | os.PathLike[str], value: Any, indent: int = 2) -> None:
    """Writes JSON atomically."""
    write_text(path, json.dumps(value, indent=indent, default=str) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON at `path`, or None when the file does not exist."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def not_utf8(path: str | os.PathLike[str], what: str = "") -> Exception:
    """The error for a file that is not UTF-8 text, naming its first bad line and byte (read again in
    binary, so the line is exact whatever block the decoder failed in)."""
    from maskkit.errors import InputError

    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return InputError(
                    f"{what}{os.fspath(path)}, line {number}, byte {error.start + 1}: not UTF-8 text ({error.reason}); "
                    "save it as UTF-8 (e.g. iconv -f cp1252 -t utf-8)"
                )
    return InputError(f"{what}{os.fspath(path)}: not UTF-8 text")


def read_text_lines(path: str | os.PathLike[str], what: str = "") -> list[str]:
    """A UTF-8 text file's lines without their line ends; text that is not UTF-8 is an InputError naming
    the line (never a UnicodeDecodeError from deep inside)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise not_utf8(path, what) from None
    lines = text.split("\n")  # "\n" and "\r\n" end a line; a bare "\r", a form feed or U+2028 do not
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def distributed_follower() -> bool:
    """A process of a torchrun job other than its first (RANK > 0 with WORLD_SIZE > 1, as torchrun sets
    both); a stray RANK in a plain shell is not a job."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1 and int(os.environ.get("RANK", "0")) != 0
    except ValueError:
        return False


@contextmanager
def exclusive(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Holds an exclusive lock on `path` + ".lock" for the block, or refuses at once when another process
    holds it. The lock is the kernel's (flock), so a killed job never leaves it stuck; the lock file is
    removed on release, and a file removed under a waiting process is locked again, never shared. Under
    torchrun the processes of one job are one holder: rank 0 takes the lock."""
    import fcntl

    from maskkit.errors import RunConflict

    if distributed_follower():  # one job under torchrun: its main process holds the lock
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


NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}"  # one safe path component: letters, digits, . _ + -


def check_folder_name(name: object, what: str, taken: Sequence[str] = ()) -> str:
    """The one path rule for names that become folders (study arms, stages): one safe path component
    (NAME_PATTERN: no separator, no leading dot, no '@', which names a curve point), and different from
    every name in `taken` also on a file system that ignores case."""
    import re

    from maskkit.errors import InputError, WrongType

    if not isinstance(name, str):
        raise WrongType(f"{what} must be a text, got {name!r}")
    if not re.fullmatch(NAME_PATTERN, name):
        raise InputError(
            f"{what} {name!r} must be one folder name: a letter or digit, then letters, digits, '.', '_', '+' or "
            "'-' (at most 100; no '/', no '@', which names a curve point)"
        )
    if name == "plain" or name.endswith("-teacher"):  # the names of a study's own fine-tuning runs
        raise InputError(f"{what} {name!r} is reserved (a study's plain and teacher runs are named so)")
    clash = [other for other in taken if other.casefold() == name.casefold()]
    if clash:
        raise InputError(f"{what} {name!r} is the same folder as {clash[0]!r}: give every one a different name")
    return name


OUTPUT_MARKER = ".maskkit-output"  # inside every output folder maskkit writes: `--overwrite` may replace it


def mark_output(folder: str | os.PathLike[str], what: str) -> None:
    """Marks `folder` as an output maskkit wrote, so that a later `--overwrite` may replace it."""
    write_text(os.path.join(folder, OUTPUT_MARKER), f"written by maskkit ({what}); --overwrite may replace it\n")


def written_by_maskkit(path: str | os.PathLike[str], recognise: Callable[[str], bool] | None = None) -> bool:
    """True for a folder holding maskkit's output marker, or a file that `recognise` says maskkit wrote (a
    table with maskkit's provenance columns, a lexicon with maskkit's first line)."""
    path = os.fspath(path)
    if os.path.isdir(path) and not os.path.islink(path):
        return os.path.isfile(os.path.join(path, OUTPUT_MARKER))
    if os.path.isfile(path) and not os.path.islink(path) and recognise is not None:
        try:
            return recognise(path)
        except (OSError, UnicodeDecodeError, ValueError, csv.Error):
            return False
    return False


def check_output(
    path: str | os.PathLike[str],
    overwrite: bool,
    inputs: Sequence[str | os.PathLike[str]] = (),
    recognise: Callable[[str], bool] | None = None,
    what: str = "the output",
) -> None:
    """The one output-ownership rule of every command that writes a named output: OUT must name a file or
    folder, is never one of the inputs, and when it exists it is replaced only with `--overwrite` and only
    when maskkit wrote it (`written_by_maskkit`); a file or folder of the user's is never replaced."""
    from maskkit.errors import InputError, RunConflict

    name = os.fspath(path)
    if os.path.basename(os.path.normpath(name)) in ("", ".", "..") or name.endswith(os.sep):
        raise InputError(f"{what} {name!r} must name a file or folder to write, not an existing folder of yours")
    for source in inputs:
        same = os.path.abspath(os.fspath(source)) == os.path.abspath(name)
        if not same and os.path.exists(source) and os.path.exists(name):
            same = os.path.samefile(source, name)
        if same:
            raise InputError(f"{what} {name!r} is also an input: choose another output")
        out, inside = os.path.realpath(name), os.path.realpath(os.fspath(source))
        if os.path.isdir(out) and os.path.commonpath([out, inside]) == out:
            raise InputError(f"the input {os.fspath(source)!r} is inside {what} {name!r}: choose another output")
    if not os.path.lexists(name):
        return
    if not written_by_maskkit(name, recognise):
        kind = "folder" if os.path.isdir(name) else "file"
        raise RunConflict(
            f"{what} {name!r} exists and is a {kind} maskkit did not write: maskkit never replaces it, even with "
            "--overwrite; choose another output or move it away yourself"
        )
    if not overwrite:
        raise RunConflict(f"{name!r} exists: pass --overwrite to replace it")


def setting_differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """`key: old -> new` for each setting that differs (compared as JSON writes them; an absent key is the
    setting's default; inside a table, such as a component spec, by dotted key: `selector.rate`)."""

    def flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in values.items():
            if isinstance(value, dict) and value:
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = value
        return out

    old = flat(json.loads(json.dumps(before, default=str)))
    new = flat(json.loads(json.dumps(after, default=str)))

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
