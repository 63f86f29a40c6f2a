"""A study's report: per arm the mean ± sd over seeds of test accuracy and macro-F1 (each run's checkpoint
chosen on dev), the paired difference from the baseline over the same seeds with a 95% t interval and the
paired t-test's two-sided p-value, and the cost; the study's `contrasts` (pairs of arms, e.g. selective
masking against its random control) the same way; every p-value also adjusted by Holm's method over all
the comparisons of the report. Written as markdown, CSV and a PNG (and, for pre-training runs with
checkpoints, the "when to stop" curve)."""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from typing import Any

from maskkit.runs.files import atomic_path, write_text

METRICS = ("accuracy", "macro_f1")


@dataclass
class ArmResult:
    name: str
    seeds: dict[int, dict[str, float]]  # seed -> test metrics of the finished runs
    dev: dict[int, dict[str, float]]
    seconds: float
    steps: int
    pending: int
    reference: str | None = None


def mean_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


def paired(values: list[float], baseline: list[float]) -> dict[str, float] | None:
    """Mean paired difference, its 95% t interval and the two-sided paired t-test p-value (None under 2
    pairs). When every difference is the same up to rounding, the t-test cannot score them: p is then the
    exact sign-flip test's, 2 / 2^n (1 when they are all 0), the least p that n pairs can support."""
    from scipy import stats

    differences = [a - b for a, b in zip(values, baseline)]
    n = len(differences)
    if n < 2:
        return None
    mean, sd = mean_sd(differences)
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    scale = max(1.0, *(abs(d) for d in differences))
    if sd <= 1e-9 * scale:  # no spread (floating-point rounding is not spread)
        sd, half = 0.0, 0.0
        p = 1.0 if abs(mean) <= 1e-9 * scale else min(1.0, 2.0 / 2**n)
    else:
        p = float(stats.ttest_rel(values, baseline).pvalue)
    return {"n": n, "mean": mean, "low": mean - half, "high": mean + half, "p": p}


def compare(arm: ArmResult, against: ArmResult, metric: str) -> dict[str, float] | None:
    """`paired` over the seeds both arms have finished, in %."""
    common = sorted(set(arm.seeds) & set(against.seeds))
    return paired([100 * arm.seeds[s][metric] for s in common], [100 * against.seeds[s][metric] for s in common])


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjustment of p-values (it bounds the chance of any false positive among them at
    the level they are read at), in the order given."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def collect(study: Any) -> list[ArmResult]:
    """Every arm's finished runs (and how many are still to run), from the study folder."""
    results = []
    for arm in study.config.arms:
        if arm.name in study.plan.waiting:  # a best_of arm: chosen once the arms it chooses among have run
            waiting = f"best on dev of {arm.best_of}; waiting on {', '.join(study.plan.waiting[arm.name])}"
            results.append(ArmResult(arm.name, {}, {}, 0.0, 0, len(study.config.seeds), waiting))
            continue
        units = study.plan.arms[arm.name]
        seeds, dev, pending = {}, {}, 0
        for seed, name in units.runs.items():
            if study.done(name):
                figures = study.results(name)
                seeds[seed], dev[seed] = figures["test"], figures["dev"]
            else:
                pending += 1
        done = [study.results(n) for n in units.cost if study.done(n)]
        seconds = sum(float(r.get("seconds", 0)) for r in done)
        steps = sum(int(r.get("steps", 0)) for r in done)
        reference = arm.reference
        if units.chosen:
            chosen = "chosen on dev: " + " + ".join(f"{part} of {name}" for part, name in units.chosen.items())
            reference = f"{chosen}; {reference}" if reference else chosen
        results.append(ArmResult(arm.name, seeds, dev, seconds, steps, pending, reference))
    return results


def rows(results: list[ArmResult], baseline: str) -> list[dict[str, Any]]:
    base = next(r for r in results if r.name == baseline)
    out = []
    for r in results:
        row: dict[str, Any] = {"arm": r.name, "seeds": len(r.seeds), "pending": r.pending,
                               "cost_minutes": round(r.seconds / 60, 1), "steps": r.steps}  # fmt: skip
        for metric in METRICS:
            values = [100 * r.seeds[s][metric] for s in sorted(r.seeds)]
            if values:
                row[f"test_{metric}_mean"], row[f"test_{metric}_sd"] = mean_sd(values)
            dev = [100 * r.dev[s][metric] for s in sorted(r.dev)]
            if dev:
                row[f"dev_{metric}_mean"] = mean_sd(dev)[0]
            diff = None if r.name == baseline else compare(r, base, metric)
            for key, value in (diff or {}).items():
                row[f"diff_{metric}_{key}"] = value
        row["reference"] = r.reference or ""
        out.append(row)
    return out


