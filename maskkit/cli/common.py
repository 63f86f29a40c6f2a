"""Options shared by subcommands: the tokenizer/model path and the masking scheme's parameters."""

from __future__ import annotations

import argparse
from typing import Any

from maskkit.errors import InputError
from maskkit.finetune.loading import resolve_model_dir
from maskkit.masking.schemes import SCHEMES, make_corruption, make_selector


def load_tokenizer(path: str | None) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_dir(path))


def add_scheme_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("masking scheme")
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
    group.add_argument("--mask", type=float, default=0.8, help="share of targets replaced by [MASK]")
    group.add_argument("--random", type=float, default=0.1, help="share of targets replaced by a random token")
    group.add_argument("--keep", type=float, default=0.1, help="share of targets left unchanged")
    group.add_argument(
        "--per",
        choices=["token", "unit"],
        help="one 80/10/10 fate per token, or per unit (a whole word, or a whole span as in SpanBERT); "
        "default: unit for span, token otherwise",
    )
    group.add_argument("--seed", type=int, default=0, help="seed of the masks (and of the run; default 0)")


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
    return make_corruption(name, args.mask, args.random, args.keep, args.per)


SCHEME_NAMES = [name for name in SCHEMES if name != "scored"]
