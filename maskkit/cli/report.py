"""`maskkit report RUN_DIR...`: mean +/- sd per configuration over seeds, as markdown and a PNG plot."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("report", help="mean +/- sd over seeds per configuration: markdown table and plot")
    parser.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run folders holding seed-N/metrics.json (one row each)"
    )
    parser.add_argument("--out", help="also write the markdown table to this file")
    parser.add_argument("--plot", help="write a PNG bar plot (test macro-F1, else dev) to this file")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from maskkit.runs.files import write_text
    from maskkit.runs.report import collect_runs, markdown_table, plot

    groups = collect_runs(args.run_dirs)
    table = markdown_table(groups)
    print(table)
    if args.out:
        write_text(args.out, table + "\n")
    if args.plot:
        plot(groups, args.plot)
        print(f"plot: {args.plot}")
    return 0
