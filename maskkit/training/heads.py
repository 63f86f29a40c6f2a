"""A classifier over any encoder with a chosen pooling and an MLP head, saved and reloaded like any model.

The seeds' custom heads lived outside the model and could not be saved; `PooledClassifier` is a
`PreTrainedModel`, so `save_pretrained` / `from_pretrained` keep encoder, pooling and head together, and
`AutoModelForSequenceClassification.from_pretrained(folder)` reloads it once maskkit.training.heads is imported.

Pooling: "cls" (the first token's last hidden state), "mean" (over real tokens), or "concat_cls" (the
first token of the last `last_k` layers, concatenated; Sun et al. 2019).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from maskkit.errors import InputError

POOLINGS = ("cls", "mean", "concat_cls")


class PooledClassifierConfig(PretrainedConfig):
    model_type = "maskkit_pooled_classifier"

    def __init__(
        self,
        encoder: dict[str, Any] | None = None,
        pooling: str = "cls",
        last_k: int = 4,
        head_hidden: list[int] | tuple[int, ...] = (),
        head_dropout: float = 0.1,
        initializer_range: float = 0.02,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if pooling not in POOLINGS:
            raise InputError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        check_head(last_k, head_hidden, head_dropout)
        layers = (encoder or {}).get("num_hidden_layers")
        if pooling == "concat_cls" and layers is not None and last_k > layers:
            raise InputError(f"last_k {last_k} asks for more layers than the encoder's {layers}")
        self.encoder = dict(encoder or {})
        self.pooling = pooling
        self.last_k = last_k
        self.head_hidden = [int(h) for h in head_hidden]
        self.head_dropout = head_dropout
        self.initializer_range = initializer_range


def check_head(last_k: int, head_hidden: Any, head_dropout: float) -> None:
    """The one range declaration of the classification head's settings (FinetuneConfig checks them when it
    is made, PooledClassifierConfig when the head is)."""
    if last_k < 1:
        raise InputError(f"last_k must be >= 1, got {last_k}")
    if any(int(h) < 1 for h in head_hidden):
        raise InputError(f"head_hidden sizes must be >= 1 (no hidden layer: leave it out), got {tuple(head_hidden)}")
    if not 0 <= head_dropout < 1:
        raise InputError(f"head_dropout must be in [0, 1), got {head_dropout}")


def encoder_from_config(settings: dict[str, Any]) -> Any:
    settings = dict(settings)
    model_type = settings.pop("model_type", None)
    if not model_type:
        raise InputError("the classifier's config has no encoder model_type")
    config = AutoConfig.for_model(model_type, **settings)
    try:
        return AutoModel.from_config(config, add_pooling_layer=False)  # the pooler is unused here
    except TypeError:
        return AutoModel.from_config(config)


class PooledClassifier(PreTrainedModel):
    """Encoder -> pooling -> dropout -> MLP (`head_hidden` sizes, GELU) -> label logits; cross-entropy loss."""

    config_class = PooledClassifierConfig
    base_model_prefix = "encoder"
    accepts_loss_kwargs = False  # the loss is a per-batch mean: Trainer must scale it for accumulation

    def __init__(self, config: PooledClassifierConfig) -> None:
        super().__init__(config)
        self.encoder = encoder_from_config(config.encoder)
        hidden = self.encoder.config.hidden_size
        width = hidden * (config.last_k if config.pooling == "concat_cls" else 1)
        layers: list[nn.Module] = [nn.Dropout(config.head_dropout)]
        for size in config.head_hidden:
            layers += [nn.Linear(width, size), nn.GELU(), nn.Dropout(config.head_dropout)]
            width = size
        layers.append(nn.Linear(width, int(config.num_labels or 2)))
        self.head = nn.Sequential(*layers)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear) and any(module is m for m in self.head.modules()):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            nn.init.zeros_(module.bias)
        elif hasattr(self, "encoder") and hasattr(self.encoder, "_init_weights"):
            self.encoder._init_weights(module)

    @classmethod
    def from_encoder(cls, path: str, num_labels: int, **options: Any) -> PooledClassifier:
        """A new classifier whose encoder is the pretrained model in the local folder `path`."""
        encoder_config = AutoConfig.from_pretrained(path)
        config = PooledClassifierConfig(encoder=encoder_config.to_dict(), num_labels=num_labels, **options)
        model = cls(config)
        try:
            model.encoder = AutoModel.from_pretrained(path, add_pooling_layer=False)
        except TypeError:
            model.encoder = AutoModel.from_pretrained(path)
        return model

    def pool(self, outputs: Any, attention_mask: torch.Tensor | None) -> torch.Tensor:
        if self.config.pooling == "cls":
            return outputs.last_hidden_state[:, 0]
        if self.config.pooling == "concat_cls":
            layers = outputs.hidden_states[-self.config.last_k :]
            return torch.cat([h[:, 0] for h in layers], dim=-1)
        hidden = outputs.last_hidden_state
        if attention_mask is None:
            return hidden.mean(dim=1)
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        inputs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        outputs = self.encoder(**inputs, output_hidden_states=self.config.pooling == "concat_cls", return_dict=True)
        logits = self.head(self.pool(outputs, attention_mask))
        loss = None if labels is None else nn.functional.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


AutoConfig.register(PooledClassifierConfig.model_type, PooledClassifierConfig, exist_ok=True)
AutoModelForSequenceClassification.register(PooledClassifierConfig, PooledClassifier, exist_ok=True)
