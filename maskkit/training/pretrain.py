"""Further pre-training: masked-LM training on unlabelled text with any maskkit collator, in stages.

The seeds' recipe is general pre-training -> in-domain text -> the task's own text -> fine-tuning;
each stage is one `further_pretrain` call whose saved folder is the next stage's model. Progress is
Trainer's; checkpoints resume; a finished stage (its metrics.json written) is skipped on a rerun.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from maskkit.collate import MaskingCollator
from maskkit.errors import InputError, MissingKey, WrongType
from maskkit.progress import trainer_progress, without_log_printing
from maskkit.registry import spec_of
from maskkit.runs.files import claim_folder, distributed_follower, read_json, write_json
from maskkit.runs.models import check_positions, load_masked_lm, seeded_init
from maskkit.training.checkpoints import complete_checkpoints_callback, last_complete_checkpoint
from maskkit.training.mlm import MaskedLMTrainer, fixed_mask_loss, perplexity
from maskkit.training.settings import TrainingSettings, folder_settings, training_arguments


@dataclass
class PretrainConfig(TrainingSettings):
    """Settings of one further pre-training stage: the shared `TrainingSettings` (lr 5e-5, 6% warm-up,
    one epoch) and the MLM head's own."""

    sparse_head: bool = True  # the MLM head scores only the masked positions
    head_warmup_steps: int = 0  # steps that train a new MLM head alone before the encoder joins
    head_warmup_lr: float = 1e-3
    save_steps: int = 500

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.save_steps < 1:
            raise InputError(f"save_steps must be >= 1, got {self.save_steps}")
        if self.head_warmup_lr <= 0:
            raise InputError(f"head_warmup_lr must be > 0, got {self.head_warmup_lr}")
        if self.head_warmup_steps < 0:
            raise InputError(f"head_warmup_steps must be >= 0, got {self.head_warmup_steps}")


@dataclass
class PretrainResult:
    output_dir: str
    steps: int
    train_loss: float | None
    eval_loss_before: float | None = None
    eval_loss_after: float | None = None
    head_was_new: bool = False
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def perplexity_after(self) -> float | None:
        return None if self.eval_loss_after is None else perplexity(self.eval_loss_after)


def as_tokenized(data: Any, tokenizer: Any, max_length: int, what: str) -> Any:
    """Texts (a list, or a Dataset with a `text` column) -> a tokenised Dataset; tokenised data passes."""
    from datasets import Dataset

    from maskkit.dataset_stages import Tokenize

    if isinstance(data, (list, tuple)):
        bad = [i for i, t in enumerate(data) if not (isinstance(t, str) and t.strip())]
        if bad:
            raise InputError(
                f"{what}: {len(bad)} of {len(data)} items are empty or not text (first: item {bad[0]}, "
                f"{data[bad[0]]!r})"
            )
        data = Dataset.from_dict({"text": list(data)})
    if not hasattr(data, "column_names"):
        raise WrongType(f"{what} must be a list of texts or a datasets.Dataset, got {type(data).__name__}")
    if not hasattr(data, "__len__"):  # a stream (datasets.IterableDataset): tokenised as it is read
        if "input_ids" not in (data.column_names or ()):
            raise MissingKey(f"{what} is a stream without an 'input_ids' column: prepare it with "
                             "maskkit.training.corpus.corpus_blocks")  # fmt: skip
        return data
    if len(data) == 0:
        raise InputError(f"{what} is empty")
    if "input_ids" in data.column_names:
        return data
    if "text" not in data.column_names:
        raise MissingKey(f"{what} has neither a 'text' nor an 'input_ids' column (columns: {data.column_names})")
    return data.map(
        Tokenize(tokenizer, max_length=max_length), batched=True, remove_columns=data.column_names, desc="tokenise"
    )


