"""Optimizer parameter groups: layer-wise learning-rate decay (Sun et al. 2019) and a head learning rate.

With decay xi, the top encoder layer trains at `lr` and each layer below at xi times the one above. The
embeddings train at `lr`, as in Sun et al.'s official code (BERT4doc leaves embeddings, pooler and
classifier at the base rate: `embeddings="base"`, the default), or at lr * xi^L (`embeddings="decayed"`,
maskkit 0.1's choice, a named deviation). The head (everything outside the encoder) trains at `head_lr`
(default `lr`). Frozen parameters are left out.
"""

from __future__ import annotations

import re
from typing import Any

from maskkit.errors import InputError, WrongType

LLRD_EMBEDDINGS = ("base", "decayed")
LAYER_INDEX = re.compile(r"(?:^|\.)(?:layer|layers|block|blocks|h)\.(\d+)\.")


def encoder_prefix(model: Any) -> str:
    prefix = getattr(model, "base_model_prefix", "")
    if not prefix or not hasattr(model, prefix):
        raise WrongType(f"{type(model).__name__} has no encoder attribute (base_model_prefix {prefix!r})")
    return prefix + "."


def layer_depth(name: str, num_layers: int) -> int:
    """0 for embeddings, i + 1 for encoder layer i, num_layers for anything else in the encoder (pooler)."""
    found = LAYER_INDEX.search(name)
    if found:
        return int(found.group(1)) + 1
    if "embed" in name:
        return 0
    return num_layers


def parameter_groups(
    model: Any,
    lr: float,
    llrd: float | None = None,
    head_lr: float | None = None,
    weight_decay: float = 0.0,
    decay_names: set[str] | None = None,
    embeddings: str = "base",
) -> list[dict[str, Any]]:
    """AdamW parameter groups with per-layer learning rates (`llrd=None`: one rate for the whole encoder).

    `decay_names`: the parameters that get weight decay (Trainer.get_decay_parameter_names); None: all.
    """
    if llrd is not None and not 0 < llrd <= 1:
        raise InputError(f"llrd (the per-layer decay xi) must be in (0, 1], got {llrd}")
    if embeddings not in LLRD_EMBEDDINGS:
        raise InputError(f"llrd_embeddings must be one of {LLRD_EMBEDDINGS}, got {embeddings!r}")
    prefix = encoder_prefix(model)
    num_layers = int(model.base_model.config.get_text_config().num_hidden_layers)
    groups: dict[tuple[float, float], list[Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name.startswith(prefix):
            depth = layer_depth(name[len(prefix) :], num_layers)
            if depth == 0 and embeddings == "base":
                depth = num_layers
            rate = lr * (llrd or 1.0) ** (num_layers - depth)
        else:
            rate = head_lr if head_lr is not None else lr
        decay = weight_decay if decay_names is None or name in decay_names else 0.0
        groups.setdefault((rate, decay), []).append(param)
    return [{"params": params, "lr": rate, "weight_decay": decay} for (rate, decay), params in groups.items()]
