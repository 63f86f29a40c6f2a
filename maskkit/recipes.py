"""Named recipes: settings left unset (None) take a recipe's values, and an explicit setting that differs
from the recipe is reported, never mixed in silently. The selective-masking pipeline
(`maskkit.selective.recipes`) and distillation (`maskkit.distill.trainer.DISTILL_RECIPES`) use this."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from maskkit.errors import InputError


def fill_from(
    values: Mapping[str, Any], sources: Sequence[tuple[Mapping[str, Any], str]]
) -> tuple[dict[str, Any], list[str]]:
    """Fills unset (None) settings from each (recipe, its name) in turn; returns the filled settings and one
    line per explicit setting that differs from a recipe's value ("lr: 1e-05 (recipe official) -> 5e-05")."""
    filled, overrides = dict(values), []
    for source, name in sources:
        for key, value in source.items():
            if filled.get(key) is None:
                filled[key] = value
            elif filled[key] != value:
                overrides.append(f"{key}: {value} ({name}) -> {filled[key]}")
    return filled, overrides


def check_name(name: str, known: Mapping[str, Any], what: str) -> None:
    if name not in known:
        raise InputError(f"{what} must be one of {list(known)}, got {name!r}")
