"""Neural translation with any Hugging Face seq2seq model (MarianMT, NLLB, M2M100), for back-translation.

UDA's recipe by default: sampling with temperature 0.8, beam 1. Sampling is keyed: greedy decoding
over logits / T plus Gumbel noise hashed from (the sentence's seed, the step, the token) is an exact
sample from softmax(logits / T) (the Gumbel-max trick), so a sentence's k-th paraphrase does not depend
on its batch, its neighbours or the device. Models load lazily from folders or hub ids (from the Hugging
Face cache only, unless `local_files_only=False`), batches are sorted by length, and the GPU is used with
bf16/fp16 when present.

References: Xie et al. 2020 (UDA); Edunov et al. 2018 (sampling for back-translation).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from maskkit.errors import InputError
from maskkit.registry import register

_MASK64 = (1 << 64) - 1


def _signed(value: int) -> int:
    """A 64-bit constant as torch's int64 holds it."""
    return value - (1 << 64) if value >= 1 << 63 else value


_GOLDEN, _MIX1, _MIX2 = (_signed(c) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB))


def _splitmix64(x: Any) -> Any:
    """splitmix64 on torch int64 tensors (multiplication wraps; shifts made logical by masking)."""
    x = x + _GOLDEN
    x = (x ^ ((x >> 30) & ((1 << 34) - 1))) * _MIX1
    x = (x ^ ((x >> 27) & ((1 << 37) - 1))) * _MIX2
    return x ^ ((x >> 31) & ((1 << 33) - 1))


def gumbel_noise(seeds: Any, step: int, vocab: int) -> Any:
    """Gumbel(0, 1) noise, (len(seeds), vocab), a pure function of (seed, step, token id)."""
    import torch

    token = torch.arange(vocab, device=seeds.device, dtype=torch.int64)
    base = _splitmix64(seeds * _MIX1 + _signed((step * 0x9E3779B97F4A7C15) & _MASK64))
    bits = _splitmix64(base[:, None] + token[None, :] * _MIX2)
    u = ((bits >> 11) & ((1 << 53) - 1)).to(torch.float64) * 2.0**-53
    u = u.clamp_(min=2.0**-53)
    return -torch.log(-torch.log(u)).to(torch.float32)


class KeyedSampling:
    """A logits processor: logits / T plus keyed Gumbel noise, so greedy decoding samples."""

    def __init__(self, seeds: Any, temperature: float) -> None:
        self.seeds = seeds
        self.temperature = temperature

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        noise = gumbel_noise(self.seeds, int(input_ids.shape[1]), scores.shape[-1]).to(scores.device)
        return scores.float() / self.temperature + noise


@register(
    "maskkit.seq2seq.v1",
    "translator",
    short="seq2seq",
    params=lambda t: {
        "models": [[s, g, m] for (s, g), m in sorted(t.models.items())],
        "sample": t.sample,
        "temperature": t.temperature,
        "batch_size": t.batch_size,
        "max_new_tokens": t.max_new_tokens,
        "device": t.device,
        "local_files_only": t.local_files_only,
        "generate_kwargs": t.generate_kwargs,
    },
)
class Seq2SeqTranslator:
    """Translates with Hugging Face seq2seq models, one per direction: {("en", "de"): folder, ...}.

    `sample=True` (default) samples with `temperature` (UDA); `sample=False` is greedy. `translate` takes
    optional per-text `seeds`; BackTranslate passes one per (sentence, k) for diverse paraphrases.
    `generate_kwargs` go to `model.generate` (e.g. `forced_bos_token_id` for NLLB/M2M100).
    """

    deterministic = False

    def __init__(
        self,
        models: dict[tuple[str, str], str | os.PathLike[str]],
        sample: bool = True,
        temperature: float = 0.8,
        batch_size: int = 32,
        max_new_tokens: int | None = None,
        device: str | None = None,
        local_files_only: bool = True,
        generate_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not models:
            raise InputError("Seq2SeqTranslator needs at least one direction: {(src, tgt): model folder}")
        if temperature <= 0:
            raise InputError(f"temperature must be positive, got {temperature!r}")
        from maskkit.augment.translate import direction_table

        self.models = direction_table(models, "models")
        self.sample, self.temperature, self.batch_size = sample, temperature, batch_size
        self.max_new_tokens, self.device, self.local_files_only = max_new_tokens, device, local_files_only
        self.generate_kwargs = dict(generate_kwargs or {})
        self.deterministic = not sample
        self._loaded: dict[tuple[str, str], tuple[Any, Any]] = {}

    def __repr__(self) -> str:
        mode = f"sample T={self.temperature}" if self.sample else "greedy"
        return f"Seq2SeqTranslator({self.models!r}, {mode})"

    def settings(self) -> tuple[Any, ...]:
        return (sorted(self.models.items()), self.sample, self.temperature, self.batch_size, self.max_new_tokens,
                self.device, self.local_files_only, sorted(self.generate_kwargs.items()))  # fmt: skip

    def __eq__(self, other: object) -> bool:  # the same models and decoding translate alike
        return isinstance(other, Seq2SeqTranslator) and other.settings() == self.settings()

    def __hash__(self) -> int:
        return hash(repr(self.settings()))

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": {}}  # models reload lazily in another process

    def load(self, src: str, tgt: str) -> tuple[Any, Any]:
        """Loads (once) the model and tokenizer for a direction, on the GPU with bf16/fp16 when present."""
        key = (src, tgt)
        if key not in self.models:
            raise InputError(f"no model for {src} -> {tgt}; directions: {sorted(self.models)}")
        if key not in self._loaded:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

            from maskkit.runs.models import resolve_model_dir

            path = resolve_model_dir(self.models[key], local_files_only=self.local_files_only)
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            dtype = torch.float32
            if device.startswith("cuda"):
                dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=self.local_files_only)
            model = AutoModelForSeq2SeqLM.from_pretrained(path, local_files_only=self.local_files_only, dtype=dtype)
            self._loaded[key] = (model.to(device).eval(), tokenizer)
        return self._loaded[key]

    def translate(self, texts: Sequence[str], src: str, tgt: str, seeds: Sequence[int] | None = None) -> list[str]:
        import torch
        from transformers import LogitsProcessorList

        model, tokenizer = self.load(src, tgt)
        seeds = list(seeds) if seeds is not None else [0] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[str] = [""] * len(texts)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = tokenizer([texts[i] for i in rows], return_tensors="pt", padding=True, truncation=True)
            # seq2seq models take ids and mask only (a BERT-style tokenizer adds token_type_ids)
            batch = {k: batch[k].to(model.device) for k in ("input_ids", "attention_mask") if k in batch}
            limit = self.max_new_tokens or int(batch["input_ids"].shape[1] * 1.5) + 10
            extra: dict[str, Any] = {}
            if self.sample:
                keyed = torch.tensor(
                    [_signed(seeds[i] & _MASK64) for i in rows], dtype=torch.int64, device=model.device
                )
                extra["logits_processor"] = LogitsProcessorList([KeyedSampling(keyed, self.temperature)])
            with torch.inference_mode():
                generated = model.generate(
                    **batch, do_sample=False, num_beams=1, max_new_tokens=limit, **extra, **self.generate_kwargs
                )
            decoded = tokenizer.batch_decode(generated, skip_special_tokens=True)
            for i, text in zip(rows, decoded):
                out[i] = " ".join(text.split())
        return out
