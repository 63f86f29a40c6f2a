"""Multi-seed reports: mean +/- sd of each configuration's scores, as a markdown table and a PNG plot.

A configuration is a run folder; its seeds are the `seed-N` folders below it (the seed part of the
path is dropped when grouping, so `run/seed-1/gen-2` and `run/seed-2/gen-2` are one configuration).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, MissingFile
from maskkit.runs.files import atomic_path
from maskkit.runs.statistics import mean_sd

SEED_PART = re.compile(r"^seed-\d+$")
COLUMNS = [("dev", "accuracy"), ("dev", "macro_f1"), ("test", "accuracy"), ("test", "macro_f1")]


def collect_runs(run_dirs: Iterable[str | os.PathLike[str]]) -> dict[str, list[dict[str, Any]]]:
    """Metrics of every finished run (a metrics.json) under the given folders, grouped by configuration."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for run_dir in run_dirs:
        root = Path(run_dir)
        if not root.is_dir():
            raise MissingFile(f"run folder {str(run_dir)!r} does not exist")
        for path in sorted(root.rglob("metrics.json")):
            if "checkpoints" in path.parts:
                continue
            parts = [p for p in path.parent.parts if not SEED_PART.match(p)]
            try:
                with path.open(encoding="utf-8") as f:
                    metrics = json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise InputError(
                    f"{path} is not valid JSON ({error}): a run killed while writing it? rerun it"
                ) from None
            groups.setdefault(str(Path(*parts)) if parts else ".", []).append(metrics)
    if not groups:
        raise InputError(f"no finished runs (metrics.json) under {[str(d) for d in run_dirs]}")
    return groups


def paired_lines(scores: dict[str, dict[int, float]], pairs: list[tuple[str, str]], what: str) -> list[str]:
    """Each pair (arm, against) as a line: the difference in points paired by seed with its 95% t interval
    and the minimum detectable effect at 80% power, then what the seeds can tell (the study report's
    statistics, `maskkit.runs.statistics`; no verdict: these comparisons are not pre-registered)."""
    from maskkit.runs.statistics import minimum_detectable_effect, t_difference

    lines, largest = [], 0.0
    for arm, against in pairs:
        seeds = sorted(set(scores.get(arm, {})) & set(scores.get(against, {})))
        diffs = [100 * (scores[arm][s] - scores[against][s]) for s in seeds]
        result = t_difference(diffs, len(seeds), len(seeds), "paired t")
        if result is None:
            lines.append(f"- {arm} vs {against}: fewer than 2 common seeds, no interval")
            continue
        mde = minimum_detectable_effect(result.se, result.df) if result.se > 0 else math.inf
        largest = max(largest, mde)
        lines.append(f"- {arm} vs {against}: {result.mean:+.2f} [{result.low:+.2f}, {result.high:+.2f}] points of "
                     f"{what}, paired over {len(seeds)} seeds (MDE {mde:.1f})")  # fmt: skip
    if largest > 0:
        lines.append(f"With these seeds no difference smaller than {largest:.1f} points can be told reliably (80% "
                     "power): an interval containing 0 here is inconclusive, not evidence of no effect.")  # fmt: skip
    return lines


def scores(runs: list[dict[str, Any]], split: str, metric: str) -> list[float]:
    return [float(r[split][metric]) for r in runs if metric in (r.get(split) or {})]


def markdown_table(groups: dict[str, list[dict[str, Any]]]) -> str:
    """| configuration | seeds | dev accuracy | ... | as mean +/- sd (sample sd; 0 for one seed), in percent."""
    header = "| configuration | seeds | " + " | ".join(f"{s} {m.replace('_', '-')}" for s, m in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    for name, runs in groups.items():
        cells = []
        for split, metric in COLUMNS:
            values = scores(runs, split, metric)
            if values:
                mean, sd = mean_sd(values)
                cells.append(f"{100 * mean:.1f} ± {100 * sd:.1f}")
            else:
                cells.append("–")
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(groups: dict[str, list[dict[str, Any]]], path: str | os.PathLike[str], metric: str = "macro_f1") -> None:
    """A bar per configuration: the test (else dev) `metric`, mean with sd error bars and each seed as a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(groups)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(names) + 2), 3.5))
    for i, name in enumerate(names):
        values = scores(groups[name], "test", metric) or scores(groups[name], "dev", metric)
        if not values:
            continue
        mean, sd = mean_sd(values)
        ax.bar(i, 100 * mean, yerr=100 * sd, capsize=4, color="#7a9cc6")
        ax.scatter([i] * len(values), [100 * v for v in values], color="#203040", s=12, zorder=3)
    ax.set_xticks(range(len(names)), [os.path.basename(n) or n for n in names], rotation=20, ha="right")
    ax.set_ylabel(f"{metric.replace('_', '-')} (%)")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
