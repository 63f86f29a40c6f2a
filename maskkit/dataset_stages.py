"""Dataset stages for masking: tokenise with word ids, and write static (fixed) masks.

Stages are frozen dataclasses (not closures) so `datasets.map` can fingerprint and cache them; they
are batched and work with `num_proc`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maskkit.collate import MaskingCollator
from maskkit.errors import InputError, MissingKey, WrongType
from maskkit.masking.words import cjk_word_spans, has_cjk, mixed_word_ids, word_ids_from_offsets, word_spans
from maskkit.rng import as_integer


def batch_texts(batch: Mapping[str, Sequence[Any]], column: str, purpose: str) -> list[str]:
    """A batch's text column, checked: it exists and holds strings (the error names the row and column)."""
    if column not in batch:
        raise MissingKey(f"no {column!r} column to {purpose} (columns: {sorted(batch)})")
    texts = list(batch[column])
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise WrongType(f"row {i} of {column!r} is {type(text).__name__}, not text")
    return texts


@dataclass(frozen=True)
class Tokenize:
    """Tokenises a text column and writes `input_ids`, `attention_mask` and `word_ids` per token.

    Word ids are the fast tokenizer's own words. `segmenter="auto"` (the default) segments the runs of CJK
    characters in a text with jieba, so a Chinese word's characters are masked together (a WordPiece
    tokenizer makes every character its own word, a byte-level one a whole clause), while every other
    word stays the tokenizer's (jieba would cut "molière"). A callable segments whole texts instead (its
    words mapped through character offsets); None keeps the tokenizer's words everywhere.
    """

    tokenizer: Any
    text_column: str = "text"
    max_length: int | None = None
    segmenter: Callable[[str], Sequence[str]] | str | None = "auto"
    word_ids: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.segmenter, str) and self.segmenter != "auto":
            raise InputError(f"segmenter must be 'auto', None or a callable, got {self.segmenter!r}")

    def segmenter_for(self, text: str) -> Callable[[str], Sequence[str]] | str | None:
        """ "auto" for a text with CJK characters under the default, the callable, or None (tokenizer words)."""
        if self.segmenter == "auto":
            return "auto" if has_cjk(text) else None
        return self.segmenter

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        texts = batch_texts(batch, self.text_column, "tokenise")
        if self.word_ids and not getattr(self.tokenizer, "is_fast", False):
            raise InputError("word ids need a fast tokenizer: load it with use_fast=True, or pass word_ids=False")
        segmenters = [self.segmenter_for(text) for text in texts] if self.word_ids else []
        segmented = [i for i, segment in enumerate(segmenters) if segment is not None]
        everyone = bool(texts) and len(segmented) == len(texts)  # (a callable segmenter): one encoding
        encoded = self.encode(texts, offsets=everyone)
        out = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}
        if self.word_ids:
            out["word_ids"] = [encoded.word_ids(i) if segment is None else None for i, segment in enumerate(segmenters)]
            if segmented:  # offsets for these texts only (converting every text's offsets is the slow part)
                detailed = encoded if everyone else self.encode([texts[i] for i in segmented], offsets=True)
                for j, i in enumerate(segmented):
                    out["word_ids"][i] = self._words(detailed, i if everyone else j, texts[i], segmenters[i])
        return out

    def encode(self, texts: list[str], offsets: bool = False) -> Any:
        return self.tokenizer(
            texts,
            truncation=self.max_length is not None,
            max_length=self.max_length,
            return_offsets_mapping=offsets,
            return_special_tokens_mask=offsets,
            verbose=False,  # whole documents (max_length None) are cut later, by packing
        )

    @staticmethod
    def _words(encoded: Any, i: int, text: str, segment: Any) -> list[int | None]:
        offsets, special = encoded["offset_mapping"][i], encoded["special_tokens_mask"][i]
        if segment == "auto":
            return mixed_word_ids(text, offsets, encoded.word_ids(i), special, cjk_word_spans(text))
        return word_ids_from_offsets(offsets, word_spans(text, segment(text)), special, text)


@dataclass(frozen=True)
class StaticMask:
    """Writes `copies` fixed masked copies of every example (BERT's dupe_factor): copy c is exactly what
    the collator gives at epoch `first_epoch + c`. Adds `labels` and a `mask_copy` column."""

    collator: MaskingCollator
    copies: int = 1
    first_epoch: int = 0

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        features = as_features(batch)
        kept = [k for k in batch if k not in ("input_ids", "attention_mask")]
        out: dict[str, list[Any]] = {k: [] for k in [*kept, "input_ids", "attention_mask", "labels", "mask_copy"]}
        for copy in range(self.copies):
            ids, labels, attention, _ = self.collator.mask_arrays(features, self.first_epoch + copy)
            for i, length in enumerate(attention.sum(axis=1).tolist()):
                out["input_ids"].append(ids[i, :length].tolist())
                out["attention_mask"].append([1] * length)
                out["labels"].append(labels[i, :length].tolist())
                out["mask_copy"].append(copy)
                for k in kept:
                    out[k].append(batch[k][i])
        return out


def static_mask(
    dataset: Any, collator: MaskingCollator, copies: int = 1, first_epoch: int = 0, **map_kwargs: Any
) -> Any:
    """Returns `dataset` with `copies` fixed masked copies per example (also fixed masks for evaluation).

    Train on it with a padding-only collator, e.g. `transformers.DataCollatorForTokenClassification`.
    """
    copies = as_integer(copies, "copies", minimum=1)
    if "labels" in dataset.column_names:
        raise InputError("the dataset already has a 'labels' column; static masks write their own")
    map_kwargs.setdefault("batched", True)
    map_kwargs.setdefault("desc", f"static masks x{copies}")
    return dataset.map(StaticMask(collator, copies, first_epoch), **map_kwargs)


def as_features(batch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Turns a dict of columns into the list of examples a collator takes."""
    names = list(batch)
    n = len(batch[names[0]]) if names else 0
    return [{k: batch[k][i] for k in names} for i in range(n)]


def repeat_passes(stream: Any, passes: int | None = None) -> Any:
    """`stream` (an iterable dataset) read pass after pass as one stream, endless or `passes` long, each
    example carrying its pass in the `mask_epoch` column, which the collator reads as that example's epoch.

    Trainer counts a stream's epochs in fractions of max_steps and, on resume, skips batches only within
    the epoch it resumes in; fed this, it sees one endless epoch, so every pass gets new masks and a run
    resumed anywhere (also in a later pass) continues with the batches and masks of an uninterrupted run.
    A stream with `set_epoch` (a shuffled datasets.IterableDataset) is reshuffled for each pass, as
    Trainer would do."""
    from datasets import IterableDataset

    from maskkit.collate import EPOCH_COLUMN

    if passes is not None:
        passes = as_integer(passes, "passes", minimum=1)

    def generate() -> Any:
        number = 0
        while passes is None or number < passes:
            if hasattr(stream, "set_epoch"):
                stream.set_epoch(number)
            empty = True
            for row in stream:
                empty = False
                yield {**row, EPOCH_COLUMN: number}
            if empty:
                raise InputError("repeat_passes: the stream holds no example")
            number += 1

    return IterableDataset.from_generator(generate)
