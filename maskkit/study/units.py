"""A study's work as stages of the runs layer. Work that arms and seeds share is one stage: one training
sample per seed, one further pre-trained model per pre-training recipe (for all seeds), one augmented
split per (augmentation, seed), one fine-tuning run per (recipe chain, seed); an arm names the stages that
make its result. Stages are claimed one at a time, so several `maskkit study run` processes (or the tasks
of a cluster job array) share a study folder with no run done twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from maskkit.errors import InputError
from maskkit.runs.stages import Stage, StageRunner, StageSettings
from maskkit.study.config import Arm, StudyConfig

MODEL = "model"


def digest(values: dict[str, Any]) -> str:
    return hashlib.blake2b(json.dumps(values, sort_keys=True, default=str).encode(), digest_size=4).hexdigest()


@dataclass
class ArmUnits:
    """The stages one arm's result comes from: `runs[seed]` its fine-tuning runs, `cost` every stage it uses."""

    runs: dict[int, str] = field(default_factory=dict)
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
        for arm in config.arms:
            if arm.best_of is None:
                self.arms[arm.name] = self.arm_units(arm)
            else:
                self.waiting[arm.name] = sorted({name for names in arm.best_of.values() for name in names})

    def add(self, name: str, values: dict[str, Any], run: Callable[..., dict[str, Any]], upstream: tuple[str, ...],
            files: tuple[str, ...] = ()) -> str:  # fmt: skip
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

    def pretrain(self, arm: Arm) -> str:
        c, spec = self.config, dict(arm.pretrain or {})
        spec.pop("control", None)  # a selective model and its matched control come from one pipeline
        spec.pop("checkpoint", None)  # and the snapshots of a run are that run's
        checkpoints = spec.pop("checkpoints", None)
        values = {**self.common(), "in_domain": c.in_domain, "in_domain_limit": c.in_domain_limit, "train": c.train,
                  "settings": self.config.pretrain_settings(arm), "spec": spec, "seed": c.seeds[0]}  # fmt: skip
        upstream: tuple[str, ...] = ()
        if "selective" in spec:
            values.update(sample=self.sample(c.seeds[0]), dev=c.dev, test=c.test)
            upstream = (values["sample"],)
        elif "entropy" in spec:
            values["task_model"] = self.finetune(Arm(name=c.baseline), c.seeds[0], plain=True)
            upstream = (values["task_model"],)
        else:
            from maskkit.masking.schemes import masking_from_settings
            from maskkit.registry import to_dict

            selector, corruption = masking_from_settings(spec)
            values["spec"] = {"selector": to_dict(selector), "corruption": to_dict(corruption)}
        if checkpoints is not None:  # recorded only when given: the other pre-training runs keep their digests
            values["checkpoints"] = sorted(set(checkpoints))
        run_name = arm.name.rsplit("@", 1)[0] if "checkpoint" in (arm.pretrain or {}) else arm.name  # the run's
        return self.add(f"pretrain/{run_name}", values, run_pretrain, upstream, files=("model", "in_domain", "train"))

    def augment(self, arm: Arm, seed: int) -> str:
        from maskkit.registry import to_dict

        augmenter, n_aug = build_augmenter(self.config, dict(arm.augment or {}), seed)
        data = self.sample(seed)
        values = {
            "sample": data,
            "augmenter": to_dict(augmenter),
            "n_aug": n_aug,
            "text_column": self.config.text_column,
        }
        return self.add(f"augment/{arm.name}/seed-{seed}", values, run_augment, (data,))

    def finetune(self, arm: Arm, seed: int, plain: bool = False, label: str | None = None) -> str:
        """The fine-tuning run of an arm's chain for a seed (`plain`: without any of the arm's parts)."""
        c = self.config
        values: dict[str, Any] = {**self.common(), "dev": c.dev, "test": c.test, "seed": seed,
                                  "finetune": {**c.finetune, **({} if plain else arm.finetune)}}  # fmt: skip
        values.update(start=None, control=False, distill=None, teacher=None)
        upstream: list[str] = []
        if arm.pretrain is not None and not plain:
            start = self.pretrain(arm)
            values["start"], values["control"] = start, bool(arm.pretrain.get("control", False))
            if "checkpoint" in arm.pretrain:  # a snapshot of the run (only then a setting: older digests stay)
                values["checkpoint"] = int(arm.pretrain["checkpoint"])
            upstream.append(start)
        data = self.augment(arm, seed) if arm.augment is not None and not plain else self.sample(seed)
        values["data"] = data
        upstream.append(data)
        if arm.distill is not None and not plain:
            teacher = self.finetune(Arm(arm.name, arm.pretrain, arm.augment, None, arm.finetune), seed,
                                    label=f"{arm.name}-teacher")  # fmt: skip
            values["distill"], values["teacher"] = dict(arm.distill), teacher
            upstream.append(teacher)
        name = f"finetune/{label or ('plain' if plain else arm.name)}/seed-{seed}"
        return self.add(name, values, run_finetune, tuple(upstream), files=("model", "dev", "test"))

    def choose(self, arm: Arm, dev_score: Callable[[str], float | None]) -> list[Stage] | None:
        """Resolves a best_of arm once every listed arm has finished (`dev_score(arm)`: its runs' mean dev
        macro-F1, None while some run is left) and adds its stages; returns them (None: still waiting)."""
        assert arm.best_of is not None
        scores = {name: dev_score(name) for name in self.waiting[arm.name]}
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
        for seed in self.config.seeds:
            units.runs[seed] = self.finetune(arm, seed)
        pending = list(units.runs.values())
        while pending:  # every stage the arm's runs come from: the arm's cost
            name = pending.pop()
            if name not in units.cost:
                units.cost.add(name)
                pending.extend(self.stages[name].upstream)
        return units


