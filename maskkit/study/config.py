"""A study: which recipe makes a model better at a task, over several seeds (`maskkit study run`).

    run_dir = "runs/study-mr"
    record = "results/mr/record"            # finished runs' figures, to commit: a new checkout resumes from them
    train = "../shared/data/mr/train.tsv"   # dev and test too; model selection on dev only
    few_shot = 500                          # a class-balanced sample of the training split per seed (0: all)
    seeds = [1, 2, 3, 4, 5]
    in_domain = "../shared/data/movie_reviews_unlabeled/sentences.txt"
    in_domain_limit = 20000                 # lines for pre-training, the same for every arm
    in_domain_sample = "uniform"            # a seeded sample over the whole file (default), or "first" lines
    pretrain_seeds = [1, 2, 3]              # each pre-training recipe run once per seed (the replicated treatment)
    primary = [["selective", "selective-random"], ["span", "none"]]   # pre-registered: Holm runs over these
    margin = 1.0                            # points: the smallest difference that matters (equivalence: TOST)
    baseline = "none"
    budget = "steps"                        # every arm the plain arm's optimiser steps and dev evaluations
    [finetune]                              # FinetuneConfig settings every arm shares
    epochs = 5
    [pretrain]                              # further pre-training settings every pre-training arm shares
    steps = 500
    [[arms]]
    name = "none"
    [[arms]]
    name = "span"
    pretrain = { scheme = "span" }          # or selector = { "@component" = ... }, on = "task" | "domain_then_task"
    [[arms]]
    name = "selective"
    pretrain = { selective = "official" }   # and control = true: its matched random control
    [[arms]]
    name = "entropy"
    pretrain = { entropy = true }           # the task model's entropy change on in-domain text, no classifier
    [[arms]]
    name = "span-curve"                     # when to stop: arms span-curve@100 and @250 fine-tune from those
    pretrain = { scheme = "span", checkpoints = [100, 250] }   # steps of one run, span-curve from its end
    [[arms]]
    name = "eda"
    augment = { method = "eda" }            # eda (the paper's table for the sample's size), bt, both
    [[arms]]
    name = "bt-marian"                      # back-translation through two local seq2seq folders, sampled
    augment = { method = "bt", pivot = "de", models = ["opus-mt-en-de", "opus-mt-de-en"] }
    [[arms]]
    name = "self-distil"
    distill = { recipe = "hinton" }         # soft labels from this arm's own fine-tuned model
    [[arms]]
    name = "best"                           # each part from the listed arm with the best mean dev macro-F1,
    best_of = { pretrain = ["span", "selective"], augment = ["eda"] }   # chosen once those have all run
    contrasts = [["selective", "selective-random"]]   # pairs of arms the report compares too (top level)

An arm's parts are optional and compose (further pre-training, then augmentation of the training split,
then fine-tuning, then self-distillation); its `finetune` table overrides the shared one. An arm with
`best_of` takes each named part from the arm, among those listed (defined above it), whose runs have the
best mean dev macro-F1 (the score every run chooses its checkpoint by; the first listed on a tie): it waits
until all of them have finished, then runs, and its report row names what was chosen. Test scores never
enter the choice. Every arm is compared with the baseline; `contrasts` adds pairs of arms (an arm against
its control), paired by seed the same way.

Design and analysis (`maskkit.runs.statistics`). Fine-tuning seeds are crossed with pre-training seeds:
each of an arm's `pretrain_seeds` runs (the study's, or the arm's own `pretrain_seeds`) is fine-tuned with
every seed, so the treatment (a pre-training run) is replicated and every difference is still paired by
fine-tuning seed (the same sample and fine-tuning seed). Without `pretrain_seeds`, each recipe runs once
with the first seed, and the report says the treatment was not replicated. `primary` names the
comparisons decided before any run ([arm, against] pairs) and `margin` the smallest difference that
matters, in points: Holm's adjustment runs over the primary comparisons only, and each gets a verdict
(better, worse, equivalent within +-margin by TOST, or inconclusive); every other comparison is
exploratory, with its unadjusted interval and no verdict. The first `study run` registers the family
(`preregistration.json` beside the record); a study file whose family or margin differs afterwards is
refused, since a changed family is another study.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

from maskkit.errors import InputError, MissingFile, MissingKey
from maskkit.runs.files import check_folder_name
from maskkit.runs.hub_data import hub_dataset_name, is_hub_dataset, load_hub_dataset
from maskkit.study.checks import check_type, seed_list, unknown_keys

PRETRAIN_ON = ("in_domain", "task", "domain_then_task")
PRETRAIN_SHARED = {"steps": 500, "lr": 5e-5, "batch_size": 32, "max_length": 128, "head_warmup_steps": 100,
                   "warmup_ratio": 0.06, "on": "in_domain"}  # fmt: skip
PRETRAIN_OPTIONAL = {"packing": ("full", "document")}  # recorded only when given: older runs keep their digests
AUGMENT_METHODS = ("eda", "bt", "both")
ARM_KEYS = ("name", "pretrain", "augment", "distill", "finetune", "reference", "best_of", "pretrain_seeds")
IN_DOMAIN_SAMPLES = ("uniform", "first")
PARTS = ("pretrain", "augment", "distill")
PRETRAIN_RUN_KEYS = {"checkpoints", "checkpoint", "control"}  # a curve's snapshots; the selective control
AUGMENT_KEYS = ("method", "n_aug", "pivot", "models", "augmenter")
STUDY_SETS = {"output_dir", "seed", "text_column", "label_column", "progress"}  # the study's own, per run


def kinds_of(pretrain: dict[str, Any]) -> set[str]:
    return {k for k in ("scheme", "selector", "selective", "entropy") if k in pretrain}


def init_fields(cls: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


@dataclass(frozen=True)
class Arm:
    """One recipe: its parts (each None when the arm has none of it) and a paper's figure to print beside."""

    name: str
    pretrain: dict[str, Any] | None = None
    augment: dict[str, Any] | None = None
    distill: dict[str, Any] | None = None
    finetune: dict[str, Any] = field(default_factory=dict)
    reference: str | None = None
    best_of: dict[str, list[str]] | None = None  # part -> the arms to take it from (the best on dev)
    pretrain_seeds: tuple[int, ...] | None = None  # the arm's own pre-training seeds (else the study's)

    def with_parts(self, chosen: dict[str, Arm]) -> Arm:
        """This arm with each part of `chosen` (part -> arm) taken from that arm: a `best_of` arm resolved."""
        parts = {part: getattr(arm, part) for part, arm in chosen.items()}
        return dataclasses.replace(self, best_of=None, **parts)


