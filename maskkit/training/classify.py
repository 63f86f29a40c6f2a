"""Classifier fine-tuning on Trainer with the known recipes (Sun et al. 2019, "How to Fine-Tune BERT").

AdamW with warmup and linear decay (defaults lr 2e-5, batch 32, 3 epochs), layer-wise learning-rate
decay, head/tail/head+tail truncation, pooling from the pooler, [CLS], the mean, or the concatenated
[CLS] of the last k layers, an MLP head with its own learning rate over an optionally frozen encoder,
early stopping on a dev set, accuracy and macro-F1, bf16/fp16 on a GPU. The saved folder reloads with
`from_pretrained` (a custom head is a `PooledClassifier`).

References: Sun et al. 2019, How to Fine-Tune BERT for Text Classification?
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from transformers import Trainer

from maskkit.errors import InputError
from maskkit.progress import trainer_progress, without_log_printing
from maskkit.runs.files import claim_folder, write_json
from maskkit.runs.models import check_positions, model_files, quiet_loading, resolve_model_dir, seeded_init
from maskkit.training.checkpoints import complete_checkpoints_callback, last_complete_checkpoint
from maskkit.training.data import prepare_classification
from maskkit.training.encode import EncodeForClassification
from maskkit.training.heads import POOLINGS, PooledClassifier, check_head
from maskkit.training.optim import parameter_groups
from maskkit.training.settings import TrainingSettings, folder_settings, training_arguments


@dataclass
class FinetuneConfig(TrainingSettings):
    """One fine-tuning run: the shared `TrainingSettings` at BERT's fine-tuning defaults (lr 2e-5, 3 epochs,
    10% warm-up) and the classifier's own. `pooling="pooler"` is the stock transformers head; others use
    PooledClassifier."""

    epochs: float = 3.0
    lr: float = 2e-5
    warmup_ratio: float = 0.1
    text_column: str = "text"
    pair_column: str | None = None
    label_column: str = "label"
    truncation: str = "head"
    head_tokens: int = 128
    llrd: float | None = None
    llrd_embeddings: str = "base"  # "base": embeddings at lr (Sun et al.'s code); "decayed": lr * llrd^L
    pooling: str = "pooler"
    last_k: int = 4
    head_hidden: tuple[int, ...] = ()
    head_dropout: float = 0.1
    head_lr: float | None = None
    freeze_base: bool = False
    early_stopping_patience: int | None = None
    metric: str = "macro_f1"
    eval_batch_size: int = 64
    evaluations: int = 0  # with max_steps: dev evaluations (checkpoints to choose from), evenly spaced; 0: each epoch

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pooling not in ("pooler", *POOLINGS):
            raise InputError(f"pooling must be pooler, {', '.join(POOLINGS)}; got {self.pooling!r}")
        if self.metric not in ("accuracy", "macro_f1"):
            raise InputError(f"metric must be accuracy or macro_f1, got {self.metric!r}")
        if self.head_lr is not None and self.head_lr <= 0:
            raise InputError(f"head_lr must be > 0, got {self.head_lr}")
        self.head_hidden = tuple(int(h) for h in self.head_hidden)
        check_head(self.last_k, self.head_hidden, self.head_dropout)
        if self.evaluations < 0 or (self.evaluations and self.max_steps < 1):
            raise InputError(f"evaluations must be >= 0 and needs max_steps (a budget in steps), got "
                             f"{self.evaluations} with max_steps {self.max_steps}")  # fmt: skip
        if self.llrd_embeddings not in ("base", "decayed"):
            raise InputError(f"llrd_embeddings must be 'base' or 'decayed', got {self.llrd_embeddings!r}")
        EncodeForClassification(None, max_length=self.max_length, truncation=self.truncation,
                                head_tokens=self.head_tokens, pair_column=self.pair_column)  # fmt: skip


@dataclass
class FinetuneResult:
    output_dir: str
    label_names: list[str]
    dev: dict[str, float]
    test: dict[str, float]
    steps: int
    seconds: float
    evaluations: int = 0  # dev evaluations the kept checkpoint was chosen among
    start: str | None = None  # the model folder it started from (a hub id's cache snapshot names its commit)
    test_correct: str | None = None  # which test examples the kept checkpoint got right (`correct_bits`)


def correct_bits(correct: Any) -> str:
    """Which examples were predicted right, as "N:" and base64 of the packed bits (a 1,821-example test set:
    309 characters), small enough for every run's results in a committed study record."""
    import base64

    import numpy as np

    bits = np.asarray(correct, dtype=bool)
    return f"{len(bits)}:" + base64.b64encode(np.packbits(bits).tobytes()).decode("ascii")


