"""The `maskkit` command: subcommands are thin wrappers over the public API."""

from __future__ import annotations

import argparse
import os
import sys

from maskkit.cli import augment, demo, pmi, preview, report, selective, study, train
from maskkit.errors import UserError

EXAMPLES = {
    "preview": """examples:
  maskkit preview --text "The movie was not good." --scheme span --rate 0.3
  maskkit preview --file texts.txt --lexicon "special effects" --per unit --color always
  maskkit preview --importance runs/selective/importance_classifier/model --text "a gripping, tender film"
""",
    "demo": """examples:
  maskkit demo                                  # the embedded default: WordNet glosses, MiniLM-L6
  maskkit demo --scheme span --steps 200
  maskkit demo --texts reviews.txt --finetune-epochs 0""",
    "augment": """examples:
  maskkit augment ../shared/data/mr/train.tsv runs/mr_eda.tsv --method eda --n-aug 4
  maskkit augment train.jsonl runs/train_bt.jsonl --method bt --n-aug 4 --pivot es eo gl ca
  maskkit augment train.tsv runs/train_rd.csv --method rd --p-rd 0.2 --shard-size 500
  maskkit augment train.tsv runs/train_mix.jsonl --augmenter mix.toml   # any registered augmenter, as a spec""",
    "pretrain": """examples:
  maskkit pretrain --texts domain.txt task.txt --eval-texts held_out.txt --scheme span --epochs 1
  maskkit pretrain --texts domain.txt --scheme token --budget bert --max-predictions 20 --run-dir runs/pt
  maskkit pretrain --config runs/pt/config.toml       # the same run again (finished stages are skipped)
  maskkit pretrain --texts "corpus/*.jsonl" --text-column body --num-proc 4 --max-length 512   # packed
  maskkit pretrain --texts "corpus/**/*.txt" --streaming --max-steps 50000 --packing document
  # config keys: the options without dashes (scheme = "span", rate = 0.2, per = "token"), or component
  # specs: selector = { "@component" = "maskkit.span.v1", rate = 0.2 }""",
    "finetune": """examples:
  maskkit finetune --train ../shared/data/mr/train.tsv --dev ../shared/data/mr/dev.tsv --seeds 1 2 3
  maskkit finetune --train train.tsv --llrd 0.95 --truncation head_tail --max-length 512 --head-tokens 128
  maskkit finetune --config run.toml --lr 3e-5 --rerun    # discard an earlier run with other settings""",
    "distill": """examples:
  maskkit distill --teacher runs/mr/seed-1 --train ../shared/data/mr/train.tsv --alpha 0.5 --temperature 2
  maskkit distill --generations 2 --train train.tsv            # born-again networks
  maskkit distill --self-ensemble ema --train train.tsv --kind mse""",
    "report": """examples:
  maskkit report runs/mr
  maskkit report runs/mr runs/distill --plot runs/report.png --out runs/report.md""",
    "pmi": """examples:
  maskkit pmi ../shared/data/movie_reviews_unlabeled/sentences.txt runs/pmi.txt --min-count 20
  maskkit pmi domain.txt task.txt runs/pmi.txt --max-n 3 --size 2000""",
    "study": """examples:
  maskkit study run studies/mr-fewshot.toml         # run or resume; start it twice to use two processes
  maskkit study plan studies/mr-fewshot.toml        # the runs and the stages they share
  maskkit study report runs/study-mr-fewshot""",
    "selective": """examples:
  maskkit selective run                                  # the embedded default, small scale
  maskkit selective run --config run.toml --method entropy --seeds 1 2 3
  maskkit selective scoring --config run.toml            # one stage (its upstream stages must be done)""",
}


def build_parser() -> argparse.ArgumentParser:
    from maskkit import __version__

    parser = argparse.ArgumentParser(prog="maskkit", description=__doc__)
    parser.add_argument("--version", action="version", version=f"maskkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    preview.add_parser(sub)
    demo.add_parser(sub)
    augment.add_parser(sub)
    train.add_parsers(sub)
    report.add_parser(sub)
    selective.add_parser(sub)
    pmi.add_parser(sub)
    study.add_parser(sub)
    for name, command in sub.choices.items():  # every --help ends with examples
        command.epilog = EXAMPLES[name]
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def quiet_library_bars() -> None:
    """Off a terminal (a log file, CI), the libraries' own bars (datasets' map, transformers' weight loading
    and saving) print a line per refresh; maskkit's progress lines say what a long step is doing instead."""
    from maskkit.progress import on_terminal

    if on_terminal():
        return
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    quiet_library_bars()
    try:
        return int(args.run(args) or 0)
    except UserError as error:  # the user's to fix: one clear line; anything else is a bug and keeps its traceback
        print(f"maskkit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as error:  # RuntimeError: torch's writer reports a full disk as one
        message = system_error(error)
        if message is None:
            raise
        print(f"maskkit {args.command}: error: {message}", file=sys.stderr)
        return 2


def system_error(error: OSError | RuntimeError) -> str | None:
    """The machine's refusals (disk full, read-only, no permission, a file where a folder must be) as one
    line naming the path; None for anything else (a bug keeps its traceback). Jobs write atomically and
    resume, so the message says to rerun once the cause is gone."""
    import errno

    causes = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
              errno.EROFS: "the file system is read-only", errno.EACCES: "no permission",
              errno.EPERM: "not permitted", errno.EEXIST: "a file is in the way",
              errno.ENOTDIR: "a file is where a folder must be",
              errno.EISDIR: "a folder is where a file must be"}  # fmt: skip
    cause = causes.get(getattr(error, "errno", None) or -1)
    if cause is None:
        if "No space left on device" in str(error) or "iostream error" in str(error):  # torch's own writer
            cause = "no space left on the device (or the write failed)"
        else:
            return None
    filename = getattr(error, "filename", None)
    where = f" at {filename!r}" if filename else ""
    return f"{cause}{where}: free space or fix the path and run the same command again (finished work is kept)"


if __name__ == "__main__":
    sys.exit(main())
