"""Run configuration for training commands: a TOML file whose keys are the config's fields, overridden
by command-line flags generated from the same dataclass fields, and written back into the run folder."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from typing import Any

from maskkit.cli.settings_help import setting_help
from maskkit.errors import InputError
from maskkit.runs.toml import load_toml, toml_value, write_toml  # noqa: F401 (the CLI's readers)

SCALARS = {"int": int, "float": float, "str": str}


def add_config_options(parser: argparse.ArgumentParser, config_class: type, skip: Iterable[str] = ()) -> list[str]:
    """Adds a `--field-name` flag per dataclass field (default None: the TOML file or the field's default)."""
    group = parser.add_argument_group(f"{config_class.__name__} (also settable as keys of the --config file)")
    names = []
    for field in dataclasses.fields(config_class):
        if field.name in skip or not field.init:
            continue
        kind = str(field.type).replace(" | None", "")
        flag = "--" + field.name.replace("_", "-")
        default = None if field.default is dataclasses.MISSING else field.default
        if isinstance(default, tuple):
            default = " ".join(map(str, default)) or None
        text = setting_help(field.name, default)
        if field.name == "precision":  # transformers' --bf16 / --fp16 spellings too
            group.add_argument(flag, default=None, metavar="STR", help=text)
            for short in ("bf16", "fp16"):
                group.add_argument(f"--{short}", dest="precision", action="store_const", const=short,
                                   help=f"the same as --precision {short} (TrainingArguments' --{short})")  # fmt: skip
        elif kind == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif kind in SCALARS:
            group.add_argument(flag, type=SCALARS[kind], default=None, metavar=kind.upper(), help=text)
        elif kind.startswith(("tuple[int", "tuple[float")):
            item = int if kind.startswith("tuple[int") else float
            group.add_argument(flag, type=item, nargs="*", default=None, metavar=item.__name__.upper(), help=text)
        else:
            continue
        names.append(field.name)
    return names


def field_types(*config_classes: type) -> dict[str, str]:
    """Each dataclass field's type as written ("int", "float | None", "tuple[int, ...]")."""
    return {f.name: str(f.type) for cls in config_classes for f in dataclasses.fields(cls)}


_DESCRIBED = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "true or false",
    "table": 'a table (a component spec: {"@component" = "maskkit.span.v1", ...})',
}


def checked_value(key: str, value: Any, kind: str, where: str) -> Any:
    """`value` if it is of the setting's type (an integer is a valid float), else an error naming the key."""
    optional = kind.endswith(" | None")
    base = kind.removesuffix(" | None")
    if value is None and optional:
        return None
    item = base[base.index("[") + 1 :].split(",")[0].rstrip("]").strip() if "[" in base else None

    def fits(v: Any, k: str) -> bool:
        if k == "bool":
            return isinstance(v, bool)
        if k == "int":
            return isinstance(v, int) and not isinstance(v, bool)
        if k == "float":
            return isinstance(v, (int, float)) and not isinstance(v, bool)
        if k == "table":
            return isinstance(v, dict)
        return isinstance(v, str) if k == "str" else True

    if item is not None:
        if isinstance(value, list) and all(fits(v, item) for v in value):
            return [float(v) if item == "float" else v for v in value]
        wanted = f"a list of {_DESCRIBED.get(item, item)}s".replace("an integers", "integers")
    else:
        if fits(value, base):
            return float(value) if base == "float" else value
        wanted = _DESCRIBED.get(base, base)
    raise InputError(f"{where}: key {key!r} must be {wanted}, got {value!r} ({type(value).__name__})")


def merged(
    args: argparse.Namespace, names: Iterable[str], file_values: dict[str, Any], known: dict[str, str],
    types: dict[str, str] | None = None, where: str = "config file",
) -> dict[str, Any]:  # fmt: skip
    """File values (each checked against its setting's type) overridden by the flags the user gave;
    unknown file keys are an error. `known`: the data keys beside the config fields, with their types."""
    kinds = {**(types or {}), **known}
    allowed = set(names) | set(known)
    unknown = sorted(set(file_values) - allowed)
    if unknown:
        raise InputError(f"unknown config keys {unknown}; known keys: {sorted(allowed)}")
    values = {k: checked_value(k, v, kinds.get(k, "any"), where) for k, v in file_values.items()}
    for name in allowed:
        given = getattr(args, name, None)
        if given is not None:
            values[name] = given
    return values


def build(config_class: type, values: dict[str, Any], **fixed: Any) -> Any:
    fields = {f.name for f in dataclasses.fields(config_class)}
    chosen = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in fields}
    return config_class(**{**chosen, **fixed})
