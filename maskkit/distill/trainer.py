"""Distillation on Trainer: the student learns from soft labels in a column (offline), a live teacher, or a
self-ensemble of itself; and born-again generations, where generation k teaches generation k + 1.

Trainer's default `remove_unused_columns=True` drops columns the model's forward() does not take; the
distillation trainer declares the soft-label columns as its own, so they reach the loss with default
TrainingArguments.

References: Furlanello et al. 2018, Born-Again Neural Networks; Xu et al. 2020, Improving BERT
Fine-Tuning via Self-Ensemble and Self-Distillation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from maskkit.distill.loss import check_distillation, distillation_loss
from maskkit.distill.recipes import DISTILL_RECIPES
from maskkit.distill.soft_labels import (
    SOFT_LABEL_IDS,
    SOFT_LABEL_TEMPERATURE,
    SOFT_LABELS,
    TEACHER_LOGITS,
    check_soft_label_temperature,
    dense_soft_labels,
)
from maskkit.distill.teachers import SelfEnsembleTeacher
from maskkit.errors import InputError
from maskkit.runs.files import read_json
from maskkit.training.classify import ClassifierTrainer, FinetuneConfig, FinetuneResult, finetune_classifier

SOFT_COLUMNS = (SOFT_LABELS, SOFT_LABEL_IDS, TEACHER_LOGITS)


# Settings each named recipe fixes; the others keep their defaults. Xu et al. 2020 (arXiv 2002.10345) have
# no official code: SDA and SDV follow the paper's definitions (the teacher is the average of the student's
# parameters, or of its outputs, over its last K time steps; loss CE + lambda * MSE of logits, lambda 1).
# The paper varies K; maskkit's default K (5, SDA over optimizer steps, SDV over epochs) is a choice, set
# average_k / average_interval to change it.
FROM_RECIPE: Any = None


@dataclass(frozen=True)
class DistillConfig:
    """`recipe` fills the settings left None (`DISTILL_RECIPES`; "hinton" by default): alpha weighs the soft
    term, `weighting` "mix" gives alpha * soft + (1 - alpha) * CE and "add" CE + alpha * soft (Xu et al.'s
    lambda); temperature softens both sides; kind "kl" (Hinton) or "mse" (logits). `self_ensemble` makes
    the teacher of the student itself: "ema" (moving average of weights), "average" (mean of the weights of
    the last `average_k` snapshots, Xu et al.'s SDA) or "outputs" (mean of the logits of the last
    `average_k` snapshots, Xu et al.'s SDV); a snapshot every `average_interval` steps, 0: at each epoch's
    end. `overrides` lists the explicit settings that differ from the recipe."""

    recipe: str = "hinton"
    alpha: float = FROM_RECIPE
    temperature: float = 2.0
    kind: str = FROM_RECIPE
    weighting: str = FROM_RECIPE
    self_ensemble: str | None = FROM_RECIPE
    ema_decay: float = 0.99
    average_k: int = 5
    average_interval: int = FROM_RECIPE
    overrides: tuple[str, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        from maskkit.recipes import check_name, fill_from

        check_name(self.recipe, DISTILL_RECIPES, "recipe")
        names = ("alpha", "kind", "weighting", "self_ensemble", "average_interval")
        filled, overrides = fill_from({n: getattr(self, n) for n in names},
                                      [(DISTILL_RECIPES[self.recipe], f"recipe {self.recipe}")])  # fmt: skip
        for name in names:
            object.__setattr__(self, name, filled[name])
        object.__setattr__(self, "overrides", tuple(overrides))
        check_distillation(self.alpha, self.temperature, self.kind)
        if self.weighting not in ("mix", "add"):
            raise InputError(f"weighting must be 'mix' or 'add', got {self.weighting!r}")
        if self.self_ensemble not in (None, "ema", "average", "outputs"):
            raise InputError(f"self_ensemble must be None, 'ema', 'average' or 'outputs', got {self.self_ensemble!r}")


class DistillationTrainer(ClassifierTrainer):
    """ClassifierTrainer whose loss mixes the hard labels with a teacher's soft ones (see DistillConfig)."""

    def __init__(
        self, *args: Any, distill: DistillConfig = DistillConfig(), teacher: Any = None, **kwargs: Any
    ) -> None:  # fmt: skip
        self.distill = distill
        self.teacher = teacher
        self.ensemble = None
        if distill.self_ensemble is not None:
            self.ensemble = SelfEnsembleTeacher(
                distill.self_ensemble, distill.ema_decay, distill.average_k, distill.average_interval
            )
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), self.ensemble]
        super().__init__(*args, **kwargs)
        self.loss_is_scaled_for_ga = False
        if teacher is not None:
            teacher.to(self.args.device).eval()

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if self._signature_columns is not None:
            self._signature_columns += [c for c in SOFT_COLUMNS if c not in self._signature_columns]

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        inputs = dict(inputs)
        probs, ids, logits = (inputs.pop(c, None) for c in SOFT_COLUMNS)
        labels = inputs.pop("labels", None)
        outputs = model(**inputs)
        num_labels = outputs.logits.shape[-1]
        if not model.training and labels is not None:  # evaluation scores the hard labels
            import torch.nn.functional as F

            loss = F.cross_entropy(outputs.logits.float(), labels)
            return (loss, outputs) if return_outputs else loss
        if probs is not None:
            probs = dense_soft_labels(probs, ids, num_labels)
        elif logits is None:
            if self.ensemble is not None:
                logits = self.ensemble.logits(inputs)
            elif self.teacher is not None:
                import torch

                with torch.no_grad():
                    logits = self.teacher(**inputs).logits
            else:
                raise InputError(
                    "distillation needs a teacher: a soft_labels column (generate_soft_labels), a live teacher "
                    "model, or self_ensemble='ema'|'average'"
                )
        d = self.distill
        if logits is None and probs is None:  # a self-ensemble with no snapshot yet: the hard labels alone
            import torch.nn.functional as F

            loss = F.cross_entropy(outputs.logits.float(), labels)
        else:
            loss = distillation_loss(outputs.logits, labels, d.alpha, d.temperature, d.kind, probs, logits,
                                     d.weighting)  # fmt: skip
        return (loss, outputs) if return_outputs else loss