def read_correct_bits(text: str) -> Any:
    """`correct_bits`' examples back, as a bool array."""
    import base64

    import numpy as np

    count, _, packed = text.partition(":")
    return np.unpackbits(np.frombuffer(base64.b64decode(packed), dtype=np.uint8), count=int(count)).astype(bool)


def write_predictions(folder: str, prediction: Any, trainer: Any) -> str:
    """Writes `predictions.parquet` (per test example, in the test file's order: label and predicted label
    ids) and returns the examples' right/wrong as `correct_bits`."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from maskkit.runs.files import atomic_path

    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    predicted, labels = np.asarray(logits).argmax(-1), np.asarray(prediction.label_ids)
    if trainer.is_world_process_zero():
        os.makedirs(folder, exist_ok=True)
        with atomic_path(os.path.join(folder, "predictions.parquet")) as tmp:
            pq.write_table(pa.table({"label": labels.astype(np.int32), "predicted": predicted.astype(np.int32)}), tmp)
    return correct_bits(predicted == labels)


def classification_metrics(eval_pred: Any) -> dict[str, float]:
    """Accuracy and macro-F1 (scikit-learn) from Trainer's predictions."""
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    logits, labels = eval_pred
    logits = logits[0] if isinstance(logits, tuple) else logits
    predicted = np.asarray(logits).argmax(-1)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
    }


class ClassifierTrainer(Trainer):
    """Trainer whose AdamW groups carry layer-wise decayed learning rates and the head's own rate."""

    def __init__(
        self, *args: Any, llrd: float | None = None, head_lr: float | None = None, llrd_embeddings: str = "base",
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.llrd, self.head_lr, self.llrd_embeddings = llrd, head_lr, llrd_embeddings
        # transformers 5.23 takes a forward(**kwargs) as "normalises by num_items_in_batch", but its sequence
        # classifiers return a per-batch mean: Trainer then skips the division for gradient accumulation and
        # multiplies by the process count under DDP (2x the gradient on two processes). The mean is what
        # they return, so Trainer is told so.
        self.model_accepts_loss_kwargs = False

    def create_optimizer(self, model: Any = None) -> Any:
        if self.optimizer is None:
            target: Any = self.model if model is None else model
            groups = parameter_groups(
                target, self.args.learning_rate, self.llrd, self.head_lr, self.args.weight_decay,
                set(self.get_decay_parameter_names(target)), self.llrd_embeddings,
            )  # fmt: skip
            optimizer_cls, kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, target)
            kwargs.pop("lr", None)
            self.optimizer = optimizer_cls(groups, **kwargs)
        return self.optimizer


def build_classifier(model: Any, label_names: list[str], config: FinetuneConfig) -> Any:
    """A classifier from a local folder (stock head for `pooler`, PooledClassifier otherwise), base frozen if asked."""
    from transformers import AutoModelForSequenceClassification

    id2label = dict(enumerate(label_names))
    label2id = {name: i for i, name in id2label.items()}
    if not isinstance(model, (str, os.PathLike)) and model is not None:
        loaded = model
    else:
        folder = resolve_model_dir(model)
        with quiet_loading(), model_files(folder):  # a new classification head is expected
            if config.pooling == "pooler" and not config.head_hidden:
                loaded = AutoModelForSequenceClassification.from_pretrained(
                    folder, num_labels=len(label_names), id2label=id2label, label2id=label2id
                )
            else:
                loaded = PooledClassifier.from_encoder(
                    folder, num_labels=len(label_names), id2label=id2label, label2id=label2id,
                    pooling="cls" if config.pooling == "pooler" else config.pooling, last_k=config.last_k,
                    head_hidden=config.head_hidden, head_dropout=config.head_dropout,
                )  # fmt: skip
    check_positions(loaded, config.max_length)
    if loaded.config.num_labels != len(label_names):
        raise InputError(f"the model predicts {loaded.config.num_labels} labels but the data has {len(label_names)}")
    if config.freeze_base:
        for param in loaded.base_model.parameters():
            param.requires_grad_(False)
    return loaded