@dataclass(frozen=True)
class StudyConfig:
    train: str
    dev: str
    test: str
    run_dir: str = "runs/study"
    record: str | None = None  # a folder of finished stages' manifests and results (no models): commit it
    model: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    few_shot: int = 0
    budget: str = "epochs"  # "steps": every arm the plain arm's steps and dev evaluations (`steps_budget`)
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    in_domain: str | None = None
    in_domain_limit: int = 0
    in_domain_sample: str = "uniform"
    pretrain_seeds: tuple[int, ...] = ()  # () : one pre-training run per recipe, with seeds[0] (not replicated)
    primary: tuple[tuple[str, str], ...] = ()  # the pre-registered comparisons: [arm, against]
    margin: float | None = None  # points: the smallest difference that matters
    baseline: str = "none"
    finetune: dict[str, Any] = field(default_factory=dict)
    pretrain: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] | None = None  # the general-corpus pre-training every arm starts from (study.base)
    arms: tuple[Arm, ...] = ()
    contrasts: tuple[tuple[str, str], ...] = ()  # (arm, against): compared in the report like the baseline

    def __post_init__(self) -> None:
        object.__setattr__(self, "arms", tuple(a for arm in self.arms for a in self.with_checkpoints(arm)))
        for name in ("train", "dev", "test", "in_domain"):
            path = getattr(self, name)
            if is_hub_dataset(path):  # loaded now (then cached), so a wrong name or split stops the plan
                load_hub_dataset(path)
            elif path is not None and not os.path.exists(path):
                raise MissingFile(f"study: {name} path {path!r} does not exist")
        if self.model is not None:  # a folder, or a hub id in the Hugging Face cache (downloaded when online)
            from maskkit.runs.models import resolve_model_dir

            resolve_model_dir(self.model)
        if len(self.seeds) < 2:
            raise InputError("study: give at least 2 seeds (paired intervals need them; 5 or more is better)")
        if self.few_shot < 0 or self.in_domain_limit < 0:
            raise InputError("study: few_shot and in_domain_limit must be >= 0 (0: all rows)")
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise InputError(f"study: arm names must differ, got {names}")
        if self.baseline not in names:
            raise InputError(f"study: the baseline arm {self.baseline!r} is not among the arms {names}")
        unknown_keys(self.pretrain, {*PRETRAIN_SHARED, *PRETRAIN_OPTIONAL}, "study: [pretrain]")
        if self.base is not None:
            object.__setattr__(self, "base", check_base(self.base))
        self.check_finetune(self.finetune, "study: [finetune]")
        for i, arm in enumerate(self.arms):
            self.check_arm(arm)
            self.check_best_of(arm, self.arms[:i])
        for what, pairs in (("contrast", self.contrasts), ("primary comparison", self.primary)):
            for pair in pairs:
                if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(names):
                    raise InputError(f"study: each {what} is [arm, against], two different arms of {names}; got "
                                     f"{list(pair)}")  # fmt: skip
        if len(set(self.primary)) != len(self.primary):
            raise InputError(f"study: primary lists a comparison twice: {[list(p) for p in self.primary]}")
        if self.primary and self.margin is None:
            raise InputError("study: primary comparisons need margin (points: the smallest difference that matters)")
        if self.margin is not None and (not math.isfinite(self.margin) or self.margin <= 0):
            raise InputError(f"study: margin must be a number of points > 0, got {self.margin!r}")
        if self.in_domain_sample not in IN_DOMAIN_SAMPLES:
            raise InputError(f"study: in_domain_sample must be one of {IN_DOMAIN_SAMPLES}, got "
                             f"{self.in_domain_sample!r}")  # fmt: skip
        for arm in self.arms:
            seeds = self.pretrain_seeds_of(arm)
            if len(set(seeds)) != len(seeds):
                raise InputError(f"study: arm {arm.name!r}: pretrain_seeds must differ, got {list(seeds)}")

    def with_checkpoints(self, arm: Arm) -> list[Arm]:
        """An arm whose pre-training keeps `checkpoints` (steps of the one run) and, before it, one arm per
        checkpoint, `<name>@<step>`, that fine-tunes from that snapshot: the "when to stop" curve."""
        steps = (arm.pretrain or {}).get("checkpoints")
        if steps is None or "checkpoint" in (arm.pretrain or {}):
            return [arm]
        if isinstance(steps, list) and any(a.name == f"{arm.name}@{s}" for a in self.arms for s in steps):
            return [arm]  # expanded already (a config made from this one, e.g. by dataclasses.replace)
        assert arm.pretrain is not None
        where = f"study: arm {arm.name!r}: pretrain checkpoints"
        total = int(self.pretrain_settings(arm)["steps"])
        if not isinstance(steps, list) or not steps or not all(isinstance(s, int) and 0 < s < total for s in steps):
            raise InputError(f"{where} must be a list of step counts between 0 and its {total} steps, got {steps!r}")
        if "selective" in arm.pretrain or self.pretrain_settings(arm)["on"] == "domain_then_task":
            raise InputError(f"{where}: not offered for selective masking or domain_then_task pre-training")
        snapshots = [dataclasses.replace(arm, name=f"{arm.name}@{s}", pretrain={**arm.pretrain, "checkpoint": s},
                                         reference=None) for s in sorted(set(steps))]  # fmt: skip
        return [*snapshots, arm]

    def check_arm(self, arm: Arm) -> None:
        where = f"study: arm {arm.name!r}"
        if arm.pretrain is not None:
            kinds = [k for k in ("scheme", "selector", "selective", "entropy") if k in arm.pretrain]
            if len(kinds) > 1 or ("selector" in kinds and "scheme" in kinds):
                raise InputError(f"{where}: pretrain takes one of scheme/selector, selective or entropy, got {kinds}")
            on = self.pretrain_settings(arm)["on"]
            if on not in PRETRAIN_ON:
                raise InputError(f"{where}: pretrain on must be one of {PRETRAIN_ON}, got {on!r}")
            if on != "task" and self.in_domain is None:
                raise InputError(f"{where}: pre-training on {on!r} needs in_domain (a text file, one line each)")
            if ("selective" in kinds or "entropy" in kinds) and self.in_domain is None:
                raise InputError(f"{where}: selective and entropy masking score in-domain text: give in_domain")
            if "selective" in kinds and arm.pretrain["selective"] not in ("official", "maskkit"):
                raise InputError(f"{where}: selective must be 'official' or 'maskkit'")
            if "selective" in kinds:  # the pipeline's own settings may follow (pack_length, method, ...)
                import dataclasses

                from maskkit.selective.config import SelectiveConfig

                allowed = {f.name for f in dataclasses.fields(SelectiveConfig) if f.init} | set(PRETRAIN_SHARED)
                stray = sorted(set(arm.pretrain) - allowed - {"selective", "control"})
                if stray:
                    raise InputError(f"{where}: unknown selective settings {stray}")
        if arm.pretrain is not None and not kinds_of(arm.pretrain) & {"selective", "entropy"}:
            from maskkit.masking.schemes import CORRUPTION_OPTIONS, SELECTOR_OPTIONS, masking_from_settings

            masking = {"scheme", "selector", "corruption", *SELECTOR_OPTIONS, *CORRUPTION_OPTIONS}
            known = masking | set(PRETRAIN_SHARED) | set(PRETRAIN_OPTIONAL) | PRETRAIN_RUN_KEYS | {"corpus"}
            unknown_keys(arm.pretrain, known, f"{where}: pretrain")
            corpus = arm.pretrain.get("corpus")
            if corpus is not None and (not isinstance(corpus, str) or not os.path.isfile(corpus)):
                raise MissingFile(f"{where}: pretrain corpus {corpus!r} is not a text file")
            if corpus is not None and self.pretrain_settings(arm)["on"] != "in_domain":
                raise InputError(f"{where}: pretrain corpus replaces the in-domain text: give it with on = 'in_domain'")
            masking_from_settings(arm.pretrain)  # the masking it names is built (and checked) now
        if arm.augment is not None:
            from maskkit.augment.dataset import MAX_N_AUG

            unknown_keys(arm.augment, AUGMENT_KEYS, f"{where}: augment")
            n_aug = arm.augment.get("n_aug", 1)
            if isinstance(n_aug, bool) or not isinstance(n_aug, int) or not 1 <= n_aug <= MAX_N_AUG:
                raise InputError(f"{where}: augment n_aug must be a whole number from 1 to {MAX_N_AUG}, got {n_aug!r}")
        if arm.distill is not None:
            from maskkit.distill.trainer import DistillConfig

            unknown_keys(arm.distill, init_fields(DistillConfig), f"{where}: distill")
            DistillConfig(**arm.distill)
        self.check_finetune(arm.finetune, f"{where}: finetune")
        if arm.augment is not None and "augmenter" not in arm.augment:
            method = arm.augment.get("method", "eda")
            if method not in AUGMENT_METHODS:
                raise InputError(f"{where}: augment method must be one of {AUGMENT_METHODS} (or an augmenter spec)")
            self.check_translation_models(arm.augment, where)

    def check_finetune(self, own: dict[str, Any], where: str) -> None:
        """The study's [finetune] with an arm's own over it must make a FinetuneConfig: every key known (the
        study sets output_dir, seed, text_column, label_column and progress itself) and every value in range."""
        from maskkit.training.classify import FinetuneConfig

        unknown_keys(own, init_fields(FinetuneConfig) - STUDY_SETS, where)
        FinetuneConfig(output_dir="-", **{**self.finetune, **own})

    @staticmethod
    def check_translation_models(augment: dict[str, Any], where: str) -> None:
        """`models = [to_pivot, from_pivot]`: back-translation through two seq2seq models, one pivot."""
        from maskkit.runs.models import resolve_model_dir

        if "models" not in augment:
            return
        models, pivot = augment["models"], augment.get("pivot")
        if augment.get("method", "eda") == "eda":
            raise InputError(f"{where}: augment models are translation models: give method 'bt' or 'both'")
        if not isinstance(models, list) or len(models) != 2 or not all(isinstance(m, str) for m in models):
            raise InputError(f"{where}: augment models must be [to_pivot, from_pivot], two model folders or hub ids")
        if not isinstance(pivot, str):
            raise InputError(f'{where}: augment models translate through one pivot: give pivot = "de" (say)')
        for model in models:  # a folder or a hub id (resolved into the Hugging Face cache)
            resolve_model_dir(model)

    def check_best_of(self, arm: Arm, earlier: tuple[Arm, ...]) -> None:
        if arm.best_of is None:
            return
        where = f"study: arm {arm.name!r}: best_of"
        if not isinstance(arm.best_of, dict) or not arm.best_of:
            raise InputError(f"{where} maps parts {list(PARTS)} to lists of arms, got {arm.best_of!r}")
        before = {a.name: a for a in earlier}
        for part, names in arm.best_of.items():
            if part not in PARTS:
                raise InputError(f"{where}: unknown part {part!r}; parts: {list(PARTS)}")
            if getattr(arm, part) is not None:
                raise InputError(f"{where}: {part} is both given and chosen; give one")
            if not isinstance(names, list) or not names:
                raise InputError(f"{where}.{part} must be a list of arm names")
            for name in names:
                if name not in before:
                    raise InputError(f"{where}.{part}: {name!r} is not an arm defined above this one")
                if getattr(before[name], part) is None:
                    raise InputError(f"{where}.{part}: arm {name!r} has no {part} to take")

    def pretrain_settings(self, arm: Arm) -> dict[str, Any]:
        """The shared [pretrain] settings with the arm's own over them."""
        own = {k: v for k, v in (arm.pretrain or {}).items() if k in PRETRAIN_SHARED or k in PRETRAIN_OPTIONAL}
        settings = {**PRETRAIN_SHARED, **self.pretrain, **own}
        for key, allowed in PRETRAIN_OPTIONAL.items():
            if key in settings and settings[key] not in allowed:
                raise InputError(f"study: pretrain {key} must be one of {allowed}, got {settings[key]!r}")
        return settings

    def pretrain_seeds_of(self, arm: Arm) -> tuple[int, ...]:
        """The seeds of an arm's pre-training runs: its own, the study's, or the first seed alone."""
        if arm.pretrain_seeds is not None:
            return arm.pretrain_seeds
        return self.pretrain_seeds or self.seeds[:1]

    @property
    def replicated(self) -> bool:
        """Whether pre-training seeds were given (else each recipe runs once, as in study files before them)."""
        return bool(self.pretrain_seeds) or any(a.pretrain_seeds is not None for a in self.arms)

    def arm(self, name: str) -> Arm:
        return next(arm for arm in self.arms if arm.name == name)

    @classmethod
    def from_toml(cls, path: str) -> StudyConfig:
        from maskkit.runs.toml import load_toml

        return cls.from_dict(load_toml(path), where=path)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "study") -> StudyConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown_keys(values, known, where)
        for key in ("train", "dev", "test"):
            if key not in values:
                raise MissingKey(f"{where}: a study needs {key} (a labelled table)")
        values = {**values, **{key: hub_dataset_name(values[key], f"{where}: {key}") for key in HUB_DATA_KEYS
                               if key in values}}  # fmt: skip
        for key, kind in TOP_TYPES.items():
            if key in values:
                check_type(values[key], kind, f"{where}: {key}")
        arms: list[Arm] = []
        for i, table in enumerate(values.get("arms", [])):
            if not isinstance(table, dict) or "name" not in table:
                raise MissingKey(f"{where}: arms[{i}] must be a table with a name, got {table!r}")
            name = check_folder_name(table["name"], f"{where}: arm name", [a.name for a in arms])
            unknown_keys(table, ARM_KEYS, f"{where}: arm {name!r}")
            for key, kind in ARM_TYPES.items():
                if key in table:
                    check_type(table[key], kind, f"{where}: arm {name!r}: {key}")
            if "pretrain_seeds" in table:
                table = {**table, "pretrain_seeds": seed_list(table["pretrain_seeds"], f"{where}: arm {name!r}")}
            arms.append(Arm(**table))
        settings = {k: v for k, v in values.items() if k != "arms"}
        for key in ("seeds", "pretrain_seeds"):
            if key in settings:
                settings[key] = seed_list(settings[key], f"{where}: {key}")
        if settings.get("budget", "epochs") not in BUDGETS:
            raise InputError(f"{where}: budget must be one of {BUDGETS}, got {settings['budget']!r}")
        if settings.get("budget") == "steps":
            settings["finetune"] = steps_budget(settings, where)
        for key in ("contrasts", "primary"):
            pairs = settings.get(key, [])
            if not all(isinstance(p, list) and all(isinstance(n, str) for n in p) for p in pairs):
                raise InputError(f"{where}: {key} must be a list of [arm, against] pairs, got {pairs!r}")
            settings[key] = tuple(tuple(pair) for pair in pairs)
        return cls(**settings, arms=tuple(arms))


