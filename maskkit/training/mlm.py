"""Masked-language-model loss with a sparse head, and perplexity on fixed masks.

transformers' `*ForMaskedLM` models project every position onto the vocabulary and then ignore the
~85% of positions whose label is -100. The sparse loss gathers the encoder's hidden states at the
targets first, so the head (transform + vocabulary projection) runs on about 15% of the positions, as
NVIDIA's BERT does. It works for any model whose MLM head acts position by position on the output of
`model.base_model` (BERT, RoBERTa, XLM-R, ALBERT, ELECTRA, DistilBERT, ...), and gives the same loss.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer

from maskkit.errors import InputError, MissingKey, WrongType

IGNORE = -100


@contextmanager
def hidden_states_at(model: Any, targets: torch.Tensor | None, keep: dict[str, Any] | None = None) -> Iterator[None]:
    """While active, the model's encoder returns only the hidden states at `targets` (as a batch of one;
    None: all of them), and `keep["states"]` holds its full output (the span boundary objective reads it).

    `model` may be wrapped (DistributedDataParallel keeps the model as `.module`): the hook goes on the
    inner model's encoder while the forward still runs through the wrapper.
    """
    inner = getattr(model, "module", model)
    encoder = inner.base_model
    if encoder is inner:
        raise WrongType(
            f"{type(model).__name__} has no separate encoder (base_model is the model itself), "
            "so the sparse MLM head cannot gather before it; use sparse_head=False"
        )

    def gather(module: Any, args: Any, output: Any) -> Any:
        if keep is not None:
            keep["states"] = output[0]
        if targets is None:
            return output
        picked = output[0][targets].unsqueeze(0)
        if isinstance(output, tuple):
            return (picked, *output[1:])
        output["last_hidden_state"] = picked
        return output

    handle = encoder.register_forward_hook(gather)
    try:
        yield
    finally:
        handle.remove()


def mlm_loss(
    model: Any, inputs: Mapping[str, torch.Tensor], sparse: bool = True, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy of the MLM head over the targets (labels != -100), mean or sum.

    `sparse=True` runs the head at the target positions only; `sparse=False` is transformers' dense head.
    Both give the same value. A batch without targets gives a zero loss that still has a gradient graph.
    """
    if "labels" not in inputs:
        raise MissingKey("the MLM loss needs a 'labels' tensor (-100 off target), as MaskingCollator writes")
    from contextlib import nullcontext

    from maskkit.training.span_boundary import HEAD, SBO_COLUMNS, boundary_logits, span_boundary_loss

    labels = inputs["labels"]
    targets = labels != IGNORE
    forward = {k: v for k, v in inputs.items() if k not in ("labels", *SBO_COLUMNS)}
    boundaries = "sbo_offset" in inputs
    if boundaries and getattr(getattr(model, "module", model), HEAD, None) is None:
        raise WrongType("the batch holds span boundaries but the model has no span boundary head: call "
                        "maskkit.training.span_boundary.attach_span_boundary_head(model) first")  # fmt: skip
    keep: dict[str, Any] | None = {} if boundaries else None
    if sparse or keep is not None:
        with hidden_states_at(model, targets if sparse else None, keep):
            with boundary_logits(model, inputs, targets, keep) if keep is not None else nullcontext():
                logits = model(**forward).logits
    else:
        logits = model(**forward).logits
    logits = logits[0] if sparse else logits[targets]
    picked = labels[targets]
    if picked.numel() == 0:
        return logits.sum() * 0.0
    loss = F.cross_entropy(logits.float(), picked, reduction=reduction)
    if keep is not None:  # SpanBERT: the span boundary objective's loss is added with weight 1
        loss = loss + span_boundary_loss(keep, reduction)
    return loss


def sparse_mlm_loss(model: Any, inputs: Mapping[str, torch.Tensor], reduction: str = "mean") -> torch.Tensor:
    """The MLM loss with the head at target positions only; equal to `model(**inputs).loss`."""
    return mlm_loss(model, inputs, sparse=True, reduction=reduction)


class MaskedLMTrainer(Trainer):
    """Trainer whose loss is the MLM loss with the sparse head (`sparse_head=False`: the dense one).

    The loss is the mean over every target of the optimizer step: summed per micro-batch and divided by
    the targets of all accumulated micro-batches on all processes (Trainer's `num_items_in_batch`), so
    gradient accumulation and data-parallel runs weigh every target alike, as one big batch does.
    """

    def __init__(self, *args: Any, sparse_head: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sparse_head = sparse_head
        self.model_accepts_loss_kwargs = True  # makes Trainer count the targets of each optimizer step

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        if num_items_in_batch is None:
            self.loss_is_scaled_for_ga = False  # a per-batch mean: Trainer divides it for accumulation
            loss = mlm_loss(model, inputs, self.sparse_head)
        else:
            self.loss_is_scaled_for_ga = True
            loss = mlm_loss(model, inputs, self.sparse_head, reduction="sum") / num_items_in_batch
            if self.args.average_tokens_across_devices and self.accelerator.num_processes > 1:
                loss = loss * self.accelerator.num_processes  # DDP averages gradients over processes
        return (loss, {"loss": loss}) if return_outputs else loss


def fixed_mask_loss(model: Any, dataset: Any, tokenizer: Any, batch_size: int = 32) -> float:
    """Mean MLM loss per target over a dataset whose masks are fixed (`maskkit.static_mask`).

    Weighted by targets, not by batches, so stages and schemes compare fairly; exp() of it is the
    masked-token perplexity.
    """
    from torch.utils.data import DataLoader
    from transformers import DataCollatorForTokenClassification

    missing = {"input_ids", "labels"} - set(dataset.column_names)
    if missing:
        raise MissingKey(f"the evaluation set lacks {sorted(missing)}: write fixed masks with maskkit.static_mask")
    columns = [c for c in ("input_ids", "attention_mask", "token_type_ids", "labels") if c in dataset.column_names]
    loader = DataLoader(
        dataset.select_columns(columns), batch_size=batch_size, collate_fn=DataCollatorForTokenClassification(tokenizer)
    )
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for batch in loader:
            batch = {k: v.to(model.device) for k, v in batch.items()}
            total += float(sparse_mlm_loss(model, batch, reduction="sum"))
            count += int((batch["labels"] != IGNORE).sum())
    model.train(was_training)
    if count == 0:
        raise InputError("the evaluation set has no masked targets")
    return total / count


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 50.0))