def finetune_arguments(config: FinetuneConfig, has_dev: bool) -> Any:
    """The shared TrainingArguments with model selection on dev: evaluated and saved every epoch, the best
    epoch by `metric` kept (without a dev set: the last epoch)."""
    evaluate = "epoch" if has_dev else "no"
    spacing: dict[str, Any] = {}
    if has_dev and config.evaluations:  # a budget in steps: the same evaluations for every run, whatever its rows
        evaluate, every = "steps", max(1, config.max_steps // config.evaluations)
        spacing = {"eval_steps": every, "save_steps": every}
    return training_arguments(
        config, os.path.join(config.output_dir, "checkpoints"), per_device_eval_batch_size=config.eval_batch_size,
        eval_strategy=evaluate, save_strategy=evaluate if has_dev else "epoch", save_total_limit=2,
        load_best_model_at_end=has_dev, metric_for_best_model=config.metric if has_dev else None,
        greater_is_better=True, **spacing,
    )  # fmt: skip


def finetune_folder_settings(
    model: Any,
    config: FinetuneConfig,
    trainer_class: type,
    trainer_kwargs: dict[str, Any] | None,
    keep_columns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What a fine-tuning run folder is for: the start model, the config and the trainer's own settings."""
    settings = folder_settings(model, config)
    if not settings.get("evaluations"):  # recorded only when set: older run folders keep their settings
        settings.pop("evaluations", None)
    extra = {k: asdict(v) if is_dataclass(v) and not isinstance(v, type) else v
             for k, v in (trainer_kwargs or {}).items() if k != "teacher"}  # fmt: skip
    columns = {"keep_columns": list(keep_columns)} if keep_columns else {}
    return {**settings, "trainer": trainer_class.__name__, **extra, **columns}


def finetune_classifier(
    model: Any, tokenizer: Any, train: Any, config: FinetuneConfig, dev: Any = None, test: Any = None,
    trainer_class: type[ClassifierTrainer] = ClassifierTrainer, trainer_kwargs: dict[str, Any] | None = None,
    keep_columns: tuple[str, ...] = (),
) -> FinetuneResult:  # fmt: skip
    """Fine-tunes a classifier on `train` (evaluating on `dev` each epoch) and saves it to `config.output_dir`.

    `model`: a local folder (None: the embedded MiniLM) or a loaded model. Data: a `datasets.Dataset`, a
    list of row dicts or a dict of columns, with `text_column` (and `pair_column`) and `label_column`.
    Everything is checked before training starts. A rerun resumes from the newest checkpoint.
    """
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback

    started = time.time()
    settings = finetune_folder_settings(model, config, trainer_class, trainer_kwargs, keep_columns)
    claim_folder(config.output_dir, settings, "fine-tuning run")
    splits, label_names = prepare_classification(
        {"train": train, "dev": dev, "test": test},
        tokenizer,
        config,
        extra_columns=keep_columns,
    )
    with seeded_init(config.seed):  # a new head's initial weights are part of the run
        classifier = build_classifier(model, label_names, config)
    callbacks = [complete_checkpoints_callback(), *trainer_progress(config.progress)[1]]
    if config.early_stopping_patience is not None:
        if "dev" not in splits:
            raise InputError("early stopping needs a dev set")
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    trainer = trainer_class(
        model=classifier, args=finetune_arguments(config, "dev" in splits), train_dataset=splits["train"],
        eval_dataset=splits.get("dev"), data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=classification_metrics, callbacks=callbacks, llrd=config.llrd, head_lr=config.head_lr,
        llrd_embeddings=config.llrd_embeddings,
        **(trainer_kwargs or {}),
    )  # fmt: skip
    without_log_printing(trainer)
    resume = last_complete_checkpoint(str(trainer.args.output_dir), remove=trainer.is_world_process_zero())
    output = trainer.train(resume_from_checkpoint=resume)
    scores: dict[str, dict[str, float]] = {}  # the checkpoint kept (the best on dev), scored on dev and test
    correct: str | None = None
    for name in ("dev", "test"):
        if name not in splits:
            continue
        if name == "test":  # per-example predictions too: a report's bootstrap resamples test examples
            prediction = trainer.predict(splits[name], metric_key_prefix=name)
            metrics, correct = prediction.metrics or {}, write_predictions(config.output_dir, prediction, trainer)
            trainer.log(metrics)  # predict() logs nothing itself: the test scores in log_history, as evaluate's
        else:
            metrics = trainer.evaluate(splits[name], metric_key_prefix=name)
        scores[name] = {k.removeprefix(f"{name}_"): float(v) for k, v in metrics.items()
                        if k in (f"{name}_accuracy", f"{name}_macro_f1", f"{name}_loss")}  # fmt: skip
    trainer.save_model(config.output_dir)
    result = FinetuneResult(
        output_dir=config.output_dir, label_names=label_names, dev=scores.get("dev", {}), test=scores.get("test", {}),
        steps=int(output.global_step), seconds=time.time() - started,
        evaluations=sum(1 for entry in trainer.state.log_history if "eval_loss" in entry),
        start=resolve_model_dir(model) if isinstance(model, (str, os.PathLike)) or model is None else None,
        test_correct=correct,
    )  # fmt: skip
    if trainer.is_world_process_zero():  # one writer under torchrun
        tokenizer.save_pretrained(config.output_dir)
        write_json(os.path.join(config.output_dir, "run_config.json"), asdict(config))
        write_json(os.path.join(config.output_dir, "metrics.json"), asdict(result))
    trainer.accelerator.wait_for_everyone()
    return result
