"""`maskkit study plan STUDY --pilot`: the seeds a study needs, from its own finished runs (a pilot run of
the same study file with fewer seeds, or its record): for each primary comparison the variance
components of its pilot runs, the cheapest pre-training runs x fine-tuning seeds whose minimum detectable
effect reaches the margin (at Holm's strictest level), and what that costs in hours from the recorded
stage times."""

from __future__ import annotations

from typing import Any

from maskkit.runs.statistics import LEVEL, projected_mde, smallest_design


def stage_hours(study: Any, prefix: str) -> float | None:
    """The mean recorded wall time of the finished stages whose names start with `prefix`, in hours."""
    seconds = [
        float(study.results(n).get("seconds", 0)) for n in study.stages if n.startswith(prefix) and study.done(n)
    ]
    seconds = [s for s in seconds if s > 0]
    return sum(seconds) / len(seconds) / 3600 if seconds else None


def pilot_lines(study: Any, target: float | None = None) -> list[str]:
    from maskkit.study.report import PRIMARY_METRIC, collect, comparisons

    config = study.config
    target = target if target is not None else config.margin
    if not config.primary or target is None:
        return ["the study names no primary comparisons (or no margin): give primary and margin, or --target-mde"]
    run_hours = stage_hours(study, "pretrain/") or 0.0
    seed_hours = stage_hours(study, "finetune/") or 0.0
    level = LEVEL / len(config.primary)
    lines = [f"pilot: target MDE {target:g} points at level {level:.3g} (Holm's first step over "
             f"{len(config.primary)}), 80% power; recorded stage times: pre-training {run_hours:.2f} h, "
             f"fine-tuning {seed_hours:.2f} h"]  # fmt: skip
    for c in comparisons(collect(study), config):
        if not c.primary:
            continue
        result = c.results[PRIMARY_METRIC]
        name = f"{c.arm} vs {c.against}"
        if result is None:
            lines.append(f"- {name}: no pilot runs yet")
            continue
        if result.between is None or result.seeds_variance is None:
            now = projected_mde(0.0, 0.0, result.within or 0.0, 1, result.units)
            lines.append(f"- {name}: the pilot has one pre-training run, so the variance between runs is unknown "
                         f"(MDE now {now:.2f}); run the pilot with pretrain_seeds of 2 or more")  # fmt: skip
            continue
        design = smallest_design(result.between, result.seeds_variance, result.within or 0.0, target,
                                 run_hours, seed_hours, level)  # fmt: skip
        components = (f"variance between runs {result.between:.3f}, between seeds {result.seeds_variance:.3f}, "
                      f"residual {result.within or 0:.3f}")  # fmt: skip
        if design is None:
            lines.append(f"- {name}: {components}; no design up to 10 runs x 30 seeds reaches {target:g}")
            continue
        runs, seeds, mde = design
        hours = runs * run_hours + runs * seeds * seed_hours
        lines.append(f"- {name}: {components}; {runs} pre-training runs x {seeds} seeds reach MDE {mde:.2f} "
                     f"(about {hours:.1f} hours for this arm's runs at the recorded times)")  # fmt: skip
    return lines
