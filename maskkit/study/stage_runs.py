"""The run functions of a study's stages (see `maskkit.study.plan.Plan`): the training sample of a seed,
further pre-training (masking schemes, the label-free entropy selection, the selective pipeline and its
control, snapshots for a "when to stop" curve), augmentation of a sample, and fine-tuning (with
self-distillation). Each takes the Study (its folders and the results of other stages) and the stage's
own settings, and returns the figures the stage records."""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from maskkit.runs.stages import StageSettings
from maskkit.study.config import StudyConfig

if TYPE_CHECKING:
    from maskkit.study.plan import Study

MODEL = "model"


def arm_augmenter(config: StudyConfig, spec: dict[str, Any], seed: int) -> tuple[Any, int]:
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


def start_model(run: Study, c: StageSettings) -> str:
    """The model a stage starts from: the study's base model when it has a [base], else `model`."""
    from maskkit.runs.models import resolve_model_dir

    base = c.as_dict().get("start_model")
    return os.path.join(run.folder(base), MODEL) if base else resolve_model_dir(c.model)


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
    write_table(sample, os.path.join(run.folder(c.stage_name), "train.jsonl"))
    counts: dict[str, int] = {}
    for i in order:
        counts[labels[i]] = counts.get(labels[i], 0) + 1
    return {"rows": len(sample), "per_class": counts}


def run_in_domain_sample(run: Study, c: StageSettings) -> dict[str, Any]:
    """`in_domain_limit` lines drawn without replacement, uniformly over the whole in-domain file by the
    study's first seed, kept in file order (all lines when the limit is 0), written as `lines.txt`."""
    import numpy as np

    from maskkit.runs.files import write_text
    from maskkit.runs.tables import text_lines

    lines = text_lines(c.in_domain)
    if c.in_domain_limit and c.in_domain_limit < len(lines):
        chosen = np.random.default_rng(c.seed).choice(len(lines), size=c.in_domain_limit, replace=False)
        lines = [lines[i] for i in sorted(chosen)]
    write_text(os.path.join(run.folder(c.stage_name), "lines.txt"), "".join(line + "\n" for line in lines))
    return {"lines": len(lines), "sample": c.in_domain_sample}


def pretraining_lines(c: StageSettings, run: Study | None = None) -> list[str]:
    """The in-domain lines a pre-training run reads: the sample stage's (`in_domain_lines`), or the file's
    first `in_domain_limit` lines (`in_domain_sample = "first"`)."""
    from maskkit.runs.tables import text_lines

    if c.in_domain is None:
        return []
    lines_stage = c.as_dict().get("in_domain_lines")
    if lines_stage is not None:
        assert run is not None
        with open(os.path.join(run.folder(lines_stage), "lines.txt"), encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]
    return text_lines(c.in_domain, c.in_domain_limit or None)


def task_texts(c: StageSettings) -> list[str]:
    from maskkit.runs.tables import read_table

    return [t for t in (str(v).strip() for v in read_table(c.train)[c.text_column]) if t]


