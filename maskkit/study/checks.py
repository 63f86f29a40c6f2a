"""Checks of a study file's values: each of the kind its key takes, no unknown key (named with the
nearest known one), seeds as whole numbers in range."""

from __future__ import annotations

from typing import Any

from maskkit.errors import InputError
from maskkit.training.settings import check_seed

KINDS: dict[str, tuple[type | tuple[type, ...], str]] = {"text": (str, "a text"), "count": (int, "a whole number >= 0"),
                                      "list": (list, "a list"), "table": (dict, "a table"),
                                      "number": ((int, float), "a number")}  # fmt: skip


def seed_list(values: Any, where: str) -> tuple[int, ...]:
    """A list of different seeds, each a whole number in range (never a boolean, a float or a text)."""
    check_type(values, "list", where)
    seeds = [check_seed(s, f"{where}[{i}]") for i, s in enumerate(values)]
    if len(set(seeds)) != len(seeds):
        raise InputError(f"{where} must differ, got {seeds}")
    return tuple(seeds)


def check_type(value: Any, kind: str, where: str) -> None:
    """A study file's value of the kind its key takes (a boolean is never a number): else an InputError."""
    python, said = KINDS[kind]
    negative = kind == "count" and isinstance(value, int) and value < 0
    wrong = isinstance(value, bool) or not isinstance(value, python) or negative
    if wrong:
        raise InputError(f"{where} must be {said}, got {value!r}")


def unknown_keys(values: dict[str, Any], known: Any, where: str) -> None:
    """Refuses a key not in `known`, naming it and the nearest known key."""
    import difflib

    for key in values:
        if key not in known:
            near = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InputError(f"{where}: unknown key {key!r}{hint}; known keys: {sorted(known)}")