def load_teacher(folder: str) -> Any:
    """A fine-tuned classifier from its folder; a folder whose model is not a sequence classifier (a
    masked-LM or a bare encoder, which would get a random classification head) is refused."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from maskkit.training.heads import PooledClassifier

    architectures = AutoConfig.from_pretrained(folder).architectures or []
    if not any(
        name.endswith("ForSequenceClassification") or name == PooledClassifier.__name__ for name in architectures
    ):
        raise InputError(
            f"the teacher {folder!r} is not a fine-tuned classifier (its architectures: {architectures or 'none'}); "
            "a teacher loaded from it would predict with a random head: give a classifier's folder"
        )
    return AutoModelForSequenceClassification.from_pretrained(folder)


def check_teacher(teacher: Any, label_names: list[str]) -> None:
    """The teacher must predict the student's label set, in the same order; transformers' generic names
    (LABEL_0, ...) cannot show an order and are refused unless the student's labels are 0, 1, ..."""
    id2label = getattr(teacher.config, "id2label", None) or {}
    theirs = [str(id2label[i]) for i in sorted(id2label)]
    if len(theirs) != len(label_names):
        raise InputError(f"the teacher predicts {len(theirs)} labels {theirs} but the data has {label_names}")
    generic = all(name == f"LABEL_{i}" for i, name in enumerate(theirs))
    numbered = label_names == [str(i) for i in range(len(label_names))]
    if generic and not numbered:
        raise InputError(
            f"the teacher's labels are transformers' generic names {theirs}, so their order against the student's "
            f"{label_names} cannot be checked: save the teacher with id2label naming its classes"
        )
    if not generic and theirs != label_names:
        raise InputError(f"the teacher's labels {theirs} differ from the student's {label_names}")


def with_teacher_soft_labels(
    teacher: Any, train: Any, tokenizer: Any, config: FinetuneConfig, distill: DistillConfig, top_k: int | None = None
) -> Any:  # fmt: skip
    """`train` (raw rows) with the soft-label columns of `teacher`'s predictions, after checking that the
    teacher predicts the data's label set in the same order."""
    from maskkit.distill.soft_labels import generate_soft_labels
    from maskkit.runs.models import on_best_device
    from maskkit.training.data import as_dataset, prepare_classification

    train = as_dataset(train, "train")
    encoded, label_names = prepare_classification({"train": train}, tokenizer, config)
    check_teacher(teacher, label_names)
    labelled = generate_soft_labels(
        on_best_device(teacher), encoded["train"], tokenizer, distill.temperature, top_k=top_k,
        keep_logits=distill.kind == "mse", progress=config.progress,
    )  # fmt: skip
    for column in (*SOFT_COLUMNS, SOFT_LABEL_TEMPERATURE):
        if column in labelled.column_names and column not in train.column_names:
            train = train.add_column(column, labelled[column])
    return train


