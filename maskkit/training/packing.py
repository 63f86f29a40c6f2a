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
        blocks: dict[str, list[Any]] = {"input_ids": [], "word_ids": [], "attention_mask": [], "split_words": []}
        ids: list[int] = []
        words: list[int | None] = []
        split = next_word = 0

        def close() -> None:
            nonlocal ids, words, split, next_word
            if not ids:
                return
            block = [*before, *ids, *after]
            blocks["input_ids"].append(block)
            blocks["word_ids"].append([None] * len(before) + words + [None] * len(after))
            blocks["attention_mask"].append([1] * len(block))
            blocks["split_words"].append(split)
            ids, words, split, next_word = [], [], 0, 0

        for row_ids, row_words in zip(batch["input_ids"], batch["word_ids"]):
            if len(row_ids) != len(row_words):
                raise InputError("input_ids and word_ids differ in length: tokenise with maskkit.Tokenize")
            units = document_words(row_ids, row_words)
            if not units:
                continue
            if ids and not self.cross_documents:
                close()
            elif ids and separator:  # a separator between documents, if it fits with the next word
                if len(ids) + len(separator) + len(units[0]) <= capacity:
                    ids.extend(separator)
                    words.extend([None] * len(separator))
                else:
                    close()
            for unit in units:
                while len(unit) > capacity:  # a word longer than a block: the only cut inside a word
                    close()
                    ids, words, split = list(unit[:capacity]), [0] * capacity, 1
                    close()
                    unit = unit[capacity:]
                if len(ids) + len(unit) > capacity:
                    close()
                ids.extend(unit)
                words.extend([next_word] * len(unit))
                next_word += 1
        close()
        return blocks


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
