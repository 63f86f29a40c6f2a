"""`maskkit pmi TEXTS... OUT`: a PMI-Masking vocabulary of the user's corpus, written as a lexicon file."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "pmi", help="build a PMI-Masking vocabulary (collocations of 2-5 words) from text files",
        description="Ranks the corpus's n-grams by PMI_n (Levine et al. 2021) and writes the best as a lexicon "
        "file, one phrase per line, for FindUnits(kind='lexicon') and UnitSelector.",
    )  # fmt: skip
    parser.add_argument("texts", nargs="+", metavar="TEXTS", help="text files, one text per line")
    parser.add_argument(
        "output", metavar="OUT", help="the lexicon file to write (never one of TEXTS; one that exists: --overwrite)"
    )
    parser.add_argument("--max-n", type=int, default=5, help="longest n-gram, in words (the paper: 5; default 5)")
    parser.add_argument("--min-count", type=int, default=10, help="occurrences an n-gram needs (default 10)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT when it is a lexicon maskkit wrote")
    parser.add_argument("--size", type=int, default=10_000, help="phrases in the vocabulary (default 10000)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from maskkit.cli.train import read_lines
    from maskkit.pmi import is_maskkit_lexicon, pmi_vocabulary, write_lexicon
    from maskkit.runs.files import check_output

    check_output(args.output, args.overwrite, inputs=args.texts, recognise=is_maskkit_lexicon, what="OUT")
    texts = [line for path in args.texts for line in read_lines(path)]
    vocabulary = pmi_vocabulary(texts, args.max_n, args.min_count, args.size)
    write_lexicon(args.output, vocabulary)
    print(f"maskkit pmi: {len(vocabulary)} phrases from {len(texts)} texts -> {args.output}")
    for phrase, score in vocabulary[:5]:
        print(f"  {score:6.2f}  {phrase}")
    return 0