def build_augmenter(config: StudyConfig, spec: dict[str, Any], seed: int) -> tuple[Any, int]:
    """The arm's augmenter and augmentations per row. EDA takes the paper's table for the sample's size
    (Wei & Zou 2019, table 3); back-translation goes through Apertium's four pivots, one per augmentation,
    or (`models`) through two local seq2seq folders and one `pivot`, sampled as UDA does."""
    from maskkit.augment import EDA, ApertiumTranslator, BackTranslate, OneOf, Seq2SeqTranslator
    from maskkit.registry import from_dict

    if "augmenter" in spec:
        return from_dict(spec["augmenter"]), int(spec.get("n_aug", 4))
    method = spec.get("method", "eda")
    size = config.few_shot or training_rows(config.train)
    eda = EDA.for_training_size(size, seed=seed)
    cache = os.path.join(config.run_dir, "translations.sqlite")
    if "models" in spec:
        pivot, (to_pivot, from_pivot) = spec["pivot"], spec["models"]
        translator = Seq2SeqTranslator({("en", pivot): to_pivot, (pivot, "en"): from_pivot})
        bt = BackTranslate(translator, pivot=pivot, cache=cache)
    else:
        bt = BackTranslate(ApertiumTranslator(), pivot=spec.get("pivot", ("es", "eo", "gl", "ca")), cache=cache)
    if method == "eda":
        return eda, int(spec.get("n_aug", eda.n_aug))
    if method == "bt":
        return bt, int(spec.get("n_aug", 4))
    return OneOf((eda, bt), seed=seed), int(spec.get("n_aug", eda.n_aug))


def training_rows(path: str) -> int:
    from maskkit.runs.tables import read_table

    return len(read_table(path))


# Run functions: `run` is the Study (its folders and results), `c` the stage's own settings.


def run_sample(run: Study, c: StageSettings) -> dict[str, Any]:
    """A class-balanced sample of `few_shot` training rows for the seed (all rows when 0), in a random order
    drawn from the seed; classes with too few rows give all they have, and the rest is spread evenly."""
    import numpy as np

    from maskkit.runs.tables import read_table, write_table
    from maskkit.training.data import label_values

    train = read_table(c.train)
    labels = [str(v) for v in label_values(train, c.label_column, "train")]
    rng = np.random.default_rng(c.seed)
    order = rng.permutation(len(train))
    if c.few_shot and c.few_shot < len(train):
        by_class: dict[str, list[int]] = {}
        for i in order:
            by_class.setdefault(labels[i], []).append(int(i))
        names = sorted(by_class)
        quota = {name: 0 for name in names}
        left = c.few_shot
        while left:  # one row per class in turn, skipping classes that ran out
            open_classes = [n for n in names if quota[n] < len(by_class[n])]
            for name in open_classes[:left]:
                quota[name] += 1
            left -= min(left, len(open_classes))
        chosen = {i for name in names for i in by_class[name][: quota[name]]}
        order = np.array([int(i) for i in order if int(i) in chosen])
    sample = train.select([int(i) for i in order])
    write_table(sample, os.path.join(run.folder(run.current), "train.jsonl"))
    counts: dict[str, int] = {}
    for i in order:
        counts[labels[i]] = counts.get(labels[i], 0) + 1
    return {"rows": len(sample), "per_class": counts}


