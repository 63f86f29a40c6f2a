"""Documents packed into full blocks for further pre-training (RoBERTa's FULL-SENTENCES; transformers'
run_mlm `group_texts`), with words kept whole.

`PackBlocks` is a batched `datasets.map` stage over `Tokenize`'s output (input_ids with specials, and
word_ids). Each document's content tokens are laid end to end and cut into blocks of at most
`block_size` tokens, specials included ([CLS] ... [SEP]); a block ends before a word that does not fit,
so whole-word and span masking never see half a word (only a word longer than a whole block is cut, and
counted). Documents follow each other inside a block with the tokenizer's separator between them, or,
with `cross_documents=False`, every document starts a new block (RoBERTa's DOC-SENTENCES). Word ids are
renumbered per block. Nothing is dropped: the last block of a batch may be short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from maskkit.errors import InputError, MissingKey


@dataclass(frozen=True)
class PackBlocks:
    tokenizer: Any
    block_size: int = 512
    cross_documents: bool = True

    def frame(self) -> tuple[list[int], list[int], list[int]]:
        from maskkit.training.encode import special_frame

        before, after = special_frame(self.tokenizer)
        separator = [] if self.tokenizer.sep_token_id is None else [int(self.tokenizer.sep_token_id)]
        return before, after, separator

    def __call__(self, batch: dict[str, Sequence[Any]]) -> dict[str, list[Any]]:
        for column in ("input_ids", "word_ids"):
            if column not in batch:
                raise MissingKey(f"PackBlocks reads {column!r} (Tokenize writes it); columns: {sorted(batch)}")
        before, after, separator = self.frame()
        capacity = self.block_size - len(before) - len(after)
        if capacity < 2:
            raise InputError(f"block_size {self.block_size} leaves no room beside the special tokens")
        ids, rows, starts, lengths = content_units(batch["input_ids"], batch["word_ids"])
        blocks: dict[str, list[Any]] = {"input_ids": [], "word_ids": [], "attention_mask": [], "split_words": []}

        def emit(content: list[int], words: list[int | None], split: int) -> None:
            block = [*before, *content, *after]
            blocks["input_ids"].append(block)
            blocks["word_ids"].append([None] * len(before) + words + [None] * len(after))
            blocks["attention_mask"].append([1] * len(block))
            blocks["split_words"].append(split)

        n = len(lengths)
        first_of_document = np.ones(n, dtype=bool)
        first_of_document[1:] = rows[1:] != rows[:-1]
        sep = len(separator) if self.cross_documents else 0
        cost = lengths + np.where(first_of_document, sep, 0)  # a unit's size in a block, its separator included
        total = np.concatenate([[0], np.cumsum(cost)])
        documents_end = np.append(np.flatnonzero(first_of_document)[1:], n)  # per document: its end unit
        document_of = np.cumsum(first_of_document) - 1
        unit, skip = 0, 0  # skip: tokens of the unit already placed (a word longer than a block)
        while unit < n:
            while lengths[unit] - skip > capacity:  # a word longer than a block: the only cut inside a word
                emit(ids[starts[unit] + skip : starts[unit] + skip + capacity].tolist(), [0] * capacity, 1)
                skip += capacity
            used = int(lengths[unit]) - skip  # the block starts with this unit, without its separator
            last = int(np.searchsorted(total, total[unit + 1] - used + capacity, side="right")) - 2
            if not self.cross_documents:
                last = min(last, int(documents_end[document_of[unit]]) - 1)
            last = max(last, unit)
            sizes = lengths[unit : last + 1].copy()
            sizes[0] = used
            begin = int(starts[unit]) + skip
            content = ids[begin : starts[last] + lengths[last]].tolist()
            words: list[int | None] = [*np.repeat(np.arange(len(sizes)), sizes).tolist()]
            if sep:
                breaks = unit + 1 + np.flatnonzero(first_of_document[unit + 1 : last + 1])
                for at in reversed((starts[breaks] - begin).tolist()):  # a separator between two documents
                    content[at:at] = separator
                    words[at:at] = [None] * sep
            emit(content, words, 0)
            unit, skip = last + 1, 0
        return blocks


def content_units(input_ids: Any, word_ids: Any) -> tuple[Any, Any, Any, Any]:
    """A batch's content tokens (word id not None) as one flat array, and their words: each word's row,
    first token (in the flat array) and length. A word is a run of tokens of one row with one word id; a
    special token (word id None) ends it."""
    ids, id_offsets = _list_array(input_ids)
    words, offsets = _list_array(word_ids)
    if not np.array_equal(id_offsets, offsets):
        raise InputError("input_ids and word_ids differ in length: tokenise with maskkit.Tokenize")
    content = words.is_valid().to_numpy(zero_copy_only=False)
    word = words.fill_null(-1).to_numpy(zero_copy_only=False)
    ids = ids.to_numpy(zero_copy_only=False)
    row_starts = np.zeros(len(word), dtype=bool)
    row_starts[offsets[:-1][offsets[:-1] < len(word)]] = True
    begins = content.copy()
    begins[1:] &= row_starts[1:] | ~content[:-1] | (word[1:] != word[:-1])
    kept = np.flatnonzero(content)
    unit_starts = np.flatnonzero(begins[kept])
    rows = np.searchsorted(offsets, kept[unit_starts], side="right") - 1
    return ids[kept], rows, unit_starts, np.diff(np.append(unit_starts, len(kept)))


def _list_array(rows: Any) -> tuple[Any, Any]:
    """A list column's flat values (arrow) and row offsets (numpy), from Python lists or an arrow array."""
    import pyarrow as pa

    if isinstance(rows, np.ndarray):
        rows = rows.tolist()
    array = rows if isinstance(rows, pa.Array | pa.ChunkedArray) else pa.array(rows, type=pa.list_(pa.int64()))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    offsets = array.offsets.to_numpy()
    return array.flatten(), offsets - offsets[0]  # a sliced array's offsets start where its slice does


def document_words(ids: Sequence[int], word_ids: Sequence[int | None]) -> list[list[int]]:
    """A tokenised document's content tokens grouped into words (specials, whose word id is None, left out;
    a token outside every word is a word of its own)."""
    units: list[list[int]] = []
    previous: Any = object()
    for token, word in zip(ids, word_ids):
        if word is None:
            previous = object()
            continue
        if word == previous:
            units[-1].append(int(token))
        else:
            units.append([int(token)])
        previous = word
    return units


def pack_blocks(dataset: Any, stage: PackBlocks, **map_kwargs: Any) -> Any:
    """`dataset` (Tokenize's output) as packed blocks; `map_kwargs` go to `datasets.map` (num_proc, ...)."""
    return dataset.map(stage, batched=True, remove_columns=dataset.column_names, desc="pack blocks", **map_kwargs)
