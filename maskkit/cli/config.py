"""Run configuration for training commands: a TOML file whose keys are the config's fields, overridden
by command-line flags generated from the same dataclass fields, and written back into the run folder."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tomllib
from collections.abc import Iterable
from typing import Any

SCALARS = {"int": int, "float": float, "str": str}


def add_config_options(parser: argparse.ArgumentParser, config_class: type, skip: Iterable[str] = ()) -> list[str]:
    """Adds a `--field-name` flag per dataclass field (default None: the TOML file or the field's default)."""
    group = parser.add_argument_group(f"{config_class.__name__} (also settable as keys of the --config file)")
    names = []
    for field in dataclasses.fields(config_class):
        if field.name in skip:
            continue
        kind = str(field.type).replace(" | None", "")
        flag = "--" + field.name.replace("_", "-")
        if kind == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif kind in SCALARS:
            group.add_argument(flag, type=SCALARS[kind], default=None, metavar=kind.upper())
        elif kind.startswith(("tuple[int", "tuple[float")):
            item = int if kind.startswith("tuple[int") else float
            group.add_argument(flag, type=item, nargs="*", default=None, metavar=item.__name__.upper())
        else:
            continue
        names.append(field.name)
    return names


def load_toml(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file {path!r} does not exist")
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"config file {path}: {error}") from error


def merged(
    args: argparse.Namespace, names: Iterable[str], file_values: dict[str, Any], known: Iterable[str]
) -> dict[str, Any]:
    """File values overridden by the flags the user gave; unknown file keys are an error."""
    allowed = set(names) | set(known)
    unknown = sorted(set(file_values) - allowed)
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known keys: {sorted(allowed)}")
    values = dict(file_values)
    for name in allowed:
        given = getattr(args, name, None)
        if given is not None:
            values[name] = given
    return values


def build(config_class: type, values: dict[str, Any], **fixed: Any) -> Any:
    fields = {f.name for f in dataclasses.fields(config_class)}
    chosen = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in fields}
    return config_class(**{**chosen, **fixed})


def write_toml(path: str, values: dict[str, Any]) -> None:
    """Writes flat settings as TOML (None left out) atomically, so the run can be repeated with --config."""
    lines = []
    for key, value in sorted(values.items()):
        if value is None or isinstance(value, dict):
            continue
        lines.append(f"{key} = {json.dumps(list(value) if isinstance(value, tuple) else value)}")
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
