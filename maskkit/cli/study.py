"""`maskkit study run CONFIG.toml` and `maskkit study report RUN_DIR`: ablations over seeds with paired
statistics (see `maskkit.study.config` for the file). Several `study run` processes on one study share
its work (each claims unfinished runs); a killed run resumes."""

from __future__ import annotations

import argparse
import os
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "study", help="ablations of recipes over seeds, with paired statistics", description=__doc__
    )
    parser.add_argument("action", choices=["run", "report", "plan"], help="run (or resume) the study; report it; "
                        "plan: list its runs without running them")  # fmt: skip
    parser.add_argument("config", metavar="CONFIG", help="the study's TOML file (report: or its run folder)")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress lines")
    parser.add_argument(
        "--pilot",
        action="store_true",
        help="plan: project the pre-training runs x seeds each "
        "primary comparison needs, from the study's finished runs (a pilot), and their hours",
    )
    parser.add_argument("--target-mde", type=float, help="plan --pilot: the minimum detectable effect to reach, "
                        "in points (default: the study's margin)")  # fmt: skip
    parser.set_defaults(run=run)


def load(path: str, progress: bool = True) -> Any:
    from maskkit.errors import MissingFile
    from maskkit.study.config import StudyConfig
    from maskkit.study.plan import Study

    if os.path.isdir(path):
        path = os.path.join(path, "study.toml")
    if not os.path.isfile(path):
        raise MissingFile(f"no study file {path!r}")
    study = Study(StudyConfig.from_toml(path), progress=progress)
    study.sync_record()  # a new checkout reports (and resumes) the runs its record holds
    return study


def run(args: argparse.Namespace) -> int:
    from maskkit.study.report import write_report

    study = load(args.config, args.progress)
    if args.action == "plan":
        for arm, units in study.plan.arms.items():
            print(f"{arm}: {len(units.runs)} runs, {len(units.cost)} stages (" + ", ".join(sorted(units.cost)) + ")")
        for arm, names in study.plan.waiting.items():
            print(f"{arm}: chosen on dev once these have run: {', '.join(names)}")
        print(f"{len(study.stages)} stages in all, {sum(study.done(n) for n in study.stages)} done")
        if args.pilot:
            from maskkit.study.pilot import pilot_lines

            print("\n".join(pilot_lines(study, args.target_mde)))
        return 0
    from maskkit.study.registration import check_registration, register_family

    check_registration(study.config)
    if args.action == "run":
        from maskkit.cli.config import load_toml, write_toml

        os.makedirs(study.config.run_dir, exist_ok=True)
        if study.job.main:
            register_family(study.config, sum(study.done(n) for n in study.stages if n.startswith("finetune/")))
        if not os.path.isdir(args.config):
            write_toml(os.path.join(study.config.run_dir, "study.toml"), load_toml(args.config))
        study.run_all()
    if study.job.main:  # under torchrun the main process reports for the job
        print(write_report(study))
        print(
            f"\nwritten: {os.path.join(study.config.run_dir, 'report.md')} (.csv, -comparisons.csv, .png, -forest.png)"
        )
    return 0