def fixed_masks(data: Any, tokenizer: Any, collator: Any, max_length: int) -> Any:
    """An evaluation set with fixed masks, drawn by the training collator's scheme under its own salt."""
    from maskkit.collate import MaskingCollator
    from maskkit.dataset_stages import static_mask

    tokenized = as_tokenized(data, tokenizer, max_length, "the evaluation set")
    if "labels" in tokenized.column_names:
        return tokenized
    eval_collator = MaskingCollator(
        tokenizer, collator.selector, collator.corruption, seed=collator.seed, salt=f"{collator.salt}/eval"
    )
    return static_mask(tokenized, eval_collator)


def pretrain_arguments(config: PretrainConfig, output_dir: str, max_steps: int, lr: float, stream: bool = False) -> Any:
    """The shared TrainingArguments with the MLM run's step count, rate and checkpointing; every column
    reaches the collator (it drops what the model does not read). A stream is read by every process, each
    its own shards (`dispatch_batches` off), instead of by the first process for all of them."""
    extra: dict[str, Any] = {"accelerator_config": {"dispatch_batches": False}} if stream else {}
    return training_arguments(
        config,
        output_dir,
        max_steps=max_steps,
        learning_rate=lr,
        save_steps=config.save_steps,
        save_total_limit=2,
        remove_unused_columns=False,
        **extra,
    )


def warm_up_head(model: Any, train: Any, collator: Any, config: PretrainConfig) -> float | None:
    """Trains only the MLM head (encoder frozen) so a new head's first gradients do not hit the encoder."""
    encoder = model.base_model
    flags = {id(p): p.requires_grad for p in encoder.parameters()}
    for p in encoder.parameters():
        p.requires_grad_(False)
    try:
        args = pretrain_arguments(config, os.path.join(config.output_dir, "head-warmup"), config.head_warmup_steps,
                                  config.head_warmup_lr, stream=not hasattr(train, "__len__"))  # fmt: skip
        args.save_strategy = "no"
        trainer = without_log_printing(MaskedLMTrainer(model=model, args=args, train_dataset=train,
                                                       data_collator=collator))  # fmt: skip
        return float(trainer.train().training_loss)
    finally:
        for p in encoder.parameters():
            p.requires_grad_(flags[id(p)])


def pretrain_folder_settings(model: Any, collator: Any, config: PretrainConfig) -> dict[str, Any]:
    """What a pre-training folder is for: the start model, the config and the masking (not the epoch)."""
    masking = {name: spec_of(getattr(collator, name, None)) for name in ("selector", "corruption")}
    masking.update(seed=getattr(collator, "seed", None), salt=getattr(collator, "salt", None))
    if getattr(collator, "span_boundaries", False):  # recorded only when on: older run folders stay valid
        masking["span_boundaries"] = True
    return {**folder_settings(model, config), **masking}


