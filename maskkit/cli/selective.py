"""`maskkit selective run` (every stage) and `maskkit selective STAGE` (one stage): the selective-masking
pipeline over a run folder, configured by a TOML file (`--config`) with flags overriding its keys."""

from __future__ import annotations

import argparse
import os
from typing import Any

from maskkit.cli.config import add_config_options, field_types, load_toml, merged, write_toml
from maskkit.selective.stages import STAGE_NAMES as STAGES


def add_parser(sub: Any) -> None:
    from maskkit.selective.config import SelectiveConfig

    parser = sub.add_parser(
        "selective", help="the selective-masking pipeline (Gu et al. 2020): run every stage, or one",
        description=__doc__,
    )  # fmt: skip
    parser.add_argument("stage", choices=["run", *STAGES], help="run: every stage in order; or one stage")
    parser.add_argument("--config", help="TOML file of settings (keys: the options below without dashes)")
    names = add_config_options(parser, SelectiveConfig)
    parser.set_defaults(run=run, names=names)


def run(args: argparse.Namespace) -> int:
    from maskkit.selective.config import SelectiveConfig
    from maskkit.selective.pipeline import run_pipeline

    values = merged(args, args.names, load_toml(args.config), {}, field_types(SelectiveConfig), args.config)
    config = SelectiveConfig.from_dict(values)
    os.makedirs(config.run_dir, exist_ok=True)
    write_toml(os.path.join(config.run_dir, "config.toml"), {k: v for k, v in values.items() if v is not None})
    figures = run_pipeline(config, STAGES if args.stage == "run" else [args.stage])
    if "finetune" in figures:
        print("\nfine-tuned accuracy and macro-F1 (mean ± sd over seeds, %) after no further pre-training, the "
              "random-masking control, and selective masking:")  # fmt: skip
        print(figures["finetune"]["table"])
    return 0
