"""Memory of `maskkit augment` against the input's size: peak RSS of the whole command at 10k and 100k rows.

The input is built at benchmark time in a temporary folder by repeating MR's training sentences (never
committed); each size runs as its own process (`maskkit augment IN OUT --method rd --n-aug 4`), and its
peak resident set comes from the kernel (getrusage of the finished child). The job streams the input
and holds one shard at a time, so the peak should not grow with the rows. Not collected by pytest.

    .venv/bin/python benchmarks/bench_augment_memory.py [--rows 10000 100000] [--format tsv]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, data_file, machine


def build_input(path: Path, rows: int) -> None:
    with data_file("mr", "train.tsv").open(encoding="utf-8") as f:
        body = f.read().split("\n", 1)[1].rstrip("\n").split("\n")  # MR's rows, quoted as written
    with path.open("w", encoding="utf-8") as out:
        out.write("text\tlabel\n")
        for i in range(rows):
            out.write(body[i % len(body)] + "\n")


def peak_rss_mib(command: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one child process run to the end."""
    script = (
        "import resource, subprocess, sys, json, time\n"
        "start = time.time()\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "assert done.returncode == 0, done.returncode\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.time() - start]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, *command], capture_output=True, text=True, check=True)
    peak, seconds = json.loads(out.stdout.strip().splitlines()[-1])
    return peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--format", choices=["tsv", "csv", "jsonl"], default="tsv", help="the output's format")
    parser.add_argument("--n-aug", type=int, default=4)
    args = parser.parse_args()
    maskkit = str(ROOT / ".venv" / "bin" / "maskkit")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            source = Path(tmp) / f"in-{rows}.tsv"
            build_input(source, rows)
            out = Path(tmp) / f"out-{rows}.{args.format}"
            command = [maskkit, "augment", str(source), str(out), "--method", "rd", "--n-aug", str(args.n_aug),
                       "--quiet", "--overwrite"]  # fmt: skip
            peak, seconds = peak_rss_mib(command)
            size = out.stat().st_size / 2**20
            results.append({"rows": rows, "peak_rss_mib": round(peak, 1), "output_mib": round(size, 1),
                            "seconds": round(seconds, 1)})  # fmt: skip
            print(f"{rows:>8} rows: peak RSS {peak:7.1f} MiB, output {size:6.1f} MiB, {seconds:6.1f} s", flush=True)
            out.unlink()
    growth = results[-1]["peak_rss_mib"] / results[0]["peak_rss_mib"]
    print(f"peak RSS at {args.rows[-1]} rows / at {args.rows[0]} rows: {growth:.2f}x (flat within 20%: "
          f"{'met' if growth <= 1.2 else 'NOT met'})")  # fmt: skip
    print(json.dumps({"results": results, "growth": round(growth, 3), **machine(1),
                      "command": " ".join(sys.argv), "time": time.strftime("%Y-%m-%d")}))  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
