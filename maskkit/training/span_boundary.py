"""SpanBERT's span boundary objective (SBO; Joshi et al. 2020), for any BERT-family masked LM.

Each target token of a masked span is predicted a second time from the encoder's states just outside the
span (x_{s-1}, x_{e+1}) and an embedding of its offset in the span (200 dimensions, as SpanBERT's
pair_bert.py): a 2-layer feed-forward head with GeLU and LayerNorm,
h = LN(GeLU(W2 LN(GeLU(W1 [x_{s-1}; x_{e+1}; p_i])))), projected onto the vocabulary by the
model's own output embeddings (tied) plus a bias, and its cross-entropy is added to the MLM loss with
weight 1, as in SpanBERT's pair-target loss. Offsets are counted in tokens from 0; targets further than
`max_offset` into a span take no SBO loss (SpanBERT caps its pair targets the same way).

The head is a submodule of the model (`model.span_boundary_head`), so Trainer trains it, DDP shares it and
`save_pretrained` writes it into the model folder; `attach_span_boundary_head` reloads it from there to
continue pre-training. Loading the folder for fine-tuning (`AutoModelForSequenceClassification`) leaves it
out. The collator writes the boundaries (`MaskingCollator(span_boundaries=True)`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import MaskedLMOutput

from maskkit.errors import WrongType

HEAD = "span_boundary_head"
SBO_COLUMNS = ("sbo_left", "sbo_right", "sbo_offset")


@dataclass
class WithBoundaryLogits(MaskedLMOutput):
    """A masked LM's output with the SBO logits beside (DDP rebuilds an output from its fields)."""

    sbo_logits: torch.Tensor | None = None


class SpanBoundaryHead(nn.Module):
    """SpanBERT's pair-target head: offsets embedded in `position_size` (200) dimensions for up to
    `max_offset` (20) targets per span, an MLP over [left; right; offset] with the encoder's activation
    and LayerNorm (eps 1e-12) twice, tied vocabulary projection plus its own bias (SpanBERT's
    BertPairTargetPredictionHead sizes)."""

    def __init__(self, hidden_size: int, vocab_size: int, max_offset: int = 20, position_size: int = 200,
                 activation: str = "gelu", eps: float = 1e-12) -> None:  # fmt: skip
        from transformers.activations import ACT2FN

        super().__init__()
        self.max_offset = max_offset
        self.offsets = nn.Embedding(max_offset, position_size)
        self.mlp = nn.Sequential(
            nn.Linear(2 * hidden_size + position_size, hidden_size), ACT2FN[activation],
            nn.LayerNorm(hidden_size, eps=eps), nn.Linear(hidden_size, hidden_size), ACT2FN[activation],
            nn.LayerNorm(hidden_size, eps=eps),
        )  # fmt: skip
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, left: torch.Tensor, right: torch.Tensor, offset: torch.Tensor, output_weight: torch.Tensor):
        """Vocabulary logits from boundary states (N x H each) and offsets (N), through `output_weight`
        (V x H: the model's output embeddings)."""
        hidden = self.mlp(torch.cat([left, right, self.offsets(offset)], dim=-1))
        return hidden @ output_weight.t() + self.bias


def attach_span_boundary_head(model: Any, max_offset: int = 20) -> SpanBoundaryHead:
    """Gives a masked LM its SBO head (once), with the weights a folder it was loaded from holds, if any."""
    if getattr(model, HEAD, None) is not None:
        return getattr(model, HEAD)
    embeddings = model.get_output_embeddings()
    if embeddings is None:
        raise WrongType(f"{type(model).__name__} has no output embeddings for the span boundary head to share")
    config = model.config
    act = getattr(config, "hidden_act", "gelu")
    head = SpanBoundaryHead(config.hidden_size, embeddings.weight.shape[0], max_offset,
                            activation=act if isinstance(act, str) else "gelu")  # fmt: skip
    folder = getattr(config, "_name_or_path", "") or getattr(model, "name_or_path", "")
    weights = os.path.join(str(folder), "model.safetensors")
    if os.path.isfile(weights):
        from safetensors import safe_open

        with safe_open(weights, "pt") as f:
            saved = {k[len(HEAD) + 1 :]: f.get_tensor(k) for k in f.keys() if k.startswith(HEAD + ".")}
        if saved:
            head.load_state_dict(saved)
    head.to(embeddings.weight.device)
    model.add_module(HEAD, head)
    return head


@contextmanager
def boundary_logits(model: Any, inputs: Any, targets: torch.Tensor, keep: dict[str, Any]) -> Iterator[None]:
    """While active, a forward pass of `model` also computes the SBO logits of the targets within
    `max_offset` of their span's start (into `keep["sbo_logits"]`, their labels in `keep["sbo_labels"]`),
    from the encoder states the MLM hook left in `keep["states"]`. It runs inside the model's own forward
    and its logits are part of the forward's output (`sbo_logits`), as DistributedDataParallel requires of
    every parameter it trains (it looks for unused ones from the output)."""
    inner = getattr(model, "module", model)
    head: SpanBoundaryHead = getattr(inner, HEAD)

    def compute(module: Any, args: Any, output: Any) -> Any:
        states, offset = keep["states"], inputs["sbo_offset"]
        used = targets & (offset >= 0) & (offset < head.max_offset)
        rows = used.nonzero(as_tuple=True)[0]
        left, right = states[rows, inputs["sbo_left"][used]], states[rows, inputs["sbo_right"][used]]
        keep["sbo_logits"] = head(left, right, offset[used], inner.get_output_embeddings().weight)
        keep["sbo_labels"] = inputs["labels"][used]
        return WithBoundaryLogits(**output, sbo_logits=keep["sbo_logits"])

    handle = inner.register_forward_hook(compute)
    try:
        yield
    finally:
        handle.remove()


def span_boundary_loss(keep: dict[str, Any], reduction: str = "mean") -> torch.Tensor:
    """The SBO cross-entropy from the logits `boundary_logits` left in `keep`."""
    import torch.nn.functional as F

    logits = keep["sbo_logits"]
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), keep["sbo_labels"], reduction=reduction)