BUDGETS = ("epochs", "steps")


def steps_budget(settings: dict[str, Any], where: str) -> dict[str, Any]:
    """`budget = "steps"`: [finetune] with max_steps = the plain arm's optimiser steps (its rows, few_shot
    or the whole training table, in batches, times its epochs) and evaluations = its epochs, so an arm with
    more rows (augmented) trains the same steps and chooses its checkpoint among as many dev evaluations."""
    from maskkit.runs.tables import read_table
    from maskkit.training.classify import FinetuneConfig

    finetune = dict(settings.get("finetune") or {})
    given = sorted({"max_steps", "evaluations"} & set(finetune))
    if given:
        raise InputError(f'{where}: budget = "steps" sets [finetune] {" and ".join(given)} itself; leave them out')
    config = FinetuneConfig(output_dir="-", **finetune)
    rows = len(read_table(settings["train"]))
    rows = min(rows, settings.get("few_shot") or rows)
    batches = math.ceil(rows / config.batch_size)
    per_epoch = math.ceil(batches / config.gradient_accumulation_steps)  # on one process (under torchrun
    steps = max(1, math.ceil(config.epochs * per_epoch))  # every arm still gets the same steps)
    return {**finetune, "max_steps": steps, "evaluations": max(1, math.ceil(config.epochs))}


