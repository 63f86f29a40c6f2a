"""A study's plots: the forest plot of its comparisons (primary first, the margin band shaded, 0 marked,
each interval and verdict), each arm's runs as dots keyed by fine-tuning seed, and the "when to stop"
curve of a pre-training run with checkpoints (only with two or more points)."""

from __future__ import annotations

from typing import Any

from maskkit.runs.files import atomic_path
from maskkit.runs.statistics import mean_sd
from maskkit.study.arms import compare


def figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def save(fig: Any, path: str) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def plot_forest(found: list[Any], margin: float | None, title: str, path: str, metric: str = "accuracy") -> None:
    """One row per comparison with a result: the difference in points and its 95% interval, primary
    comparisons first and bold with their verdict, exploratory ones grey."""
    shown = [c for c in found if c.results.get(metric) is not None]
    if not shown:
        return
    fig, ax = figure(7.5, 0.38 * len(shown) + 1.4)
    if margin is not None:
        ax.axvspan(-margin, margin, color="#dfe8d8", zorder=0, label=f"±{margin:g} (margin)")
    ax.axvline(0, color="#555555", linewidth=1)
    for row, c in enumerate(shown):
        result, y = c.results[metric], len(shown) - 1 - row
        colour = "#1f3b5a" if c.primary else "#8c8c8c"
        ax.hlines(y, result.low, result.high, color=colour, linewidth=2.5 if c.primary else 1.5)
        ax.plot(result.mean, y, "o", color=colour)
        label = f"{c.arm} vs {c.against}" + (f"  [{c.verdict}]" if c.primary and c.verdict else "")
        ax.text(1.01, y, label, transform=ax.get_yaxis_transform(), va="center", fontsize=8,
                fontweight="bold" if c.primary else "normal")  # fmt: skip
    ax.set_yticks([])
    ax.set_xlabel(f"difference in test {metric.replace('_', '-')} (points), 95% interval")
    ax.set_title(f"{title}\nbold: primary (pre-registered, Holm); grey: exploratory", fontsize=8)
    if margin is not None:
        ax.legend(fontsize=7, loc="lower left")
    save(fig, path)


def plot_arms(results: list[Any], path: str, metric: str = "accuracy") -> None:
    """Each arm's runs as dots coloured by fine-tuning seed, the mean as a red bar."""
    fig, ax = figure(1.2 * len(results) + 2, 3.6)
    seeds = sorted({seed for r in results for seed in r.seeds})
    colours = {seed: f"C{i % 10}" for i, seed in enumerate(seeds)}
    for i, r in enumerate(results):
        if not r.runs:
            continue
        for (_, seed), figures in r.runs.items():
            ax.scatter([i], [100 * figures[metric]], color=colours[seed], s=14, zorder=3)
        ax.hlines(mean_sd(r.values(metric))[0], i - 0.3, i + 0.3, color="#c0392b", linewidth=2)
    ax.set_xticks(range(len(results)), [r.name for r in results], rotation=25, ha="right")
    ax.set_ylabel(f"test {metric.replace('_', '-')} (%)")
    ax.set_title("each run a dot, coloured by fine-tuning seed; red: the mean", fontsize=8)
    save(fig, path)


def curves(config: Any) -> dict[str, list[tuple[int, str]]]:
    """Per pre-training run with checkpoints ("when to stop"): (steps, arm) from the baseline at 0 through
    each snapshot's arm to the run's end."""
    out = {}
    for arm in config.arms:
        spec = arm.pretrain or {}
        if "checkpoints" in spec and "checkpoint" not in spec:
            steps = sorted(set(spec["checkpoints"]))
            out[arm.name] = [(0, config.baseline), *((s, f"{arm.name}@{s}") for s in steps),
                             (int(config.pretrain_settings(arm)["steps"]), arm.name)]  # fmt: skip
    return out


def plot_curves(results: list[Any], baseline: str, lines: dict[str, list[tuple[int, str]]], path: str,
                metric: str = "accuracy") -> None:  # fmt: skip
    """Test score against further pre-training steps, one line per run with two or more points: the mean
    over runs and, shaded, the 95% interval of each point's difference from the baseline (around it)."""
    by_name = {r.name: r for r in results}
    base = by_name[baseline]
    fig, ax = figure(5.5, 3.6)
    drawn = 0
    for run, points in lines.items():
        xs, means, lows, highs = [], [], [], []
        for steps, name in points:
            r = by_name[name]
            if not r.runs or not base.runs:
                continue
            centre = mean_sd(base.values(metric))[0]
            diff = compare(r, base, metric) if name != baseline else None
            if name != baseline and diff is None:
                continue
            xs.append(steps)
            means.append(centre + diff.mean if diff else centre)
            lows.append(centre + diff.low if diff else centre)
            highs.append(centre + diff.high if diff else centre)
        if len(xs) >= 2:
            ax.plot(xs, means, marker="o", label=run)
            ax.fill_between(xs, lows, highs, alpha=0.2)
            drawn += 1
    if drawn:
        ax.set_xlabel("further pre-training steps (0: the baseline)")
        ax.set_ylabel(f"test {metric.replace('_', '-')} (%)")
        ax.set_title("when to stop: the baseline's mean plus each point's paired difference, 95% CI", fontsize=8)
        ax.legend(fontsize=7)
        save(fig, path)
    else:
        import matplotlib.pyplot as plt

        plt.close(fig)
