"""The statistics of a study, apart from its files: paired differences, their intervals when the treatment
(a pre-training run) is replicated, Holm's adjustment over the pre-registered family, equivalence (TOST)
within a stated margin, the minimum detectable effect, and the verdict each comparison earns.

Design. Each fine-tuning seed draws its own training sample and fine-tuning run; each pre-training seed
its own further pre-training run (mask draws, data order, head initialisation). Fine-tuning seeds are
crossed with pre-training seeds: every pre-trained model is fine-tuned with every fine-tuning seed, so
each difference d[p, s] = arm(p, s) - other(s) (or other(p, s)) is paired by fine-tuning seed, and the
pre-training runs are the replicated units of the treatment. The interval is the t interval over the
runs' mean differences ("cluster means": the model-free form of a random-intercept model for run, exact
for a balanced design; df = runs - 1). With one pre-training run the treatment is not replicated: the
interval is the plain paired one over fine-tuning seeds and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LEVEL = 0.05
POWER = 0.8
VERDICTS = ("better", "worse", "equivalent", "inconclusive")


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the sample standard deviation (n - 1; 0 for one value)."""
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


@dataclass
class Difference:
    """A mean difference in points with its 95% interval, p-value (two-sided, H0: no difference), standard
    error and degrees of freedom; `units` is how many replicated units it rests on and `method` says which
    interval it is. Variance components: `between` (between pre-training runs) and `within` (between
    fine-tuning seeds within a run), as variances of the difference."""

    mean: float
    low: float
    high: float
    p: float
    se: float
    df: int
    units: int
    seeds: int
    method: str
    between: float | None = None
    within: float | None = None

    def as_dict(self) -> dict[str, float | int | str | None]:
        return dict(vars(self))


def no_spread(values: Sequence[float]) -> bool:
    """All equal up to floating-point rounding (rounding is not spread: a t-test must not score it)."""
    scale = max(1.0, *(abs(v) for v in values))
    return mean_sd(values)[1] <= 1e-9 * scale


def t_difference(values: Sequence[float], units: int, seeds: int, method: str) -> Difference | None:
    """The one-sample t analysis of `values` (differences, one per replicated unit): None under 2. Without
    spread the t-test cannot score them: p is then the exact sign-flip test's, 2 / 2^n (1 when they are all
    0), the least p that n units can support, and the interval is the point."""
    from scipy import stats

    n = len(values)
    if n < 2:
        return None
    mean, sd = mean_sd(values)
    if no_spread(values):
        p = 1.0 if abs(mean) <= 1e-9 * max(1.0, abs(mean)) else min(1.0, 2.0 / 2**n)
        return Difference(mean, mean, mean, p, 0.0, n - 1, units, seeds, method)
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(1 - LEVEL / 2, n - 1)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, n - 1))
    return Difference(mean, mean - half, mean + half, p, se, n - 1, units, seeds, method)


def paired(values: Sequence[float], baseline: Sequence[float]) -> dict[str, float] | None:
    """Mean paired difference over seeds, its 95% t interval and the paired t-test's two-sided p-value."""
    result = t_difference([a - b for a, b in zip(values, baseline)], len(values), len(values), "paired t")
    if result is None:
        return None
    return {"n": len(values), "mean": result.mean, "low": result.low, "high": result.high, "p": result.p}


def replicated_difference(differences: Mapping[tuple[int | None, int], float]) -> Difference | None:
    """The difference of a crossed design, keyed (pre-training seed, fine-tuning seed): the t interval over
    the pre-training runs' mean differences, with the variance components of a one-way analysis (between
    runs, within them). With one run (or none: no pre-training), the paired t over fine-tuning seeds,
    marked as not replicating the treatment."""
    runs: dict[int | None, list[float]] = {}
    for (run, _), value in sorted(differences.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        runs.setdefault(run, []).append(value)
    seeds = len({seed for _, seed in differences})
    if len(runs) < 2:
        values = next(iter(runs.values()), [])
        single = "" if None in runs else " (treatment not replicated: 1 pre-training run)"
        result = t_difference(values, len(values), seeds, "paired t over fine-tuning seeds" + single)
        if result is not None:
            result.within = mean_sd(values)[1] ** 2
        return result
    means = [sum(v) / len(v) for v in runs.values()]
    result = t_difference(means, len(runs), seeds, f"cluster means over {len(runs)} pre-training runs")
    if result is None:
        return None
    per_run = [len(v) for v in runs.values()]
    if min(per_run) >= 2:
        within = sum(sum((x - m) ** 2 for x in v) for v, m in zip(runs.values(), means)) / (sum(per_run) - len(runs))
        k = sum(per_run) / len(runs)
        between_ms = mean_sd(means)[1] ** 2 * k
        result.within, result.between = within, max(0.0, (between_ms - within) / k)
    return result


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, in the order given: it bounds the chance of any false positive among
    the family at the level the adjusted p-values are read at."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def tost(result: Difference, margin: float) -> float:
    """The p-value of equivalence within +-margin by two one-sided t-tests (Schuirmann 1987): small when the
    difference is shown to lie inside the margin (the 90% interval inside +-margin at 0.05)."""
    from scipy import stats

    if result.se == 0:
        return 0.0 if abs(result.mean) < margin else 1.0
    lower = float(stats.t.sf((result.mean + margin) / result.se, result.df))  # H0: difference <= -margin
    upper = float(stats.t.cdf((result.mean - margin) / result.se, result.df))  # H0: difference >= +margin
    return max(lower, upper)


def minimum_detectable_effect(se: float, df: int, level: float = LEVEL, power: float = POWER) -> float:
    """The smallest true difference a two-sided t-test at `level` detects with probability `power`, for a
    standard error `se` on `df` degrees of freedom: exact, from the noncentral t (as statsmodels'
    TTestPower solves it); about (t[1 - level/2] + t[power]) x se."""
    import numpy as np
    from scipy import optimize, stats

    if df < 1:
        return math.inf
    critical = float(stats.t.ppf(1 - level / 2, df))

    def shortfall(ncp: float) -> float:
        lower = float(np.nan_to_num(stats.nct.cdf(-critical, df, ncp)))  # the far tail: NaN when negligible
        return float(stats.nct.sf(critical, df, ncp)) + lower - power

    return float(optimize.brentq(shortfall, 0.0, 20 * (critical + 5))) * se


def projected_se(between: float, within: float, runs: int, seeds: int) -> float:
    """The standard error of a crossed design's mean difference with `runs` pre-training runs, each
    fine-tuned with `seeds` seeds: sqrt(between / runs + within / (runs x seeds))."""
    return math.sqrt(between / runs + within / (runs * seeds))


def verdict(result: Difference, p_holm: float, p_equivalence: float | None, level: float = LEVEL) -> str:
    """One of VERDICTS from the numbers alone: better or worse when Holm's p is under `level`, equivalent
    when the (Holm-adjusted) TOST p is, inconclusive otherwise."""
    if p_holm < level:
        return "better" if result.mean > 0 else "worse"
    if p_equivalence is not None and p_equivalence < level:
        return "equivalent"
    return "inconclusive"
