"""A study's work as stages of the runs layer. Work that arms and seeds share is one stage: one training
sample per seed, one further pre-trained model per pre-training recipe (for all seeds), one augmented
split per (augmentation, seed), one fine-tuning run per (recipe chain, seed); an arm names the stages that
make its result. Stages are claimed one at a time, so several `maskkit study run` processes (or the tasks
of a cluster job array) share a study folder with no run done twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskkit.errors import InputError
from maskkit.runs.stages import Stage, StageRunner
from maskkit.study.base import run_base
from maskkit.study.config import PRETRAIN_OPTIONAL, Arm, StudyConfig
from maskkit.study.stage_runs import (
    arm_augmenter,
    run_augment,
    run_finetune,
    run_in_domain_sample,
    run_pretrain,
    run_sample,
)


def digest(values: dict[str, Any]) -> str:
    return hashlib.blake2b(json.dumps(values, sort_keys=True, default=str).encode(), digest_size=4).hexdigest()


def listed(arm: Arm) -> list[str]:
    """The arms a best_of arm chooses among, each once, sorted."""
    return sorted({name for names in (arm.best_of or {}).values() for name in names})


@dataclass
class ArmUnits:
    """The stages one arm's result comes from: `runs[(pre-training seed, seed)]` its fine-tuning runs (the
    pre-training seed None for an arm without pre-training), `cost` every stage it uses."""

    runs: dict[tuple[int | None, int], str] = field(default_factory=dict)
    cost: set[str] = field(default_factory=set)
    chosen: dict[str, str] = field(default_factory=dict)  # a best_of arm's part -> the arm it came from


class Plan:
    """Builds the stages of a study, sharing identical work by the digest of its settings."""

    def __init__(self, config: StudyConfig) -> None:
        self.config = config
        self.stages: dict[str, Stage] = {}
        self.by_digest: dict[str, str] = {}
        self.arms: dict[str, ArmUnits] = {}
        self.waiting: dict[str, list[str]] = {}  # best_of arms -> the listed arms not finished yet
        self.base: str | None = None
        if config.base:
            values = {
                "model": config.model,
                "base": config.base,
                "texts": config.base["texts"],
                "eval_texts": config.base["eval_texts"],
                "domain_eval_texts": config.base["domain_eval_texts"],
            }
            self.base = self.add("base", values, run_base, (), files=("texts", "eval_texts", "domain_eval_texts"))
        for arm in config.arms:
            if arm.best_of is None:
                self.arms[arm.name] = self.arm_units(arm)
            else:
                self.waiting[arm.name] = listed(arm)

    def add(self, name: str, values: dict[str, Any], run: Callable[..., dict[str, Any]], upstream: tuple[str, ...],
            files: tuple[str, ...] = ()) -> str:  # fmt: skip
        if self.base is not None and run in (run_pretrain, run_finetune):  # they start from the base's model
            values = {**values, "start_model": self.base}
            upstream = tuple(dict.fromkeys((self.base, *upstream)))
        key = digest({"run": run.__name__, **values})
        if key in self.by_digest:
            return self.by_digest[key]
        while name in self.stages:  # another recipe took the name: keep both, apart
            name = f"{name}-{key}"
        self.stages[name] = Stage(name, tuple(values), run, upstream, files, values=values)
        self.by_digest[key] = name
        return name

    def common(self) -> dict[str, Any]:
        c = self.config
        return {"model": c.model, "text_column": c.text_column, "label_column": c.label_column}

    def sample(self, seed: int) -> str:
        c = self.config
        values = {"train": c.train, "few_shot": c.few_shot, "seed": seed, "label_column": c.label_column}
        return self.add(f"data/seed-{seed}", values, run_sample, (), files=("train",))

    def in_domain(self, corpus: str | None = None) -> str:
        """The lines the pre-training arms read: a seeded sample of `in_domain_limit` lines over the whole
        in-domain file (or an arm's own `corpus`, sampled the same way), in file order; one stage a file."""
        c = self.config
        path = corpus or c.in_domain
        assert path is not None
        values = {"in_domain": path, "in_domain_limit": c.in_domain_limit, "seed": c.seeds[0],
                  "in_domain_sample": c.in_domain_sample}  # fmt: skip
        name = "data/in-domain" if path == c.in_domain else f"data/corpus-{Path(path).stem}"
        return self.add(name, values, run_in_domain_sample, (), files=("in_domain",))

    def pretrain(self, arm: Arm, pretrain_seed: int | None = None) -> str:
        """The further pre-training run of an arm's recipe with one pre-training seed (the first seed when
        the study replicates none: the digest of such a run is the one study files before replication made)."""
        c, spec = self.config, dict(arm.pretrain or {})
        seed = c.seeds[0] if pretrain_seed is None else pretrain_seed
        spec.pop("control", None)  # a selective model and its matched control come from one pipeline
        spec.pop("checkpoint", None)  # and the snapshots of a run are that run's
        checkpoints = spec.pop("checkpoints", None)
        corpus = spec.pop("corpus", None)  # another text in the in-domain text's place (an out-of-domain control)
        for key in PRETRAIN_OPTIONAL:
            spec.pop(key, None)  # a setting of the run (in settings), not of its masking
        values = {**self.common(), "in_domain": corpus or c.in_domain, "in_domain_limit": c.in_domain_limit,
                  "train": c.train, "settings": self.config.pretrain_settings(arm), "spec": spec,
                  "seed": seed}  # fmt: skip
        upstream: tuple[str, ...] = ()
        if values["in_domain"] is not None and c.in_domain_sample != "first":  # recorded only then: older digests
            values["in_domain_lines"] = self.in_domain(corpus)
            upstream = (values["in_domain_lines"],)
        if "selective" in spec:
            values.update(sample=self.sample(seed), dev=c.dev, test=c.test)
            upstream = (*upstream, values["sample"])
        elif "entropy" in spec:
            values["task_model"] = self.finetune(Arm(name=c.baseline), seed, plain=True)
            upstream = (*upstream, values["task_model"])
        else:
            from maskkit.masking.schemes import masking_from_settings
            from maskkit.registry import to_dict

            selector, corruption = masking_from_settings(spec)
            values["spec"] = {"selector": to_dict(selector), "corruption": to_dict(corruption)}
        if checkpoints is not None:  # recorded only when given: the other pre-training runs keep their digests
            values["checkpoints"] = sorted(set(checkpoints))
        run_name = arm.name.rsplit("@", 1)[0] if "checkpoint" in (arm.pretrain or {}) else arm.name  # the run's
        name = f"pretrain/{run_name}" + (f"@pt-{seed}" if c.replicated else "")  # beside, never inside, another
        return self.add(name, values, run_pretrain, upstream, files=("model", "in_domain", "train"))

    def augment(self, arm: Arm, seed: int) -> str:
        from maskkit.registry import to_dict

        augmenter, n_aug = arm_augmenter(self.config, dict(arm.augment or {}), seed)
        data = self.sample(seed)
        values = {
            "sample": data,
            "augmenter": to_dict(augmenter),
            "n_aug": n_aug,
            "text_column": self.config.text_column,
        }
        return self.add(f"augment/{arm.name}/seed-{seed}", values, run_augment, (data,))

    def finetune(self, arm: Arm, seed: int, plain: bool = False, label: str | None = None,
                 pretrain_seed: int | None = None) -> str:  # fmt: skip
        """The fine-tuning run of an arm's chain for a seed (`plain`: without any of the arm's parts), from
        its pre-training run with `pretrain_seed` (the first seed's when None)."""
        c = self.config
        values: dict[str, Any] = {**self.common(), "dev": c.dev, "test": c.test, "seed": seed,
                                  "finetune": {**c.finetune, **({} if plain else arm.finetune)}}  # fmt: skip
        values.update(start=None, control=False, distill=None, teacher=None)
        upstream: list[str] = []
        if arm.pretrain is not None and not plain:
            start = self.pretrain(arm, pretrain_seed)
            values["start"], values["control"] = start, bool(arm.pretrain.get("control", False))
            if "checkpoint" in arm.pretrain:  # a snapshot of the run (only then a setting: older digests stay)
                values["checkpoint"] = int(arm.pretrain["checkpoint"])
            upstream.append(start)
        data = self.augment(arm, seed) if arm.augment is not None and not plain else self.sample(seed)
        values["data"] = data
        upstream.append(data)
        if arm.distill is not None and not plain:
            teacher = self.finetune(Arm(arm.name, arm.pretrain, arm.augment, None, arm.finetune), seed,
                                    label=f"{arm.name}-teacher", pretrain_seed=pretrain_seed)  # fmt: skip
            values["distill"], values["teacher"] = dict(arm.distill), teacher
            upstream.append(teacher)
        replicated = pretrain_seed is not None and arm.pretrain is not None and not plain
        replicate = f"pt-{pretrain_seed}/" if replicated else ""
        name = f"finetune/{label or ('plain' if plain else arm.name)}/{replicate}seed-{seed}"
        return self.add(name, values, run_finetune, tuple(upstream), files=("model", "dev", "test"))

    def choose(self, arm: Arm, dev_score: Callable[[str], float | None]) -> list[Stage] | None:
        """Resolves a best_of arm once every listed arm has finished (`dev_score(arm)`: its runs' mean dev
        macro-F1, None while some run is left) and adds its stages; returns them (None: still waiting)."""
        assert arm.best_of is not None
        scores = {name: dev_score(name) for name in listed(arm)}
        self.waiting[arm.name] = [name for name, score in scores.items() if score is None]
        if self.waiting[arm.name]:
            return None
        del self.waiting[arm.name]
        picked = {part: max(names, key=lambda n: (scores[n], -names.index(n))) for part, names in arm.best_of.items()}
        before = set(self.stages)
        self.arms[arm.name] = units = self.arm_units(arm.with_parts({p: self.config.arm(n) for p, n in picked.items()}))
        units.chosen = picked
        return [stage for name, stage in self.stages.items() if name not in before]

    def arm_units(self, arm: Arm) -> ArmUnits:
        units = ArmUnits()
        c = self.config
        for seed in c.seeds:
            if arm.pretrain is not None and c.replicated:
                for pretrain_seed in c.pretrain_seeds_of(arm):
                    units.runs[(pretrain_seed, seed)] = self.finetune(arm, seed, pretrain_seed=pretrain_seed)
            else:
                units.runs[(c.seeds[0] if arm.pretrain is not None else None, seed)] = self.finetune(arm, seed)
        pending = list(units.runs.values())
        while pending:  # every stage the arm's runs come from: the arm's cost
            name = pending.pop()
            if name not in units.cost:
                units.cost.add(name)
                pending.extend(self.stages[name].upstream)
        return units


class Study(StageRunner):
    """A study folder: its stages (see `Plan`), run or shared with other processes, and its arms' runs."""

    def __init__(self, config: StudyConfig, log: Callable[[str], None] = print, progress: bool = True) -> None:
        from types import SimpleNamespace

        self.config, self.plan = config, Plan(config)
        super().__init__(config.run_dir, SimpleNamespace(progress=progress), list(self.plan.stages.values()), log,
                         record_dir=config.record)  # fmt: skip

    def dev_score(self, arm: str) -> float | None:
        """The mean dev macro-F1 of an arm's runs; None while one of them is still to run."""
        runs = self.plan.arms[arm].runs.values()
        if not all(self.done(run) for run in runs):
            return None
        return sum(self.results(run)["dev"]["macro_f1"] for run in runs) / len(runs)

    def sync_record(self) -> tuple[int, int]:
        """The record's finished stages (see `StageRunner.sync_record`), and the stages of every best_of arm
        whose listed arms have all finished (restored from the record too, when it holds them)."""
        added, restored = super().sync_record()
        chosen = False
        for arm in self.config.arms:
            if arm.name in self.plan.waiting:
                stages = self.plan.choose(arm, self.dev_score)
                if stages is not None:
                    self.add_stages(stages)
                    picked = ", ".join(f"{p} of {a}" for p, a in self.plan.arms[arm.name].chosen.items())
                    self.log(f"{arm.name}: {picked} (the best mean dev macro-F1 of those listed)")
                    chosen = True
        if chosen:
            more = super().sync_record()
            added, restored = added + more[0], restored + more[1]
        return added, restored

    def run_all(self) -> dict[str, Any]:
        """Runs every stage not done yet, sharing them with any other process on the same folder; a best_of
        arm runs once the arms it chooses among have finished."""
        if not self.plan.arms:
            raise InputError("the study names no arms")
        while True:
            self.sync_record()
            figures = self.run_shared()
            waiting = len(self.plan.waiting)
            self.sync_record()
            if len(self.plan.waiting) == waiting:
                return figures
