"""The selective-masking pipeline (Gu et al. 2020) on movie reviews: MR as the task, the 64k unlabelled
movie-review sentences as in-domain text, MiniLM as the model; prints the comparison table.

    .venv/bin/python examples/selective_masking.py [--seeds 1 2 3] [--pretrain-steps 300] [--run-dir ...]

Small by default so it finishes on a laptop CPU; raise the sizes for a real comparison. A rerun resumes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import maskkit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pretrain-steps", type=int, default=100)
    parser.add_argument("--task-epochs", type=float, default=1.0)
    parser.add_argument("--finetune-epochs", type=float, default=1.0)
    parser.add_argument("--in-domain-limit", type=int, default=4000)
    parser.add_argument("--scoring-limit", type=int, default=400)
    parser.add_argument("--run-dir", default="runs/example-selective")
    args = parser.parse_args()

    data = Path(os.environ.get("MASKKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    if not (data / "mr").is_dir():
        raise SystemExit(f"no MR data under {data}: set MASKKIT_DATA")
    config = maskkit.SelectiveConfig(
        run_dir=args.run_dir, train=str(data / "mr" / "train.tsv"), dev=str(data / "mr" / "dev.tsv"),
        test=str(data / "mr" / "test.tsv"), in_domain=str(data / "movie_reviews_unlabeled" / "sentences.txt"),
        in_domain_limit=args.in_domain_limit, scoring_limit=args.scoring_limit, pretrain_steps=args.pretrain_steps,
        seeds=tuple(args.seeds), max_length=64, task_epochs=args.task_epochs, finetune_epochs=args.finetune_epochs,
    )  # fmt: skip
    maskkit.run_pipeline(config)  # logs each stage and the table; also in RUN_DIR/finetune/report.md and .png


if __name__ == "__main__":
    main()
