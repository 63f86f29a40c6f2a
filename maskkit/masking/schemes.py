"""Named masking schemes: the registered selectors by short name, for the CLI, and the corruption each
scheme uses by default."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
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


SELECTOR_OPTIONS = ("rate", "budget", "max_predictions", "p_geometric", "length_range", "lexicon")
CORRUPTION_OPTIONS = ("mask", "random", "keep", "per")


def selector_from_args(name: str, args: Any) -> Any:
    """Builds a scheme's selector from the options the user gave (unset options keep the defaults)."""
    options: dict[str, Any] = {"rate": args.rate}
    fixed: dict[str, Any] = {}
    if name in ("token", "word", "unit", "span", "ngram"):
        options["budget"] = args.budget
    if name in ("token", "word", "span", "ngram"):
        options["max_predictions"] = args.max_predictions
    if name == "span":
        options["p_geometric"] = args.p_geometric
        options["length_range"] = tuple(args.length_range) if args.length_range else None
    if name == "unit":
        if not args.lexicon:
            raise InputError("the unit scheme needs --lexicon PHRASE [PHRASE ...]")
        fixed = {"column": None, "lexicon": tuple(args.lexicon)}
    return make_selector(name, **{k: v for k, v in options.items() if v is not None}, **fixed)


def corruption_from_args(name: str, args: Any) -> Any:
    """The scheme's corruption from --mask/--random/--keep/--per (span: one fate per span by default)."""
    shares = {k: getattr(args, k) for k in ("mask", "random", "keep") if getattr(args, k, None) is not None}
    return make_corruption(name, **shares, per=args.per)


def masking_from_settings(values: dict[str, Any]) -> tuple[Any, Any]:
    """The selector and corruption a command's settings name: component specs (`selector`, `corruption`
    tables, as a written config.toml holds them) or a `scheme` with its options; an option given beside a
    spec sets that parameter of it."""
    from dataclasses import fields, replace

    from maskkit.registry import from_dict

    def with_options(component: Any, names: tuple[str, ...], what: str) -> Any:
        given = {k: values[k] for k in names if values.get(k) is not None}
        known = {f.name for f in fields(component)}
        wrong = sorted(set(given) - known)
        if wrong:
            raise InputError(f"{what} {type(component).__name__} has no option {', '.join(wrong)}")
        return replace(component, **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})

    scheme = values.get("scheme")
    options = SimpleNamespace(**{k: values.get(k) for k in (*SELECTOR_OPTIONS, *CORRUPTION_OPTIONS)})
    if values.get("selector") and not scheme:
        selector = with_options(from_dict(values["selector"]), SELECTOR_OPTIONS, "the selector")
    else:
        selector = selector_from_args(scheme or "word", options)
    if values.get("corruption") and not scheme:
        corruption = with_options(from_dict(values["corruption"]), CORRUPTION_OPTIONS, "the corruption")
    else:
        corruption = corruption_from_args(scheme or "word", options)
    return selector, corruption