def run_pretrain(run: Study, c: StageSettings) -> dict[str, Any]:
    from transformers import AutoTokenizer

    folder, s, spec = run.folder(c.stage_name), c.settings, c.spec
    base = start_model(run, c)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if "selective" in spec:
        return selective_pipeline_models(run, c, base, folder)
    from maskkit.collate import MaskingCollator
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    config = PretrainConfig(output_dir=os.path.join(folder, MODEL), max_steps=int(s["steps"]), lr=float(s["lr"]),
                            batch_size=int(s["batch_size"]), max_length=int(s["max_length"]),
                            head_warmup_steps=int(s["head_warmup_steps"]), warmup_ratio=float(s["warmup_ratio"]),
                            seed=c.seed, progress=c.progress, logging_steps=max(int(s["steps"]) // 10, 1))  # fmt: skip
    snapshots = Snapshots(c.as_dict().get("checkpoints") or [], folder, tokenizer)
    if "entropy" in spec:
        from maskkit.masking.selectors import ScoredSelector
        from maskkit.selective.label_free import label_free_importance

        task = os.path.join(run.folder(c.task_model), MODEL)
        data = label_free_importance(task, tokenizer, pretraining_lines(c, run), int(s["max_length"]), log=run.log)
        collator = MaskingCollator(tokenizer, ScoredSelector(rate=float(spec.get("rate", 0.15)), mode="top"),
                                   seed=c.seed)  # fmt: skip
        result = further_pretrain(base, tokenizer, data, collator, config, callbacks=snapshots.callbacks)
        return {"model": config.output_dir, "steps": result.steps, "train_loss": result.train_loss,
                "scored_texts": len(data), **snapshots.results}  # fmt: skip
    from maskkit.registry import from_dict

    collator = MaskingCollator(tokenizer, from_dict(spec["selector"]), from_dict(spec["corruption"]), seed=c.seed)
    texts = {"in_domain": [pretraining_lines(c, run)], "task": [task_texts(c)],
             "domain_then_task": [pretraining_lines(c, run), task_texts(c)]}[s["on"]]  # fmt: skip
    if s.get("packing"):  # every arm's lines packed into blocks of max_length tokens, the same way
        from datasets import Dataset

        from maskkit.training.corpus import corpus_blocks

        texts = [corpus_blocks(Dataset.from_dict({"text": t}), tokenizer, int(s["max_length"]), s["packing"])
                 for t in texts]  # fmt: skip
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


def selective_pipeline_models(run: Study, c: StageSettings, base: str, folder: str) -> dict[str, Any]:
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
    in_domain, in_domain_limit = c.in_domain, c.in_domain_limit
    if c.as_dict().get("in_domain_lines") is not None:  # the study's sample of the in-domain file, read whole
        in_domain, in_domain_limit = os.path.join(run.folder(c.as_dict()["in_domain_lines"]), "lines.txt"), 0
    config = SelectiveConfig(
        run_dir=os.path.join(folder, "pipeline"), model=base, train=os.path.join(run.folder(c.sample), "train.jsonl"),
        dev=c.dev, test=c.test, text_column=c.text_column, label_column=c.label_column, in_domain=in_domain,
        in_domain_limit=in_domain_limit, recipe=c.spec["selective"], seeds=(c.seed,), pretrain_steps=int(s["steps"]),
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
    write_table(augmented, os.path.join(run.folder(c.stage_name), "train.jsonl"))
    return {"rows_in": len(sample), "rows_out": len(augmented)}


def run_finetune(run: Study, c: StageSettings) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from maskkit.runs.tables import read_table
    from maskkit.training.classify import FinetuneConfig, finetune_classifier

    base = start_model(run, c)
    start = base
    if c.start is not None:
        start = run.results(c.start)["control_model" if c.control else "model"]
        checkpoint = c.as_dict().get("checkpoint")
        if checkpoint is not None:
            start = run.results(c.start)["checkpoints"][str(checkpoint)]
    tokenizer = AutoTokenizer.from_pretrained(base)
    train = read_table(os.path.join(run.folder(c.data), "train.jsonl"))
    dev, test = read_table(c.dev), read_table(c.test)
    config = FinetuneConfig(output_dir=os.path.join(run.folder(c.stage_name), MODEL), seed=c.seed,
                            text_column=c.text_column, label_column=c.label_column, progress=c.progress,
                            **c.finetune)  # fmt: skip
    if c.distill is not None:
        from maskkit.distill.trainer import DistillConfig, distill_classifier

        teacher = os.path.join(run.folder(c.teacher), MODEL)
        result = distill_classifier(start, tokenizer, train, config, DistillConfig(**c.distill), dev, test,
                                    teacher=teacher, live=False)  # fmt: skip
    else:
        result = finetune_classifier(start, tokenizer, train, config, dev, test)
    loaded = (
        os.path.relpath(start, run.run_dir)
        if os.path.abspath(start).startswith(os.path.abspath(run.run_dir))
        else start
    )
    return {
        "dev": result.dev,
        "test": result.test,
        "steps": result.steps,
        "train_rows": len(train),
        "evaluations": result.evaluations,  # the dev evaluations its checkpoint was chosen among
        "loaded": loaded,  # the model folder the run started from, for checking
        "test_correct": result.test_correct,  # per test example, for the report's hierarchical bootstrap
    }
