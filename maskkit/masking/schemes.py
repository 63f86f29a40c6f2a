"""Named masking schemes: one place that lists every selector, for the CLI and for contract tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maskkit.errors import InputError
from maskkit.masking.selectors import (
    ScoredSelector,
    SpanSelector,
    TokenSelector,
    UnitSelector,
    WholeWordSelector,
)


def NgramSelector(**params: Any) -> SpanSelector:
    """MacBERT's n-gram masking: spans of 1 to 4 whole words chosen with probabilities 0.4/0.3/0.2/0.1."""
    return SpanSelector(length_weights=MACBERT_NGRAM_WEIGHTS, **params)


MACBERT_NGRAM_WEIGHTS = (0.4, 0.3, 0.2, 0.1)

SCHEMES: dict[str, Callable[..., Any]] = {
    "token": TokenSelector,
    "word": WholeWordSelector,
    "span": SpanSelector,
    "ngram": NgramSelector,
    "unit": UnitSelector,
    "scored": ScoredSelector,
}


# A scheme's default fate unit: SpanBERT draws one fate per (merged) span (`--replacement-method span`)
DEFAULT_PER = {"span": "unit"}


def make_corruption(
    name: str, mask: float = 0.8, random: float = 0.1, keep: float = 0.1, per: str | None = None
) -> Any:
    """The corruption a named scheme uses: 80/10/10 per token, or per unit where the scheme's paper draws
    one fate per unit (span: per span); `per` overrides."""
    from maskkit.masking.corruption import MaskRandomKeep

    return MaskRandomKeep(mask, random, keep, per=per or DEFAULT_PER.get(name, "token"))


def make_selector(name: str, **params: Any) -> Any:
    """Builds a named scheme's selector with the given parameters."""
    if name not in SCHEMES:
        raise InputError(f"unknown masking scheme {name!r}; choose one of {', '.join(SCHEMES)}")
    return SCHEMES[name](**params)
