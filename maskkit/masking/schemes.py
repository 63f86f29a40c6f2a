"""Named masking schemes: the registered selectors by short name, for the CLI, and the corruption each
scheme uses by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from maskkit.errors import InputError
from maskkit.masking import selectors
from maskkit.masking.selectors import SpanSelector
from maskkit.registry import REGISTRY, register


@register("maskkit.ngram.v1", "selector", short="ngram")
def NgramSelector(**params: Any) -> SpanSelector:
    """MacBERT's n-gram masking: spans of 1 to 4 whole words chosen with probabilities 0.4/0.3/0.2/0.1."""
    return SpanSelector(length_weights=MACBERT_NGRAM_WEIGHTS, **params)


MACBERT_NGRAM_WEIGHTS = (0.4, 0.3, 0.2, 0.1)

# The schemes by short name (the CLI's --scheme), from the registry: every selector registered here or in
# maskkit.masking.selectors (the combinator OneOfSelectors takes selectors, not options, so it is not a scheme).
SCHEMES: dict[str, Callable[..., Any]] = {
    e.short: e.build for e in REGISTRY.values()
    if e.kind == "selector" and e.short and e.build.__module__ in (selectors.__name__, __name__)
}  # fmt: skip


# A scheme's default fate unit: SpanBERT draws one fate per (merged) span (`--replacement-method span`)
DEFAULT_PER = {"span": "unit"}


def make_corruption(
    name: str, mask: float = 0.8, random: float = 0.1, keep: float = 0.1, per: str | None = None
) -> Any:  # the BERT shares unless given
    """The corruption a named scheme uses: 80/10/10 per token, or per unit where the scheme's paper draws
    one fate per unit (span: per span); `per` overrides."""
    from maskkit.masking.corruption import MaskRandomKeep

    return MaskRandomKeep(mask, random, keep, per=per or DEFAULT_PER.get(name, "token"))


def make_selector(name: str, **params: Any) -> Any:
    """Builds a named scheme's selector with the given parameters."""
    if name not in SCHEMES:
        raise InputError(f"unknown masking scheme {name!r}; choose one of {', '.join(SCHEMES)}")
    return SCHEMES[name](**params)