def contrast_rows(results: list[ArmResult], contrasts: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """One row per contrast (arm, against): the paired differences over the seeds both have finished."""
    by_name = {r.name: r for r in results}
    out = []
    for name, other in contrasts:
        arm, against = by_name[name], by_name[other]
        row: dict[str, Any] = {"arm": name, "against": other, "seeds": len(set(arm.seeds) & set(against.seeds))}
        for metric in METRICS:
            for key, value in (compare(arm, against, metric) or {}).items():
                row[f"diff_{metric}_{key}"] = value
        out.append(row)
    return out


def adjust(*tables: list[dict[str, Any]]) -> int:
    """Adds each metric's Holm-adjusted p-value (`diff_<metric>_p_holm`) over every comparison in the tables;
    returns how many comparisons that family holds."""
    family = 0
    for metric in METRICS:
        tested = [row for table in tables for row in table if f"diff_{metric}_p" in row]
        for row, p in zip(tested, holm([row[f"diff_{metric}_p"] for row in tested])):
            row[f"diff_{metric}_p_holm"] = p
        family = max(family, len(tested))
    return family


def difference(row: dict[str, Any], metric: str, missing: str = "–") -> str:
    """A paired difference as a cell: mean [95% interval], p (and Holm's adjusted p)."""
    if f"diff_{metric}_mean" not in row:
        return missing

    def p(value: float) -> str:
        return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"

    holm_p = f" (Holm {p(row[f'diff_{metric}_p_holm'])})" if f"diff_{metric}_p_holm" in row else ""
    return (f"{row[f'diff_{metric}_mean']:+.2f} [{row[f'diff_{metric}_low']:+.2f}, "
            f"{row[f'diff_{metric}_high']:+.2f}], p {p(row[f'diff_{metric}_p'])}{holm_p}")  # fmt: skip


def markdown(table: list[dict[str, Any]], baseline: str) -> str:
    def cell(row: dict[str, Any], metric: str) -> str:
        if f"test_{metric}_mean" not in row:
            return "–"
        return f"{row[f'test_{metric}_mean']:.2f} ± {row[f'test_{metric}_sd']:.2f}"

    def diff(row: dict[str, Any], metric: str) -> str:
        return difference(row, metric, "(baseline)" if row["arm"] == baseline else "–")

    lines = [
        f"| arm | seeds | test accuracy | test macro-F1 | accuracy vs {baseline} (95% CI, paired t) | "
        f"macro-F1 vs {baseline} | dev accuracy | cost (min) | paper, or the arms chosen on dev |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        seeds = f"{row['seeds']}" + (f" (+{row['pending']} to run)" if row["pending"] else "")
        dev = f"{row['dev_accuracy_mean']:.2f}" if "dev_accuracy_mean" in row else "–"
        lines.append(f"| {row['arm']} | {seeds} | {cell(row, 'accuracy')} | {cell(row, 'macro_f1')} | "
                     f"{diff(row, 'accuracy')} | {diff(row, 'macro_f1')} | {dev} | {row['cost_minutes']} | "
                     f"{row['reference']} |")  # fmt: skip
    return "\n".join(lines)


def contrasts_markdown(table: list[dict[str, Any]]) -> str:
    lines = ["| arm | against | seeds | accuracy difference (95% CI, paired t) | macro-F1 difference |",
             "|---|---|---|---|---|"]  # fmt: skip
    for row in table:
        lines.append(f"| {row['arm']} | {row['against']} | {row['seeds']} | {difference(row, 'accuracy')} | "
                     f"{difference(row, 'macro_f1')} |")  # fmt: skip
    return "\n".join(lines)


def write_csv(table: list[dict[str, Any]], path: str) -> None:
    keys = list(dict.fromkeys(k for row in table for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    write_text(path, buffer.getvalue())


def plot(results: list[ArmResult], baseline: str, path: str, metric: str = "accuracy") -> None:
    """Each seed's test score as a dot, the mean as a bar with the paired 95% interval of its difference
    from the baseline drawn around the baseline's mean plus that difference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = next(r for r in results if r.name == baseline)
    fig, ax = plt.subplots(figsize=(1.2 * len(results) + 2, 3.6))
    for i, r in enumerate(results):
        values = [100 * r.seeds[s][metric] for s in sorted(r.seeds)]
        if not values:
            continue
        mean = mean_sd(values)[0]
        ax.scatter([i] * len(values), values, color="#203040", s=14, zorder=3)
        ax.hlines(mean, i - 0.3, i + 0.3, color="#c0392b", linewidth=2)
        diff = None if r.name == baseline else compare(r, base, metric)
        if diff is not None:
            common = sorted(set(r.seeds) & set(base.seeds))
            centre = mean_sd([100 * base.seeds[s][metric] for s in common])[0]
            ax.vlines(i + 0.35, centre + diff["low"], centre + diff["high"], color="#7a9cc6", linewidth=3)
    ax.set_xticks(range(len(results)), [r.name for r in results], rotation=25, ha="right")
    ax.set_ylabel(f"test {metric.replace('_', '-')} (%)")
    ax.set_title(f"dots: seeds; red: mean; blue: 95% CI of the paired difference from {baseline}", fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def curves(study: Any) -> dict[str, list[tuple[int, str]]]:
    """Per pre-training run with checkpoints ("when to stop"): (steps, arm) from the baseline at 0 through
    each snapshot's arm to the run's end."""
    out = {}
    for arm in study.config.arms:
        spec = arm.pretrain or {}
        if "checkpoints" in spec and "checkpoint" not in spec:
            steps = sorted(set(spec["checkpoints"]))
            out[arm.name] = [(0, study.config.baseline), *((s, f"{arm.name}@{s}") for s in steps),
                             (int(study.config.pretrain_settings(arm)["steps"]), arm.name)]  # fmt: skip
    return out


def plot_curves(results: list[ArmResult], baseline: str, lines: dict[str, list[tuple[int, str]]], path: str,
                metric: str = "accuracy") -> None:  # fmt: skip
    """Test score against further pre-training steps, one line per run: the mean over seeds and, shaded,
    the paired 95% interval of each point's difference from the baseline (drawn around the baseline)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_name = {r.name: r for r in results}
    base = by_name[baseline]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for run, points in lines.items():
        xs, means, lows, highs = [], [], [], []
        for steps, name in points:
            r = by_name[name]
            common = sorted(set(r.seeds) & set(base.seeds))
            if not common:
                continue
            values = [100 * r.seeds[s][metric] for s in common]
            centre = mean_sd([100 * base.seeds[s][metric] for s in common])[0]
            diff = compare(r, base, metric) if name != baseline else None
            xs.append(steps)
            means.append(mean_sd(values)[0])
            lows.append(centre + diff["low"] if diff else means[-1])
            highs.append(centre + diff["high"] if diff else means[-1])
        ax.plot(xs, means, marker="o", label=run)
        ax.fill_between(xs, lows, highs, alpha=0.2)
    ax.set_xlabel("further pre-training steps (0: the baseline)")
    ax.set_ylabel(f"test {metric.replace('_', '-')} (%)")
    ax.set_title("when to stop: mean over seeds, paired 95% CI vs the baseline", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def verdict(table: list[dict[str, Any]], pairs: list[dict[str, Any]], baseline: str, metric: str = "accuracy",
            level: float = 0.05) -> str:  # fmt: skip
    """The comparisons in words, at `level` after Holm's adjustment: which were better, which worse, and how
    many showed no difference (an interval of the unadjusted test is no licence to read one)."""
    named = [(row["arm"], baseline, row) for row in table] + [(row["arm"], row["against"], row) for row in pairs]
    tested = [(a, b, row) for a, b, row in named if f"diff_{metric}_p_holm" in row]
    if not tested:
        return ""
    better = [f"{a} over {b}" for a, b, row in tested if row[f"diff_{metric}_p_holm"] < level
              and row[f"diff_{metric}_mean"] > 0]  # fmt: skip
    worse = [f"{a} under {b}" for a, b, row in tested if row[f"diff_{metric}_p_holm"] < level
             and row[f"diff_{metric}_mean"] < 0]  # fmt: skip
    rest = len(tested) - len(better) - len(worse)
    return (
        f"Read at {level:g} after Holm ({len(tested)} comparisons of test {metric.replace('_', '-')}): "
        f"better: {', '.join(better) or 'no comparison'}; worse: {', '.join(worse) or 'no comparison'}; "
        f"no difference shown: {rest}."
    )


def write_report(study: Any) -> str:
    """Writes report.md, report.csv and report.png into the study folder; returns the markdown."""
    results = collect(study)
    baseline = study.config.baseline
    table = rows(results, baseline)
    pairs = contrast_rows(results, study.config.contrasts)
    family = adjust(table, pairs)
    text = markdown(table, baseline)
    if pairs:
        text += f"\n\nContrasts (pairs of arms, paired by seed the same way):\n\n{contrasts_markdown(pairs)}"
    summary = verdict(table, pairs, baseline)
    if summary:
        text += f"\n\n{summary}"
    folder = study.config.run_dir
    note = ("Test scores of the checkpoint each run chose on dev (best macro-F1), in %; mean ± sd over seeds; the "
            f"difference from {baseline} is paired by seed (t interval, paired t-test, two-sided).")  # fmt: skip
    if family:
        note += (f" Holm: the p-value adjusted by Holm's step-down method over all {family} comparisons of this "
                 "report (the differences from the baseline and the contrasts), so that the chance of any false "
                 "positive among them is at most the level it is read at.")  # fmt: skip
    write_text(os.path.join(folder, "report.md"), f"{note}\n\n{text}\n")
    write_csv(table, os.path.join(folder, "report.csv"))
    if pairs:
        write_csv(pairs, os.path.join(folder, "report-contrasts.csv"))
    if any(r.seeds for r in results):
        plot(results, baseline, os.path.join(folder, "report.png"))
    if curves(study) and any(r.seeds for r in results):
        plot_curves(results, baseline, curves(study), os.path.join(folder, "report-curve.png"))
    return text