def further_pretrain(
    model: Any,
    tokenizer: Any,
    train: Any,
    collator: Any,
    config: PretrainConfig,
    eval_data: Any = None,
    callbacks: Sequence[Any] = (),
) -> PretrainResult:
    """Further pre-trains `model` (a folder or a loaded masked-LM) on `train` texts with `collator`'s masks.

    Saves the model and tokenizer to `config.output_dir` and returns the held-out fixed-mask loss before
    and after (when `eval_data` is given). A rerun resumes from the newest checkpoint in the folder.
    """
    from maskkit.training.callbacks import EpochCallback, keep_columns

    started = time.time()
    if not hasattr(train, "__len__") and config.max_steps < 1:
        raise InputError("a streamed corpus has no length to count epochs in: set max_steps")
    claim_folder(config.output_dir, pretrain_folder_settings(model, collator, config), "pre-training run")
    head_new = False
    if model is None or isinstance(model, (str, os.PathLike)):
        with seeded_init(config.seed):  # a new MLM head's initial weights are part of the run
            model, head_new = load_masked_lm(model)
    check_positions(model, config.max_length)
    if getattr(collator, "span_boundaries", False):  # SpanBERT's span boundary objective beside the MLM loss
        from maskkit.training.span_boundary import attach_span_boundary_head

        with seeded_init(config.seed):
            attach_span_boundary_head(model)
    train_set = as_tokenized(train, tokenizer, config.max_length, "the training texts")
    stream = not hasattr(train_set, "__len__")
    # Trainer's remove_unused_columns would drop what only the collator reads (importance scores, word
    # ids); the columns neither the model nor the collator reads are dropped here instead.
    train_set = keep_columns(train_set, collator, model)
    if stream and isinstance(collator, MaskingCollator):  # each pass new masks, a resume exact in any pass
        from maskkit.dataset_stages import repeat_passes

        train_set = repeat_passes(train_set)
    fixed = None if eval_data is None else fixed_masks(eval_data, tokenizer, collator, config.max_length)
    before = None if fixed is None else fixed_mask_loss(model, fixed, tokenizer, config.batch_size)
    os.makedirs(config.output_dir, exist_ok=True)
    checkpoints = os.path.join(config.output_dir, "checkpoints")
    resume = last_complete_checkpoint(checkpoints, remove=not distributed_follower())
    warmup_loss = None
    if config.head_warmup_steps and resume is None:
        warmup_loss = warm_up_head(model, train_set, collator, config)
    trainer = MaskedLMTrainer(
        model=model, args=pretrain_arguments(config, checkpoints, config.max_steps, config.lr, stream),
        train_dataset=train_set, data_collator=collator,
        callbacks=[EpochCallback(collator), complete_checkpoints_callback(), *trainer_progress(config.progress)[1],
                   *callbacks],
        sparse_head=config.sparse_head,
    )  # fmt: skip
    without_log_printing(trainer)
    output = trainer.train(resume_from_checkpoint=resume)
    after = None if fixed is None else fixed_mask_loss(model, fixed, tokenizer, config.batch_size)
    trainer.save_model(config.output_dir)
    result = PretrainResult(
        output_dir=config.output_dir, steps=int(output.global_step), train_loss=float(output.training_loss),
        eval_loss_before=before, eval_loss_after=after, head_was_new=head_new, seconds=time.time() - started,
        extra={"head_warmup_loss": warmup_loss, "selector": spec_of(collator.selector), "config": asdict(config)},
    )  # fmt: skip
    if trainer.is_world_process_zero():  # one writer under torchrun
        tokenizer.save_pretrained(config.output_dir)
        write_json(
            os.path.join(config.output_dir, "metrics.json"),
            {**asdict(result), "perplexity_after": result.perplexity_after},
        )
    trainer.accelerator.wait_for_everyone()
    return result


def further_pretrain_stages(
    model: Any, tokenizer: Any, stages: Sequence[tuple[Any, ...]], collator: Any, config: PretrainConfig,
    eval_data: Any = None,
) -> list[PretrainResult]:  # fmt: skip
    """Runs stages in order (e.g. [("domain", texts), ("task", texts)]), each from the previous stage's model.

    A stage may bring its own collator, (name, texts, collator), as ERNIE's schedule does (basic, then
    phrase, then entity masking: `maskkit.units.ernie_stages`); the others use `collator`. Stage s writes
    to `config.output_dir/s`; a stage whose metrics.json exists is finished and skipped.
    """
    from dataclasses import replace

    results = []
    for entry in stages:
        if len(entry) not in (2, 3):
            raise InputError(f"a stage is (name, texts) or (name, texts, collator), got {len(entry)} items")
        name, texts = entry[0], entry[1]
        stage_collator = entry[2] if len(entry) == 3 else collator
        stage = replace(config, output_dir=os.path.join(config.output_dir, name))
        saved = read_json(os.path.join(stage.output_dir, "metrics.json"))
        if saved is not None:  # finished earlier, with these settings (a finished run is never relabelled)
            claim_folder(stage.output_dir, pretrain_folder_settings(model, stage_collator, stage), "pre-training run")
            saved.pop("perplexity_after", None)
            results.append(PretrainResult(**saved))
        else:
            results.append(further_pretrain(model, tokenizer, texts, stage_collator, stage, eval_data))
        model = stage.output_dir
    return results