def check_soft_columns(train: Any, num_labels: int) -> tuple[str, ...]:
    """The soft-label columns present in the `train` Dataset, after checking their width against the labels."""
    present = tuple(c for c in SOFT_COLUMNS if c in train.column_names)
    first = train[0]
    for column in (SOFT_LABELS, TEACHER_LOGITS):
        if column in present and SOFT_LABEL_IDS not in present and len(first[column]) != num_labels:
            raise InputError(f"{column!r} has width {len(first[column])} but the data has {num_labels} labels")
    return present


def distill_classifier(
    model: Any, tokenizer: Any, train: Any, config: FinetuneConfig, distill: DistillConfig = DistillConfig(),
    dev: Any = None, test: Any = None, teacher: Any = None, live: bool = True, soft_top_k: int | None = None,
) -> FinetuneResult:  # fmt: skip
    """Fine-tunes a student with the distillation loss; the teacher is a soft-label column of `train`, a
    `teacher` model (or folder), or a self-ensemble (`distill.self_ensemble`). A teacher runs beside the
    student on every batch (`live`, needed for dropout-noised teachers), or, with `live=False`, labels the
    training set once before training (`soft_top_k`: keep only its k most likely labels per row). Checked
    before training."""
    from maskkit.training.data import as_dataset, label_names_from, label_values

    train = as_dataset(train, "train")
    label_names = label_names_from(label_values(train, config.label_column, "train"))
    if isinstance(teacher, (str, os.PathLike)):
        from maskkit.runs.models import resolve_model_dir

        teacher = load_teacher(resolve_model_dir(teacher))
    if teacher is not None:
        check_teacher(teacher, label_names)
        if not live:  # soft labels once, from the teacher's predictions over the training set
            train, teacher = with_teacher_soft_labels(teacher, train, tokenizer, config, distill, soft_top_k), None
    soft = check_soft_columns(train, len(label_names))
    if SOFT_LABELS in soft:
        check_soft_label_temperature(train, distill.temperature, "DistillConfig.temperature")
    if not soft and teacher is None and distill.self_ensemble is None:
        raise InputError("no teacher: give a soft_labels column, a teacher model or folder, or a self_ensemble")
    if distill.kind == "mse" and SOFT_LABELS in soft and TEACHER_LOGITS not in soft:
        raise InputError("the MSE loss needs teacher logits: generate_soft_labels(..., keep_logits=True)")
    return finetune_classifier(
        model, tokenizer, train, config, dev=dev, test=test, trainer_class=DistillationTrainer,
        trainer_kwargs={"distill": distill, "teacher": teacher}, keep_columns=soft,
    )  # fmt: skip


def born_again(
    model: Any, tokenizer: Any, train: Any, config: FinetuneConfig, generations: int = 2,
    distill: DistillConfig = DistillConfig(), dev: Any = None, test: Any = None,
) -> list[FinetuneResult]:  # fmt: skip
    """Born-again networks: generation 0 learns the hard labels; generation k + 1 starts again from `model`
    and learns from generation k's soft labels. Generation g lives in `config.output_dir/gen-g`; a
    finished generation (metrics.json present) is reused."""
    from transformers import AutoModelForSequenceClassification

    from maskkit.training.data import as_dataset

    if generations < 1:
        raise InputError(f"generations must be >= 1, got {generations}")
    results: list[FinetuneResult] = []
    train = as_dataset(train, "train")
    for g in range(generations + 1):
        stage = replace(config, output_dir=os.path.join(config.output_dir, f"gen-{g}"))
        saved = read_json(os.path.join(stage.output_dir, "metrics.json"))
        if saved is not None:  # finished earlier
            results.append(FinetuneResult(**saved))
            continue
        if g == 0:
            results.append(finetune_classifier(model, tokenizer, train, stage, dev=dev, test=test))
            continue
        teacher = AutoModelForSequenceClassification.from_pretrained(results[-1].output_dir)
        labelled = with_teacher_soft_labels(teacher, train, tokenizer, stage, distill)
        results.append(distill_classifier(model, tokenizer, labelled, stage, distill, dev=dev, test=test))
    return results