def in_domain_texts(c: StageSettings) -> list[str]:
    import itertools

    if c.in_domain is None:
        return []
    with open(c.in_domain, encoding="utf-8") as f:
        lines = [line.strip() for line in itertools.islice(f, c.in_domain_limit or None)]
    return [line for line in lines if line]


def task_texts(c: StageSettings) -> list[str]:
    from maskkit.runs.tables import read_table

    return [t for t in (str(v).strip() for v in read_table(c.train)[c.text_column]) if t]


def run_pretrain(run: Study, c: StageSettings) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from maskkit.runs.models import resolve_model_dir

    folder, s, spec = run.folder(run.current), c.settings, c.spec
    base = resolve_model_dir(c.model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if "selective" in spec:
        return pretrain_selective(run, c, base, folder)
    from maskkit.collate import MaskingCollator
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    config = PretrainConfig(output_dir=os.path.join(folder, MODEL), max_steps=int(s["steps"]), lr=float(s["lr"]),
                            batch_size=int(s["batch_size"]), max_length=int(s["max_length"]),
                            head_warmup_steps=int(s["head_warmup_steps"]), warmup_ratio=float(s["warmup_ratio"]),
                            seed=c.seed, progress=c.progress, logging_steps=max(int(s["steps"]) // 10, 1))  # fmt: skip
    snapshots = Snapshots(c.as_dict().get("checkpoints") or [], folder, tokenizer)
    if "entropy" in spec:
        from maskkit.masking.selectors import ScoredSelector
        from maskkit.selective.importance import label_free_importance

        task = os.path.join(run.folder(c.task_model), MODEL)
        data = label_free_importance(task, tokenizer, in_domain_texts(c), int(s["max_length"]), log=run.log)
        collator = MaskingCollator(tokenizer, ScoredSelector(rate=float(spec.get("rate", 0.15)), mode="top"),
                                   seed=c.seed)  # fmt: skip
        result = further_pretrain(base, tokenizer, data, collator, config, callbacks=snapshots.callbacks)
        return {"model": config.output_dir, "steps": result.steps, "train_loss": result.train_loss,
                "scored_texts": len(data), **snapshots.results}  # fmt: skip
    from maskkit.registry import from_dict

    collator = MaskingCollator(tokenizer, from_dict(spec["selector"]), from_dict(spec["corruption"]), seed=c.seed)
    texts = {"in_domain": [in_domain_texts(c)], "task": [task_texts(c)],
             "domain_then_task": [in_domain_texts(c), task_texts(c)]}[s["on"]]  # fmt: skip
    start, steps = base, 0
    for i, stage_texts in enumerate(texts):
        stage = config if i == len(texts) - 1 else PretrainConfig(**{**asdict(config), "output_dir": os.path.join(
            folder, f"stage-{i}")})  # fmt: skip
        last = i == len(texts) - 1
        result = further_pretrain(start, tokenizer, stage_texts, collator, stage,
                                  callbacks=snapshots.callbacks if last else ())  # fmt: skip
        start, steps = stage.output_dir, steps + result.steps
    return {"model": config.output_dir, "steps": steps, "train_loss": result.train_loss,
            "texts": [len(t) for t in texts], **snapshots.results}  # fmt: skip


class Snapshots:
    """The models a pre-training run saves at its `checkpoints` steps (a "when to stop" curve's starts):
    the callback that saves them, and where they are for the stage's results."""

    def __init__(self, steps: list[int], folder: str, tokenizer: Any) -> None:
        from maskkit.training.callbacks import SaveModelAtSteps

        def path(step: int) -> str:
            return os.path.join(folder, f"{MODEL}-step-{step}")

        self.callbacks = [SaveModelAtSteps(steps, path, tokenizer)] if steps else []
        self.results = {"checkpoints": {str(step): path(step) for step in steps}} if steps else {}


def pretrain_selective(run: Study, c: StageSettings, base: str, folder: str) -> dict[str, Any]:
    """Selective masking and its matched random control by the selective pipeline (Gu et al. 2020), its
    task model trained on the first seed's sample (the labelled data a seed's fine-tuning also sees)."""
    import dataclasses

    from maskkit.selective.config import SelectiveConfig
    from maskkit.selective.pipeline import Pipeline

    s = c.settings
    known = {f.name for f in dataclasses.fields(SelectiveConfig) if f.init}
    fixed = {
        "run_dir",
        "model",
        "train",
        "dev",
        "test",
        "text_column",
        "label_column",
        "in_domain",
        "seeds",
        "in_domain_limit",
        "recipe",
        "pretrain_steps",
        "pretrain_lr",
        "batch_size",
        "head_warmup_steps",
        "progress",
    }  # fmt: skip (set from the study)
    own: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in c.spec.items() if k in known - fixed}
    config = SelectiveConfig(
        run_dir=os.path.join(folder, "pipeline"), model=base, train=os.path.join(run.folder(c.sample), "train.jsonl"),
        dev=c.dev, test=c.test, text_column=c.text_column, label_column=c.label_column, in_domain=c.in_domain,
        in_domain_limit=c.in_domain_limit, recipe=c.spec["selective"], seeds=(c.seed,), pretrain_steps=int(s["steps"]),
        pretrain_lr=float(s["lr"]), batch_size=int(s["batch_size"]), head_warmup_steps=int(s["head_warmup_steps"]),
        progress=c.progress, **own,
    )  # fmt: skip
    stages = ("task_model", "scoring", "importance_classifier", "in_domain", "pretrain_selective", "pretrain_random")
    figures = Pipeline(config, run.log).run(stages)
    return {"model": os.path.join(config.run_dir, "pretrain_selective", MODEL),
            "control_model": os.path.join(config.run_dir, "pretrain_random", MODEL),
            "steps": figures["pretrain_selective"]["steps"], "task_model": figures["task_model"]}  # fmt: skip


def run_augment(run: Study, c: StageSettings) -> dict[str, Any]:
    from maskkit.augment import augment_dataset
    from maskkit.registry import from_dict
    from maskkit.runs.tables import read_table, write_table

    sample = read_table(os.path.join(run.folder(c.sample), "train.jsonl"))
    augmented = augment_dataset(sample, from_dict(c.augmenter), n_aug=c.n_aug, text_column=c.text_column)
    write_table(augmented, os.path.join(run.folder(run.current), "train.jsonl"))
    return {"rows_in": len(sample), "rows_out": len(augmented)}


def run_finetune(run: Study, c: StageSettings) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from maskkit.runs.models import resolve_model_dir
    from maskkit.runs.tables import read_table
    from maskkit.training.classify import FinetuneConfig, finetune_classifier

    base = resolve_model_dir(c.model)
    start = base
    if c.start is not None:
        start = run.results(c.start)["control_model" if c.control else "model"]
        checkpoint = c.as_dict().get("checkpoint")
        if checkpoint is not None:
            start = run.results(c.start)["checkpoints"][str(checkpoint)]
    tokenizer = AutoTokenizer.from_pretrained(base)
    train = read_table(os.path.join(run.folder(c.data), "train.jsonl"))
    dev, test = read_table(c.dev), read_table(c.test)
    config = FinetuneConfig(output_dir=os.path.join(run.folder(run.current), MODEL), seed=c.seed,
                            text_column=c.text_column, label_column=c.label_column, progress=c.progress,
                            **c.finetune)  # fmt: skip
    if c.distill is not None:
        from maskkit.distill.trainer import DistillConfig, distill_classifier

        teacher = os.path.join(run.folder(c.teacher), MODEL)
        result = distill_classifier(start, tokenizer, train, config, DistillConfig(**c.distill), dev, test,
                                    teacher=teacher, live=False)  # fmt: skip
    else:
        result = finetune_classifier(start, tokenizer, train, config, dev, test)
    return {"dev": result.dev, "test": result.test, "steps": result.steps, "train_rows": len(train)}


class Study(StageRunner):
    """A study folder: its stages (see `Plan`), run or shared with other processes, and its arms' runs."""

    def __init__(self, config: StudyConfig, log: Callable[[str], None] = print, progress: bool = True) -> None:
        from types import SimpleNamespace

        self.config, self.plan = config, Plan(config)
        self.current = ""  # the stage being run (its run function writes into its folder)
        super().__init__(config.run_dir, SimpleNamespace(progress=progress), list(self.plan.stages.values()), log,
                         record_dir=config.record)  # fmt: skip

    def run_one(self, name: str, context: Any = None) -> dict[str, Any]:
        self.current = name
        return super().run_one(name, context)

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
