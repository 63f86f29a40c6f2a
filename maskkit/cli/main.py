"""The `maskkit` command: subcommands are thin wrappers over the public API."""

from __future__ import annotations

import argparse
import os
import sys

from maskkit.cli import augment, demo, preview, report, selective, train
from maskkit.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maskkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    preview.add_parser(sub)
    demo.add_parser(sub)
    augment.add_parser(sub)
    train.add_parsers(sub)
    report.add_parser(sub)
    selective.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as error:  # the user's to fix: one clear line; anything else is a bug and keeps its traceback
        print(f"maskkit {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
