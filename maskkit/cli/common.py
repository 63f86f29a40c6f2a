"""Options shared by subcommands: the tokenizer/model path and the masking scheme's parameters."""

from __future__ import annotations

import argparse
from typing import Any

from maskkit.masking.schemes import (  # noqa: F401  (the commands import these from here)
    SCHEMES,
    corruption_from_args,
    masking_from_settings,
    selector_from_args,
)
from maskkit.runs.models import resolve_model_dir


def load_tokenizer(path: str | None) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_dir(path))


# The scheme options as keys of a --config file (pretrain), with their types; `selector` and `corruption`
# are component specs (maskkit.registry) that name any registered component.
SCHEME_KEYS = {"scheme": "str", "rate": "float", "budget": "str", "max_predictions": "int", "p_geometric": "float",
               "length_range": "list[int]", "lexicon": "list[str]", "mask": "float", "random": "float",
               "keep": "float", "per": "str", "selector": "table", "corruption": "table"}  # fmt: skip


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


SCHEME_NAMES = [name for name in SCHEMES if name != "scored"]
