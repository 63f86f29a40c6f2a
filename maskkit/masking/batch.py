"""The padded batch that selectors and corruptions read: ids, candidates, words, columns and keyed draws.

A `MaskingBatch` is built by the collator once per call. Word structure is computed lazily, only when a
selector asks for it, from a `word_ids` column when present or from the vocabulary's word-start table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Any

import numpy as np

from maskkit.errors import InputError, MissingKey
from maskkit.masking import functional as F
from maskkit.masking.words import VocabTables
from maskkit.rng import KeyedUniforms

WORD_SOURCES = ("auto", "column", "vocab")


class MissingColumnError(MissingKey):
    """A column a masking scheme needs is not in the features (Trainer may have removed it)."""

    def __str__(self) -> str:
        return str(self.args[0])


def missing_column(column: str, purpose: str) -> MissingColumnError:
    return MissingColumnError(
        f"the features have no {column!r} column, which {purpose} needs. If you train with transformers.Trainer, "
        "it removed the column because the model's forward() does not take it (remove_unused_columns=True): "
        "set TrainingArguments(remove_unused_columns=False) and keep only the columns the model and the "
        "collator use, e.g. dataset = maskkit.keep_columns(dataset, collator, model)"
    )


@dataclass
class MaskingBatch:
    """One padded batch as the masking pieces see it (rows are examples, columns are token positions)."""

    ids: np.ndarray  # int64 (B, L), padded
    lengths: np.ndarray  # int64 (B,)
    candidates: np.ndarray  # bool (B, L): real, non-special tokens
    draws: KeyedUniforms
    vocab: VocabTables
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # per-token columns, padded like ids
    word_source: str = "auto"
    ids_writable: bool = False  # the corruption may overwrite `ids` (the collator's own padded array)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.ids.shape[0]), int(self.ids.shape[1]))

    def take(self, rows: np.ndarray) -> MaskingBatch:
        """A sub-batch of the given rows (draws stay keyed to each example, so results do not change)."""
        return MaskingBatch(
            ids=self.ids[rows],
            lengths=self.lengths[rows],
            candidates=self.candidates[rows],
            draws=self.draws.take(rows),
            vocab=self.vocab,
            columns={k: v[rows] for k, v in self.columns.items()},
            word_source=self.word_source,
        )

    def column(self, name: str, purpose: str) -> np.ndarray:
        if name not in self.columns:
            raise missing_column(name, purpose)
        return self.columns[name]

    @cached_property
    def word_starts(self) -> np.ndarray:
        """Marks the first token of every candidate word (bool, B x L)."""
        if self.word_source != "vocab" and "word_ids" in self.columns:
            return F.starts_from_ids(self.candidates, self.columns["word_ids"])
        if self.word_source == "column":
            raise missing_column("word_ids", "word-level masking with word_source='column'")
        if self.word_source == "auto" and self.vocab.cjk[self.ids[self.candidates]].any():
            raise InputError(
                "this batch holds Chinese (CJK) characters but no 'word_ids' column: the tokenizer splits them "
                "one per token, so whole-word masking would mask single characters. Tokenise with "
                "maskkit.Tokenize(tokenizer, segmenter=maskkit.jieba_segmenter) and keep the column, or pass "
                "word_source='vocab' to mask characters as words on purpose"
            )
        return F.unit_starts(self.candidates, self.vocab.starts_word(self.ids), self.vocab.inside_word(self.ids))

    @cached_property
    def word_index(self) -> np.ndarray:
        """Each candidate token's word-start position (-1 off candidates)."""
        return F.unit_start_index(self.candidates, self.word_starts)

    @cached_property
    def word_ends(self) -> np.ndarray:
        """Marks the last candidate token of every word (bool, B x L)."""
        return F.unit_ends(self.candidates, self.word_index)


def pad_rows(rows: list[Any], lengths: np.ndarray, width: int, fill: float | int, dtype: Any) -> np.ndarray:
    """Pads variable-length rows (lists, arrays or tensors) into one (len(rows), width) array.

    Lists go through one flat `np.fromiter` (the fastest conversion numpy offers for Python numbers)
    and one masked assignment; arrays and tensors are assigned row by row.
    """
    out_shape = (len(rows), width)
    if rows and isinstance(rows[0], list):
        flat = np.fromiter(chain.from_iterable(rows), dtype=dtype, count=int(lengths.sum()))
        if flat.size == len(rows) * width:
            return flat.reshape(out_shape)
        out = np.full(out_shape, fill, dtype=dtype)
        out[np.arange(width)[None, :] < lengths[:, None]] = flat
        return out
    out = np.full(out_shape, fill, dtype=dtype)
    for i, row in enumerate(rows):
        if lengths[i]:
            out[i, : lengths[i]] = row if isinstance(row, list | tuple | np.ndarray) else np.asarray(row)
    return out
