"""Options shared by subcommands: the tokenizer/model path and the masking scheme's parameters."""

from __future__ import annotations

import argparse
from typing import Any

from maskkit.errors import InputError
from maskkit.masking.schemes import SCHEMES, make_corruption, make_selector
from maskkit.runs.models import resolve_model_dir


def load_tokenizer(path: str | None) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_dir(path))


# The scheme options as keys of a --config file (pretrain), with their types; `selector` and `corruption`
# are component specs (maskkit.registry) that name any registered component.
SCHEME_KEYS = {"scheme": "str", "rate": "float", "budget": "str", "max_predictions": "int", "p_geometric": "float",
               "length_range": "list[int]", "lexicon": "list[str]", "mask": "float", "random": "float",
               "keep": "float", "per": "str", "selector": "table", "corruption": "table"}  # fmt: skip
SELECTOR_OPTIONS = ("rate", "budget", "max_predictions", "p_geometric", "length_range", "lexicon")
CORRUPTION_OPTIONS = ("mask", "random", "keep", "per")


def add_scheme_options(parser: argparse.ArgumentParser, seed_default: int | None = 0) -> None:
    group = parser.add_argument_group("masking scheme (also keys of a --config file)")
    group.add_argument("--rate", type=float, help="fraction of candidate units to mask (default 0.15)")
    group.add_argument(
        "--budget",
        choices=["exact", "bernoulli", "bert", "spanbert"],
        help="how many units an example gets: exact (default; rate x n probabilistically rounded, as fairseq), "
        "bernoulli (each unit alone, as transformers), bert (round, at least 1, [CLS]/[SEP] counted), "
        "spanbert (ceil)",
    )
    group.add_argument(
        "--max-predictions",
        type=int,
        help="token/word/span: at most this many units per example (BERT's max_predictions_per_seq: 20 at 128)",
    )
    group.add_argument("--p-geometric", type=float, help="span: geometric parameter (default 0.2)")
    group.add_argument("--length-range", type=int, nargs=2, metavar=("LOW", "HIGH"), help="span: words (default 1 10)")
    group.add_argument("--lexicon", nargs="+", metavar="PHRASE", help="unit: phrases masked whole")
    group.add_argument("--mask", type=float, help="share of targets replaced by [MASK] (default 0.8, as BERT)")
    group.add_argument("--random", type=float, help="share of targets replaced by a random token (default 0.1)")
    group.add_argument("--keep", type=float, help="share of targets left unchanged (default 0.1)")
    group.add_argument(
        "--per",
        choices=["token", "unit"],
        help="one 80/10/10 fate per token, or per unit (a whole word, or a whole span as in SpanBERT); "
        "default: unit for span, token otherwise",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=None if seed_default is None else seed_default,
        help=f"seed of the masks (and of the run; default {42 if seed_default is None else seed_default})",
    )


def selector_from_args(name: str, args: argparse.Namespace) -> Any:
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


def corruption_from_args(name: str, args: argparse.Namespace) -> Any:
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
    options = argparse.Namespace(**{k: values.get(k) for k in (*SELECTOR_OPTIONS, *CORRUPTION_OPTIONS)})
    if values.get("selector") and not scheme:
        selector = with_options(from_dict(values["selector"]), SELECTOR_OPTIONS, "the selector")
    else:
        selector = selector_from_args(scheme or "word", options)
    if values.get("corruption") and not scheme:
        corruption = with_options(from_dict(values["corruption"]), CORRUPTION_OPTIONS, "the corruption")
    else:
        corruption = corruption_from_args(scheme or "word", options)
    return selector, corruption


SCHEME_NAMES = [name for name in SCHEMES if name != "scored"]
