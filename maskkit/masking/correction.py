"""MLM as correction (MacBERT): targets become a similar word instead of [MASK], so pre-training never sees a
token that fine-tuning never shows.

`SimilarWordReplace(similar=0.8, random=0.1, keep=0.1)` is a corruption (HOW) like `MaskRandomKeep`: one
categorical draw per target gives its fate. A target that is a whole one-token word becomes one of its
synonyms that is itself one token of the vocabulary (WordNet offline, or any synonym source), drawn
uniformly and keyed like every other draw; a target with no such synonym (a word piece, a word of
several tokens, a word without synonyms) becomes a random token, as MacBERT does where no similar word
is found. The synonym table is built once per tokenizer (`bind`, which MaskingCollator calls).

References: Cui et al. 2020 (MacBERT: Revisiting Pre-trained Models for Chinese Natural Language Processing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from maskkit.errors import InputError
from maskkit.masking.batch import MaskingBatch
from maskkit.masking.corruption import check_fate_shares, fate_thresholds
from maskkit.masking.selectors import Selection
from maskkit.masking.words import word_marker
from maskkit.registry import register


def _default_synonyms() -> Any:
    from maskkit.text.synonyms import WordNetSynonyms

    return WordNetSynonyms()


@register("maskkit.similar_word.v1", "corruption", short="similar_word")
@dataclass(frozen=True)
class SimilarWordReplace:
    """Each target becomes a similar word (`similar`), a random token (`random`) or stays (`keep`)."""

    similar: float = 0.8
    random: float = 0.1
    keep: float = 0.1
    synonyms: Any = field(default_factory=_default_synonyms)
    offsets: np.ndarray | None = field(default=None, repr=False, compare=False)
    similar_ids: np.ndarray | None = field(default=None, repr=False, compare=False)
    STREAMS: ClassVar[tuple[int, int]] = (71, 72)

    def __post_init__(self) -> None:
        check_fate_shares({"similar": self.similar, "random": self.random, "keep": self.keep})
        if not callable(getattr(self.synonyms, "synonyms", None)):
            raise InputError("synonyms must have synonyms(word) -> words (WordNetSynonyms, DictionarySynonyms)")

    def bind(self, tokenizer: Any) -> SimilarWordReplace:
        """The table of one-token synonyms of every one-token word of the vocabulary (ids, CSR layout)."""
        if not getattr(tokenizer, "is_fast", False):
            raise InputError("SimilarWordReplace needs a fast tokenizer (to tell word-start tokens)")
        how, mark = word_marker(json.loads(tokenizer.backend_tokenizer.to_str()))
        vocab = tokenizer.get_vocab()

        def word_of(token: str) -> str | None:
            if how == "prefix_continues":
                return None if token.startswith(mark) else token
            if how == "prefix_starts":
                return token[len(mark) :] if token.startswith(mark) else None
            return token.removesuffix(mark) if how == "suffix_ends" and token.endswith(mark) else token

        def token_of(word: str) -> str:
            return {"prefix_starts": mark + word, "suffix_ends": word + mark}.get(how, word)

        size = len(tokenizer)
        lists: list[list[int]] = [[] for _ in range(size)]
        special = set(tokenizer.all_special_ids)
        for token, token_id in vocab.items():
            word = word_of(token)
            if token_id >= size or token_id in special or word is None or not word.isalpha() or len(word) < 2:
                continue
            for synonym in self.synonyms.synonyms(word):
                other = vocab.get(token_of(synonym))
                if " " not in synonym and other is not None and other != token_id and other not in special:
                    lists[token_id].append(other)
        offsets = np.zeros(size + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(found) for found in lists])
        ids = np.array([i for found in lists for i in found], dtype=np.int64)
        return replace(self, offsets=offsets, similar_ids=ids)

    def apply(self, batch: MaskingBatch, selection: Selection) -> tuple[np.ndarray, np.ndarray]:
        """Returns (corrupted ids, labels) for a batch: labels hold the original id at targets, -100 elsewhere."""
        if self.offsets is None or self.similar_ids is None:
            raise InputError("SimilarWordReplace must be bound to a tokenizer first (MaskingCollator does this)")
        width = selection.targets.shape[1]
        flat = np.flatnonzero(selection.targets)
        rows, cols = np.divmod(flat, width)
        bits = batch.draws.bits_at(self.STREAMS[0], rows, cols, width=width)
        similar_below, random_below = fate_thresholds(self.similar, self.random)
        labels = np.full(batch.ids.shape, -100, dtype=batch.ids.dtype)
        original = batch.ids.reshape(-1)[flat]
        labels.reshape(-1)[flat] = original
        ids = batch.ids if batch.ids_writable else batch.ids.copy()
        flat_ids = ids.reshape(-1)
        # a whole one-token word: it starts a word and ends it
        whole = (batch.word_starts & batch.word_ends).reshape(-1)[flat]
        safe = np.minimum(original, len(self.offsets) - 2)
        count = np.where(original < len(self.offsets) - 1, self.offsets[safe + 1] - self.offsets[safe], 0)
        similar = bits < similar_below
        found = similar & whole & (count > 0)
        if found.any():
            u = batch.draws.at(self.STREAMS[1], rows[found], cols[found])
            pick = np.minimum((u * count[found]).astype(np.int64), count[found] - 1)
            flat_ids[flat[found]] = self.similar_ids[self.offsets[original[found]] + pick]
        randomised = (~similar & (bits < random_below)) | (similar & ~found)
        if randomised.any():
            choices = batch.vocab.replaceable_ids
            u = batch.draws.at(self.STREAMS[1], rows[randomised], cols[randomised])
            flat_ids[flat[randomised]] = choices[np.minimum((u * len(choices)).astype(np.int64), len(choices) - 1)]
        return ids, labels
