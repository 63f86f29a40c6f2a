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
    evaluations: float | None = None  # mean dev evaluations a run chose its checkpoint among (None: not recorded)

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
    """arm - against in points, paired by fine-tuning seed: with the same pre-training run where both arms
    have it (replicated arms with the same pre-training seeds, or the one run of each), and against an arm
    without pre-training with its run of that seed. Runs without such a partner are left out."""
    if all(run is None for run, _ in arm.runs) and any(run is not None for run, _ in against.runs):
        return {key: -value for key, value in differences(against, arm, metric).items()}
    plain = {seed: figures for (run, seed), figures in against.runs.items() if run is None}
    out = {}
    for (run, seed), figures in arm.runs.items():
        other = against.runs.get((run, seed)) or plain.get(seed)
        if other is not None:
            out[(run, seed)] = 100 * (figures[metric] - other[metric])
    return out


def compare(arm: ArmResult, against: ArmResult, metric: str) -> Difference | None:
    return replicated_difference(differences(arm, against, metric))
