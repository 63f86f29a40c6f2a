"""Settings files: TOML read with one clear error (file, line, column) and written so that they read back
to the same values (None inside a table marked, non-finite floats as TOML's inf/nan, text unescaped)."""

from __future__ import annotations

import json
import math
import os
import tomllib
from typing import Any

from maskkit.errors import InputError, MissingFile
from maskkit.runs.files import write_text


def load_toml(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    if not os.path.isfile(path):
        raise MissingFile(f"config file {path!r} does not exist")
    with open(path, "rb") as f:
        try:
            return without_none_marks(tomllib.load(f))
        except tomllib.TOMLDecodeError as error:
            raise InputError(f"config file {path}: {error}") from error


def without_none_marks(value: Any) -> Any:
    """TOML as read, with each {"@none" = true} (how `write_toml` writes a None inside a table) as None."""
    if isinstance(value, dict):
        return None if set(value) == {"@none"} else {k: without_none_marks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_none_marks(v) for v in value]
    return value


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes for quotes, backslashes and control characters (which TOML
    shares), every other character as it is (JSON's surrogate-pair escapes are not TOML), DEL escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def toml_key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) else toml_string(key)


def toml_value(value: Any) -> str:
    """A TOML value: JSON's scalars and lists, tables inline (component specs nest). TOML has no null: a
    None inside a table is written as the table {"@none" = true}, which `maskkit.registry` reads as None."""
    if value is None:
        return '{ "@none" = true }'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")  # TOML's own spellings
    if isinstance(value, str):
        return toml_string(value)
    return json.dumps(value)


def write_toml(path: str, values: dict[str, Any]) -> None:
    """Writes settings as TOML (None left out) atomically, so the run can be repeated with --config."""
    lines = [f"{toml_key(key)} = {toml_value(value)}" for key, value in sorted(values.items()) if value is not None]
    write_text(path, "\n".join(lines) + "\n")
