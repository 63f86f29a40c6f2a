"""Named masking schemes: one place that lists every selector, for the CLI and for contract tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maskkit.masking.selectors import (
    ScoredSelector,
    SpanSelector,
    TokenSelector,
    UnitSelector,
    WholeWordSelector,
)

SCHEMES: dict[str, Callable[..., Any]] = {
    "token": TokenSelector,
    "word": WholeWordSelector,
    "span": SpanSelector,
    "unit": UnitSelector,
    "scored": ScoredSelector,
}


def make_selector(name: str, **params: Any) -> Any:
    """Builds a named scheme's selector with the given parameters."""
    if name not in SCHEMES:
        raise ValueError(f"unknown masking scheme {name!r}; choose one of {', '.join(SCHEMES)}")
    return SCHEMES[name](**params)
