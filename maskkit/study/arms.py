"""An arm's finished runs, keyed (pre-training seed or None, fine-tuning seed), and the paired
difference of two arms over them."""

from __future__ import annotations

from dataclasses import dataclass

from maskkit.runs.statistics import Difference, replicated_difference

RunKey = tuple[int | None, int]  # (pre-training seed or None, fine-tuning seed)


@dataclass
class ArmResult:
    name: str
    runs: dict[RunKey, dict[str, float]]  # test metrics of the finished runs
    dev: dict[RunKey, dict[str, float]]
    seconds: float
    steps: int
    pending: int
    reference: str | None = None

    @property
    def seeds(self) -> list[int]:
        return sorted({seed for _, seed in self.runs})

    @property
    def pretrain_runs(self) -> int:
        return len({run for run, _ in self.runs if run is not None})

    def values(self, metric: str, split: str = "test") -> list[float]:
        runs = self.runs if split == "test" else self.dev
        return [100 * runs[key][metric] for key in sorted(runs, key=lambda k: (str(k[0]), k[1]))]


def differences(arm: ArmResult, against: ArmResult, metric: str) -> dict[RunKey, float]:
    """arm - against in points, per run of the arm with more pre-training runs, paired by fine-tuning seed:
    with the same pre-training seed when both have it, else with the other arm's one run for that seed."""
    if arm.pretrain_runs < against.pretrain_runs:
        return {key: -value for key, value in differences(against, arm, metric).items()}
    out = {}
    for (run, seed), figures in arm.runs.items():
        other = against.runs.get((run, seed))
        if other is None:
            matches = [f for (_, s), f in against.runs.items() if s == seed]
            other = matches[0] if len(matches) == 1 else None
        if other is not None:
            out[(run, seed)] = 100 * (figures[metric] - other[metric])
    return out


def compare(arm: ArmResult, against: ArmResult, metric: str) -> Difference | None:
    return replicated_difference(differences(arm, against, metric))
