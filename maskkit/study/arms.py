"""An arm's finished runs, keyed (pre-training seed or None, fine-tuning seed), and the paired
difference of two arms over them."""

from __future__ import annotations

from dataclasses import dataclass, field

from maskkit.runs.statistics import Difference, hierarchical_bootstrap, replicated_difference

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
    correct: dict[RunKey, str | None] = field(default_factory=dict)  # per run: its test examples right or wrong

    @property
    def seeds(self) -> list[int]:
        return sorted({seed for _, seed in self.runs})

    @property
    def pretrain_runs(self) -> int:
        return len({run for run, _ in self.runs if run is not None})

    def values(self, metric: str, split: str = "test") -> list[float]:
        runs = self.runs if split == "test" else self.dev
        return [100 * runs[key][metric] for key in sorted(runs, key=lambda k: (str(k[0]), k[1]))]


def partners(arm: ArmResult, against: ArmResult) -> dict[RunKey, RunKey]:
    """Each run of `arm` and the run of `against` it is paired with, by fine-tuning seed: the same
    pre-training run where both arms have it (replicated arms with the same pre-training seeds, or the one
    run of each), and an arm without pre-training's run of that seed. Runs without a partner are left out."""
    plain = {seed: (run, seed) for (run, seed) in against.runs if run is None}
    out = {}
    for run, seed in arm.runs:
        partner = (run, seed) if (run, seed) in against.runs else plain.get(seed)
        if partner is not None:
            out[(run, seed)] = partner
    return out


def differences(arm: ArmResult, against: ArmResult, metric: str) -> dict[RunKey, float]:
    """arm - against in points, paired as `partners` pairs them (keyed by the replicated side's runs)."""
    if all(run is None for run, _ in arm.runs) and any(run is not None for run, _ in against.runs):
        return {key: -value for key, value in differences(against, arm, metric).items()}
    return {key: 100 * (arm.runs[key][metric] - against.runs[other][metric])
            for key, other in partners(arm, against).items()}  # fmt: skip


def compare(arm: ArmResult, against: ArmResult, metric: str) -> Difference | None:
    return replicated_difference(differences(arm, against, metric))


def bootstrap(arm: ArmResult, against: ArmResult) -> tuple[float, float] | None:
    """The accuracy difference's hierarchical-bootstrap interval (runs, seeds, test examples), from the
    per-example results the runs recorded; None where a paired run has none (runs made before they were
    recorded) or the runs' test sets differ."""
    from maskkit.training.classify import read_correct_bits

    if all(run is None for run, _ in arm.runs) and any(run is not None for run, _ in against.runs):
        flipped = bootstrap(against, arm)
        return None if flipped is None else (-flipped[1], -flipped[0])
    bits = {key: (arm.correct.get(key), against.correct.get(other)) for key, other in partners(arm, against).items()}
    if not bits or any(a is None or b is None for a, b in bits.values()):
        return None
    return hierarchical_bootstrap({key: (read_correct_bits(a), read_correct_bits(b))  # type: ignore[arg-type]
                                   for key, (a, b) in bits.items()})  # fmt: skip
