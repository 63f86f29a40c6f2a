"""A study's report: per arm the mean ± sd of test accuracy and macro-F1 over its runs (each run's
checkpoint chosen on dev); the pre-registered primary comparisons, each with its paired difference, the
interval the design supports (`maskkit.runs.statistics`), Holm's adjustment over the primary family only,
equivalence within the margin (TOST), the minimum detectable effect and a verdict; every other comparison
(each arm against the baseline, the contrasts) as exploratory, with its unadjusted interval and no verdict.
Written as markdown, CSV, a forest plot of the differences and a plot of each arm's runs (and, with two or
more points, the "when to stop" curve); the closing lines come from the numbers alone."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import Any

from maskkit.runs.files import write_text
from maskkit.runs.statistics import (
    LEVEL,
    Difference,
    holm,
    mean_sd,
    minimum_detectable_effect,
    paired,
    tost,
    verdict,
)
from maskkit.study.arms import ArmResult, bootstrap, compare

METRICS = ("accuracy", "macro_f1")
PRIMARY_METRIC = "accuracy"  # the metric primary comparisons are decided on
__all__ = ["ArmResult", "Comparison", "compare", "comparisons", "holm", "paired", "write_report"]


@dataclass
class Comparison:
    arm: str
    against: str
    primary: bool
    results: dict[str, Difference | None] = field(default_factory=dict)
    p_holm: float | None = None
    p_equivalence: float | None = None  # TOST, Holm-adjusted over the primary family
    verdict: str | None = None
    mde: float | None = None  # of the primary metric, at the level the comparison is read at
    bootstrap: tuple[float, float] | None = None  # accuracy: runs, seeds and test examples resampled

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"arm": self.arm, "against": self.against,
                               "role": "primary" if self.primary else "exploratory"}  # fmt: skip
        for metric, result in self.results.items():
            for key, value in (result.as_dict() if result else {}).items():
                row[f"{metric}_{key}"] = value
        row.update(p_holm=self.p_holm, p_equivalence=self.p_equivalence, mde=self.mde, verdict=self.verdict,
                   accuracy_bootstrap_low=self.bootstrap[0] if self.bootstrap else None,
                   accuracy_bootstrap_high=self.bootstrap[1] if self.bootstrap else None)  # fmt: skip
        return row


def comparisons(results: list[ArmResult], config: Any) -> list[Comparison]:
    """The primary comparisons (in the study file's order, Holm over them alone) and then, as exploratory,
    every arm against the baseline and each contrast not among them."""
    by_name = {r.name: r for r in results}
    primary = [tuple(pair) for pair in config.primary]
    seen = {frozenset(pair) for pair in primary}
    out = [Comparison(a, b, True) for a, b in primary]
    for a, b in [*((r.name, config.baseline) for r in results if r.name != config.baseline), *config.contrasts]:
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            out.append(Comparison(a, b, False))
    for c in out:
        c.results = {m: compare(by_name[c.arm], by_name[c.against], m) for m in METRICS}
        c.bootstrap = bootstrap(by_name[c.arm], by_name[c.against])
    by_pending = {r.name: r.pending for r in results}
    primary_found = [c for c in out if c.primary]
    family = len(primary_found)  # Holm over every registered comparison, finished or not (missing ones: p = 1)
    raw = [c.results[PRIMARY_METRIC].p if c.results[PRIMARY_METRIC] else 1.0 for c in primary_found]  # type: ignore[union-attr]
    for c, p in zip(primary_found, holm(raw)):
        c.p_holm = p
    if config.margin is not None:
        equivalence = [tost(c.results[PRIMARY_METRIC], config.margin) if c.results[PRIMARY_METRIC] else 1.0  # type: ignore[arg-type]
                       for c in primary_found]  # fmt: skip
        for c, p in zip(primary_found, holm(equivalence)):
            c.p_equivalence = p
    for c in out:
        result = c.results[PRIMARY_METRIC]
        if result is None:
            continue
        level = LEVEL / family if c.primary else LEVEL  # primary: Holm's first step, the strictest
        c.mde = minimum_detectable_effect(result.se, result.df, level) if result.se > 0 else None
        finished = by_pending.get(c.arm, 0) == 0 and by_pending.get(c.against, 0) == 0
        if c.primary and c.p_holm is not None and finished:  # no verdict on an interim look
            c.verdict = verdict(result, c.p_holm, c.p_equivalence)
    return out


def collect(study: Any) -> list[ArmResult]:
    """Every arm's finished runs (and how many are still to run), from the study folder."""
    results = []
    for arm in study.config.arms:
        if arm.name in study.plan.waiting:  # a best_of arm: chosen once the arms it chooses among have run
            waiting = f"best on dev of {arm.best_of}; waiting on {', '.join(study.plan.waiting[arm.name])}"
            results.append(ArmResult(arm.name, {}, {}, 0.0, 0, len(study.config.seeds), waiting))
            continue
        units = study.plan.arms[arm.name]
        runs, dev, pending, evaluations, correct = {}, {}, 0, [], {}
        for key, name in units.runs.items():
            if study.done(name):
                figures = study.results(name)
                runs[key], dev[key], correct[key] = figures["test"], figures["dev"], figures.get("test_correct")
                if "evaluations" in figures:
                    evaluations.append(figures["evaluations"])
            else:
                pending += 1
        done = [study.results(n) for n in sorted(units.cost) if study.done(n)]  # one order: one rounding
        seconds = sum(float(r.get("seconds", 0)) for r in done)
        steps = sum(int(r.get("steps", 0)) for r in done)
        reference = arm.reference
        if units.chosen:
            chosen = "chosen on dev: " + " + ".join(f"{part} of {name}" for part, name in units.chosen.items())
            reference = f"{chosen}; {reference}" if reference else chosen
        mean_evaluations = sum(evaluations) / len(evaluations) if evaluations else None
        results.append(ArmResult(arm.name, runs, dev, seconds, steps, pending, reference, mean_evaluations, correct))
    return results


def arm_rows(results: list[ArmResult]) -> list[dict[str, Any]]:
    out = []
    for r in results:
        row: dict[str, Any] = {"arm": r.name, "runs": len(r.runs), "seeds": len(r.seeds),
                               "pretrain_runs": r.pretrain_runs, "pending": r.pending,
                               "cost_minutes": round(r.seconds / 60, 1), "steps": r.steps,
                               "dev_evaluations": r.evaluations}  # fmt: skip
        for metric in METRICS:
            if r.runs:
                row[f"test_{metric}_mean"], row[f"test_{metric}_sd"] = mean_sd(r.values(metric))
                row[f"dev_{metric}_mean"] = mean_sd(r.values(metric, "dev"))[0]
        row["reference"] = r.reference or ""
        out.append(row)
    return out


def p_text(value: float) -> str:
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def interval(result: Difference | None) -> str:
    if result is None:
        return "–"
    return f"{result.mean:+.2f} [{result.low:+.2f}, {result.high:+.2f}]"


def arms_markdown(rows: list[dict[str, Any]]) -> str:
    def cell(row: dict[str, Any], metric: str) -> str:
        if f"test_{metric}_mean" not in row:
            return "–"
        return f"{row[f'test_{metric}_mean']:.2f} ± {row[f'test_{metric}_sd']:.2f}"

    lines = ["| arm | runs (pre-training runs x seeds) | test accuracy | test macro-F1 | dev accuracy | steps | "
             "dev evaluations a run | cost (min) | paper, or the arms chosen on dev |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        runs = f"{row['runs']} ({max(row['pretrain_runs'], 1)} x {row['seeds']})"
        runs += f" (+{row['pending']} to run)" if row["pending"] else ""
        dev = f"{row['dev_accuracy_mean']:.2f}" if "dev_accuracy_mean" in row else "–"
        evaluations = "–" if row["dev_evaluations"] is None else f"{row['dev_evaluations']:g}"
        lines.append(f"| {row['arm']} | {runs} | {cell(row, 'accuracy')} | {cell(row, 'macro_f1')} | {dev} | "
                     f"{row['steps']} | {evaluations} | {row['cost_minutes']} | {row['reference']} |")  # fmt: skip
    return "\n".join(lines)


def comparisons_markdown(found: list[Comparison], primary: bool, margin: float | None) -> str:
    if primary:
        lines = [f"| comparison | accuracy difference [95% CI] | bootstrap 95% CI | interval from | Holm p | "
                 f"TOST p (±{margin:g}) | MDE (80% power) | verdict |", "|---" * 8 + "|"]  # fmt: skip
    else:
        lines = ["| comparison | accuracy difference [95% CI] | bootstrap 95% CI | macro-F1 difference [95% CI] | "
                 "p (unadjusted) | MDE (80% power) | interval from |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for c in found:
        result, name = c.results[PRIMARY_METRIC], f"{c.arm} vs {c.against}"
        mde = f"{c.mde:.2f}" if c.mde is not None else "–"
        method = result.method if result else "no common seeds yet"
        resampled = f"[{c.bootstrap[0]:+.2f}, {c.bootstrap[1]:+.2f}]" if c.bootstrap else "–"
        if primary:
            holm_p = p_text(c.p_holm) if c.p_holm is not None else "–"
            tost_p = p_text(c.p_equivalence) if c.p_equivalence is not None else "–"
            lines.append(f"| {name} | {interval(result)} | {resampled} | {method} | {holm_p} | {tost_p} | {mde} | "
                         f"{c.verdict or ('runs pending' if result else 'not run yet')} |")  # fmt: skip
        else:
            p = p_text(result.p) if result else "–"
            f1 = interval(c.results["macro_f1"])
            lines.append(f"| {name} | {interval(result)} | {resampled} | {f1} | {p} | {mde} | {method} |")
    return "\n".join(lines)


def design_line(config: Any, results: list[ArmResult]) -> str:
    seeds = len(config.seeds)
    if config.replicated:
        runs = sorted({r.pretrain_runs for r in results if r.pretrain_runs})
        return (
            f"Design: {seeds} fine-tuning seeds (each its own training sample), crossed with the pre-training "
            f"runs of each recipe ({', '.join(map(str, runs)) or 'none finished'} per recipe): the treatment is "
            "replicated, and intervals of pre-training arms carry the variance between runs and between seeds "
            "(crossed random effects, Satterthwaite df)."
        )
    return (f"Design: {seeds} fine-tuning seeds (each its own training sample); each pre-training recipe ran once "
            f"(seed {config.seeds[0]}): the treatment is not replicated, so intervals of pre-training arms carry "
            "fine-tuning variance only and say nothing of another pre-training run.")  # fmt: skip


def closing_lines(found: list[Comparison], config: Any) -> list[str]:
    """What the numbers support, in words: each primary comparison's verdict, and whether the study could
    have told a difference of the margin."""
    primary = [c for c in found if c.primary]
    if not primary:
        return ["No comparison was pre-registered (no `primary` in the study file): every comparison is exploratory, "
                "and none is read as better, worse or equivalent."]  # fmt: skip
    lines = [f"Primary comparisons (pre-registered; test accuracy; margin ±{config.margin:g} points; Holm over "
             f"{len(primary)}; level {LEVEL:g}):"]  # fmt: skip
    for c in primary:
        result = c.results[PRIMARY_METRIC]
        if result is None or c.verdict is None:
            state = "runs still pending: no verdict yet" if result else "not run yet"
            lines.append(f"- {c.arm} vs {c.against}: {state}.")
            continue
        line = f"- {c.arm} vs {c.against}: {c.verdict} ({interval(result)} points"
        if c.verdict == "better" or c.verdict == "worse":
            line += f", Holm p {p_text(c.p_holm or 0)})"
        elif c.verdict == "equivalent":
            line += f", inside ±{config.margin:g}, TOST p {p_text(c.p_equivalence or 0)})"
        else:
            line += ")"
        if c.mde is not None and c.mde > config.margin:
            line += (f"; its minimum detectable effect is {c.mde:.2f} points, more than the margin: this study "
                     f"cannot tell a difference of {config.margin:g}")  # fmt: skip
        lines.append(line + ".")
    return lines


def write_csv(rows: list[dict[str, Any]], path: str) -> None:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def write_report(study: Any) -> str:
    """Writes report.md, report.csv, report-comparisons.csv and the plots into the study folder; returns
    the markdown."""
    from maskkit.study.plots import curves, plot_arms, plot_curves, plot_forest
    from maskkit.study.registration import check_registration, registration_line

    config, results = study.config, collect(study)
    found = comparisons(results, config)
    primary = [c for c in found if c.primary]
    parts = [design_line(config, results), "Arms (test scores of the checkpoint each run chose on dev; mean ± sd "
             "over runs, in %):", arms_markdown(arm_rows(results))]  # fmt: skip
    if primary:
        parts += ["Primary comparisons (pre-registered):", comparisons_markdown(primary, True, config.margin)]
    exploratory = [c for c in found if not c.primary]
    if exploratory:
        parts += ["Exploratory comparisons (unadjusted intervals; no verdict):",
                  comparisons_markdown(exploratory, False, config.margin)]  # fmt: skip
    parts.append("\n".join(closing_lines(found, config)))
    registered = registration_line(check_registration(config))
    if registered:
        parts.append(registered)
    parts.append(
        "Differences are paired by fine-tuning seed (the same training sample and seed). MDE: the smallest "
        "true difference the comparison would detect with 80% power, from its observed standard error (for "
        "primary comparisons at Holm's strictest level, 0.05 / their number). Bootstrap 95% CI: a "
        "hierarchical bootstrap of the accuracy difference over pre-training runs, fine-tuning seeds and test "
        "examples (2,000 replicates; the same examples for both arms), so test-set sampling error is in it "
        "too; '–' where the runs did not record their per-example results (runs made before maskkit did)."
    )
    text = "\n\n".join(parts)
    folder = config.run_dir
    write_text(os.path.join(folder, "report.md"), text + "\n")
    write_csv(arm_rows(results), os.path.join(folder, "report.csv"))
    write_csv([c.row() for c in found], os.path.join(folder, "report-comparisons.csv"))
    if any(r.runs for r in results):
        plot_arms(results, os.path.join(folder, "report.png"))
        model = os.path.basename(os.path.normpath(config.model)) if config.model else "MiniLM-L6 (the default)"
        title = (f"{os.path.basename(os.path.normpath(folder))}, {model}: N {config.few_shot or 'all'}, "
                 f"{len(config.seeds)} seeds")  # fmt: skip
        plot_forest(found, config.margin, title, os.path.join(folder, "report-forest.png"))
    lines = curves(config)
    if lines and any(r.runs for r in results):
        plot_curves(results, config.baseline, lines, os.path.join(folder, "report-curve.png"))
    return text
