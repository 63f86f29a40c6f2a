"""The statistics of a study, apart from its files: paired differences, their intervals when the treatment
(a pre-training run) is replicated, Holm's adjustment over the pre-registered family, equivalence (TOST)
within a stated margin, the minimum detectable effect, and the verdict each comparison earns.

Design. Each fine-tuning seed draws its own training sample and fine-tuning run; each pre-training seed
its own further pre-training run (mask draws, data order, head initialisation). Fine-tuning seeds are
crossed with pre-training seeds: every pre-trained model is fine-tuned with every fine-tuning seed, so
each difference d[p, s] = arm(p, s) - other(s) (or other(p, s)) is paired by fine-tuning seed, and the
pre-training runs are the replicated units of the treatment. A difference then carries three sources of
variance: between pre-training runs (a_p), between fine-tuning seeds (b_s: the sample and fine-tuning
noise, shared by every run of one seed, the baseline's included) and their interaction (e_ps). The
interval is from the two-way crossed random-effects analysis of the balanced table (the seeds every run
has): Var(mean) = (MS_run + MS_seed - MS_resid) / (R S) = s_a^2/R + s_b^2/S + s_e^2/(R S), with
Satterthwaite's degrees of freedom (what a crossed mixed model estimates by REML for balanced data). With
one pre-training run the treatment is not replicated: the interval is the plain paired one over
fine-tuning seeds and says so.
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
    df: float  # degrees of freedom (Satterthwaite's, fractional, for the crossed design)
    units: int
    seeds: int
    method: str
    between: float | None = None  # variance between pre-training runs
    within: float | None = None  # residual (interaction) variance, or the paired differences' variance
    seeds_variance: float | None = None  # variance between fine-tuning seeds (shared by every run of a seed)

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
    """The difference of a crossed design, keyed (pre-training seed, fine-tuning seed): the two-way crossed
    random-effects interval over the seeds every run has (module notes), with its variance components
    (`between` runs, `seeds`, `within`: the interaction). With one run (or none: no pre-training), the
    paired t over fine-tuning seeds, marked as not replicating the treatment."""
    from scipy import stats

    runs = sorted({run for run, _ in differences}, key=str)
    if len(runs) < 2:
        values = [differences[key] for key in sorted(differences, key=lambda k: k[1])]
        single = "" if None in runs else " (treatment not replicated: 1 pre-training run)"
        result = t_difference(values, len(values), len(values), "paired t over fine-tuning seeds" + single)
        if result is not None:
            result.within = mean_sd(values)[1] ** 2
        return result
    seeds = sorted(set.intersection(*({s for r, s in differences if r == run} for run in runs)))
    n_runs, n_seeds = len(runs), len(seeds)
    if n_seeds < 2:
        return None
    table = [[differences[(run, seed)] for seed in seeds] for run in runs]
    grand = sum(map(sum, table)) / (n_runs * n_seeds)
    run_means = [sum(row) / n_seeds for row in table]
    seed_means = [sum(row[j] for row in table) / n_runs for j in range(n_seeds)]
    ms_run = n_seeds * sum((m - grand) ** 2 for m in run_means) / (n_runs - 1)
    ms_seed = n_runs * sum((m - grand) ** 2 for m in seed_means) / (n_seeds - 1)
    residual = sum((table[i][j] - run_means[i] - seed_means[j] + grand) ** 2
                   for i in range(n_runs) for j in range(n_seeds))  # fmt: skip
    ms_resid = residual / ((n_runs - 1) * (n_seeds - 1))
    combined = ms_run + ms_seed - ms_resid
    if combined <= 0:  # the components' estimate fell below 0: the conservative sum instead
        combined = ms_run + ms_seed
    method = f"crossed random effects: {n_runs} pre-training runs x {n_seeds} seeds (Satterthwaite df)"
    variance = combined / (n_runs * n_seeds)
    if variance <= 1e-18 * max(1.0, grand * grand):
        p = 1.0 if abs(grand) <= 1e-9 else min(1.0, 2.0 / 2**n_runs)
        return Difference(grand, grand, grand, p, 0.0, n_runs - 1, n_runs, n_seeds, method, 0.0, 0.0, 0.0)
    terms = [(ms_run, n_runs - 1), (ms_seed, n_seeds - 1), (ms_resid, (n_runs - 1) * (n_seeds - 1))]
    df = combined**2 / sum(ms**2 / d for ms, d in terms if d > 0)
    se = math.sqrt(variance)
    half = float(stats.t.ppf(1 - LEVEL / 2, df)) * se
    p = float(2 * stats.t.sf(abs(grand) / se, df))
    result = Difference(grand, grand - half, grand + half, p, se, df, n_runs, n_seeds, method)
    result.between = max(0.0, (ms_run - ms_resid) / n_seeds)
    result.seeds_variance = max(0.0, (ms_seed - ms_resid) / n_runs)
    result.within = ms_resid
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

    if result.se == 0:  # no spread: the exact sign-flip tests' least p for these units, as t_difference does
        return min(1.0, 1.0 / 2**result.units) if abs(result.mean) < margin else 1.0
    lower = float(stats.t.sf((result.mean + margin) / result.se, result.df))  # H0: difference <= -margin
    upper = float(stats.t.cdf((result.mean - margin) / result.se, result.df))  # H0: difference >= +margin
    return max(lower, upper)


def minimum_detectable_effect(se: float, df: float, level: float = LEVEL, power: float = POWER) -> float:
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


def projected_se(between: float, seeds_variance: float, within: float, runs: int, seeds: int) -> float:
    """The standard error of a crossed design's mean difference with `runs` pre-training runs, each
    fine-tuned with `seeds` seeds: sqrt(between / runs + seeds_variance / seeds + within / (runs x seeds))."""
    return math.sqrt(between / runs + seeds_variance / seeds + within / (runs * seeds))


def projected_mde(between: float, seeds_variance: float, within: float, runs: int, seeds: int,
                  level: float = LEVEL, power: float = POWER) -> float:  # fmt: skip
    """The minimum detectable effect of a crossed design with `runs` pre-training runs and `seeds` seeds,
    from variance components (a pilot's): its standard error (`projected_se`) on Satterthwaite's degrees
    of freedom from the mean squares those components imply."""
    se = projected_se(between, seeds_variance, within, runs, seeds)
    if se == 0:
        return 0.0
    if runs == 1:  # one run: the paired t over seeds (the run's own variance is not estimable, and ignored)
        return minimum_detectable_effect(se, seeds - 1, level, power)
    ms_run, ms_seed = seeds * between + within, runs * seeds_variance + within
    terms = [(ms_run, runs - 1), (ms_seed, seeds - 1), (within, (runs - 1) * (seeds - 1))]
    combined = ms_run + ms_seed - within
    df = combined**2 / sum(ms**2 / d for ms, d in terms if d > 0 and ms > 0)
    return minimum_detectable_effect(se, df, level, power)


def smallest_design(between: float, seeds_variance: float, within: float, target: float, run_cost: float,
                    seed_cost: float, level: float = LEVEL, most_runs: int = 10,
                    most_seeds: int = 30) -> tuple[int, int, float] | None:  # fmt: skip
    """The cheapest (runs, seeds, MDE) whose minimum detectable effect is at most `target`, where a design
    costs runs x run_cost + runs x seeds x seed_cost (a pre-training run; one fine-tuning run of one of
    them); None when no design up to most_runs x most_seeds reaches it."""
    best: tuple[float, int, int, float] | None = None
    for runs in range(2, most_runs + 1):
        for seeds in range(2, most_seeds + 1):
            mde = projected_mde(between, seeds_variance, within, runs, seeds, level)
            if mde <= target:
                cost = runs * run_cost + runs * seeds * seed_cost
                if best is None or cost < best[0]:
                    best = (cost, runs, seeds, mde)
                break  # more seeds only cost more for these runs
    return None if best is None else (best[1], best[2], best[3])


def verdict(result: Difference, p_holm: float, p_equivalence: float | None, level: float = LEVEL) -> str:
    """One of VERDICTS from the numbers alone: better or worse when Holm's p is under `level`, equivalent
    when the (Holm-adjusted) TOST p is, inconclusive otherwise."""
    if p_holm < level:
        return "better" if result.mean > 0 else "worse"
    if p_equivalence is not None and p_equivalence < level:
        return "equivalent"
    return "inconclusive"


def hierarchical_bootstrap(
    pairs: Mapping[tuple[int | None, int], tuple[Sequence[bool], Sequence[bool]]],
    replicates: int = 2000, seed: int = 0, level: float = LEVEL,
) -> tuple[float, float] | None:  # fmt: skip
    """A percentile interval (points) for the difference of test accuracy, from a hierarchical bootstrap over
    the three sources of variance: pre-training runs, fine-tuning seeds and test examples, each drawn with
    replacement at its own level (runs and seeds crossed, as the design is). `pairs[(run, seed)]` holds,
    per test example in one order, whether the arm's run and its partner (the other arm's run of that
    seed) were right; an example drawn counts for both (the test set is shared: the difference is paired).
    A drawn (run, seed) cell that was not run is left out of that replicate's mean. None below 2 seeds."""
    import numpy as np

    if not pairs:
        return None
    keys = sorted(pairs, key=lambda k: (str(k[0]), k[1]))
    runs = sorted({r for r, _ in keys}, key=str)
    seeds = sorted({s for _, s in keys})
    sizes = {len(pairs[k][0]) for k in keys} | {len(pairs[k][1]) for k in keys}
    if len(seeds) < 2 or len(sizes) != 1:
        return None
    examples = sizes.pop()
    rng = np.random.default_rng(seed)
    differences = np.array([np.asarray(pairs[k][0], float) - np.asarray(pairs[k][1], float) for k in keys])
    cell_means = np.empty((len(keys), replicates))  # each cell on each resampled test set
    for start in range(0, replicates, 100):  # 100 replicates at a time: memory stays ~100 x examples
        chunk = min(100, replicates - start)
        drawn = rng.integers(0, examples, size=(chunk, examples))
        weights = np.stack([np.bincount(row, minlength=examples) for row in drawn]).astype(float)
        cell_means[:, start : start + chunk] = differences @ weights.T / examples
    run_counts = rng.multinomial(len(runs), [1 / len(runs)] * len(runs), size=replicates)
    seed_counts = rng.multinomial(len(seeds), [1 / len(seeds)] * len(seeds), size=replicates)
    cell_weights = np.stack([run_counts[:, runs.index(r)] * seed_counts[:, seeds.index(s)] for r, s in keys])
    totals = cell_weights.sum(axis=0)
    kept = totals > 0
    values = (cell_weights * cell_means).sum(axis=0)[kept] / totals[kept]
    low, high = np.quantile(values, [level / 2, 1 - level / 2])
    return float(100 * low), float(100 * high)