HUB_DATA_KEYS = ("train", "dev", "test", "in_domain")  # a file, or a hub dataset (name or table)
TOP_TYPES = {"train": "text", "dev": "text", "test": "text", "run_dir": "text", "record": "text", "model": "text",
             "text_column": "text", "label_column": "text", "in_domain": "text", "baseline": "text",
             "few_shot": "count", "in_domain_limit": "count", "seeds": "list", "finetune": "table",
             "pretrain": "table", "arms": "list", "contrasts": "list", "pretrain_seeds": "list", "primary": "list",
             "in_domain_sample": "text", "margin": "number", "base": "table", "budget": "text"}  # fmt: skip
ARM_TYPES = {"pretrain": "table", "augment": "table", "distill": "table", "finetune": "table", "reference": "text",
             "best_of": "table", "pretrain_seeds": "list"}  # fmt: skip
# [base]: the general-corpus pre-training every arm starts from (maskkit.study.base runs it)
BASE_DEFAULTS: dict[str, Any] = {"texts": None, "documents": "blank-line", "eval_texts": None,
                                 "domain_eval_texts": None, "eval_blocks": 256, "steps": 2000, "lr": 1e-4,
                                 "batch_size": 32, "max_length": 128, "scheme": "word", "head_warmup_steps": 200,
                                 "warmup_ratio": 0.06, "save_steps": 100, "curve": [], "seed": 1}  # fmt: skip


def check_base(values: dict[str, Any]) -> dict[str, Any]:
    """The [base] table with its defaults; unknown keys and a table without texts are refused."""
    unknown_keys(values, BASE_DEFAULTS, "study: [base]")
    settings = {**BASE_DEFAULTS, **values}
    texts = settings["texts"]
    if isinstance(texts, str):
        settings["texts"] = texts = [texts]
    if not texts or not all(isinstance(t, str) for t in texts):
        raise InputError("study: [base] needs texts = [files or globs] (the general corpus)")
    curve = settings["curve"]
    if not isinstance(curve, list) or not all(isinstance(s, int) and 0 < s < settings["steps"] for s in curve):
        raise InputError(f"study: [base] curve must list steps between 0 and its {settings['steps']} steps")
    return settings
