"""Phrase and entity units found automatically (ERNIE's knowledge masking), as the `unit_ids` column that
`UnitSelector` reads.

`FindUnits(tokenizer, kind="phrase")` is a batched `datasets` stage: it tokenises a text column and gives
each token the id of the unit holding it (-1 outside units). Units are spans of two or more words:

- phrases: noun-phrase chunks, adjectives then nouns (`<JJ.*>*<NN.*>+`), over NLTK's averaged-perceptron
  POS tags (offline: point `nltk_data` at a folder holding `taggers/averaged_perceptron_tagger_eng`);
- entities: runs of proper nouns (NNP, NNPS), and the phrases of a user `gazetteer` (matched
  case-insensitively at word boundaries, longest first, before the tagger's units);
- a lexicon (`kind="lexicon"`): the `gazetteer` phrases alone, e.g. a PMI vocabulary (`maskkit.pmi`);
- Chinese text (CJK characters): jieba's part-of-speech tags, runs of nouns and adjectives ending in a
  noun for phrases, person, place, organisation and other proper names (nr, ns, nt, nz; one word of
  several characters is already a unit) for entities.

Words outside every unit stay words: `UnitSelector(others="words")` masks them as ERNIE's basic level
does, so a text with no units falls back to word masking; `find_units` counts and reports those texts.

References: Sun et al. 2019 (ERNIE: Enhanced Representation through Knowledge Integration).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from maskkit.dataset_stages import batch_texts
from maskkit.errors import InputError, MissingFile, WrongType
from maskkit.masking.words import has_cjk, word_spans

KINDS = ("phrase", "entity", "lexicon")
_WORD = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
_CHINESE_ENTITY_TAGS = ("nr", "ns", "nt", "nz")


@lru_cache(maxsize=4)
def _tagger(nltk_data: str | None) -> Any:
    import nltk
    from nltk.tag.perceptron import PerceptronTagger

    if nltk_data is not None and nltk_data not in nltk.data.path:
        nltk.data.path.insert(0, nltk_data)
    try:
        return PerceptronTagger()
    except LookupError as error:
        raise InputError(
            "NLTK's averaged-perceptron tagger was not found: pass nltk_data=FOLDER holding "
            "taggers/averaged_perceptron_tagger_eng (../shared/nltk_data here), or set NLTK_DATA"
        ) from error


def _runs(tags: Sequence[str], inside: Any, ends: Any = None, shortest: int = 2) -> list[tuple[int, int]]:
    """Maximal runs [i, j) of positions whose tag satisfies `inside`, trimmed so the last one satisfies
    `ends`; runs of at least `shortest` words are units."""
    runs, i = [], 0
    while i < len(tags):
        if not inside(tags[i]):
            i += 1
            continue
        j = i
        while j < len(tags) and inside(tags[j]):
            j += 1
        end = j
        while ends is not None and end > i and not ends(tags[end - 1]):
            end -= 1
        if end - i >= shortest:
            runs.append((i, end))
        i = j
    return runs


@lru_cache(maxsize=8)
def _phrase_index(phrases: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    """Phrases of two or more words by their first word (lower case), longest first."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in sorted({tuple(p.lower().split()) for p in phrases if len(p.split()) >= 2}, key=len, reverse=True):
        index.setdefault(phrase[0], []).append(phrase)
    return index


def _listed_runs(words: Sequence[str], phrases: tuple[str, ...]) -> list[tuple[int, int]]:
    """Word runs [i, j) matching listed phrases (case-insensitively, longest first, left to right)."""
    index = _phrase_index(phrases)
    lowered = [w.lower() for w in words]
    runs, i = [], 0
    while i < len(words):
        match = next((len(g) for g in index.get(lowered[i], ()) if tuple(lowered[i : i + len(g)]) == g), 0)
        if match:
            runs.append((i, i + match))
            i += match
        else:
            i += 1
    return runs


@dataclass(frozen=True)
class FindUnits:
    """Tokenises `text_column` and writes `input_ids`, `attention_mask` and the unit ids of `kind`."""

    tokenizer: Any
    kind: str = "phrase"
    text_column: str = "text"
    max_length: int | None = None
    gazetteer: tuple[str, ...] = ()
    nltk_data: str | None = None
    column: str = "unit_ids"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if isinstance(self.gazetteer, str):
            raise WrongType("gazetteer must be a sequence of phrases, not one string")
        object.__setattr__(self, "gazetteer", tuple(self.gazetteer))
        if not getattr(self.tokenizer, "is_fast", False):
            raise InputError("FindUnits needs a fast tokenizer (character offsets): load it with use_fast=True")
        if self.nltk_data is not None and not os.path.isdir(self.nltk_data):
            raise MissingFile(f"nltk_data folder {self.nltk_data!r} does not exist")

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The character spans of the text's units, in order, not overlapping."""
        if has_cjk(text) and self.kind != "lexicon":
            return self._chinese_spans(text)
        found = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        words = [w for _, _, w in found]
        runs = _listed_runs(words, self.gazetteer) if self.kind in ("entity", "lexicon") else []
        if words and self.kind != "lexicon":
            tags = [tag for _, tag in _tagger(self.nltk_data).tag(words)]
            if self.kind == "phrase":
                tagged = _runs(tags, lambda t: t.startswith(("JJ", "NN")), lambda t: t.startswith("NN"))
            else:
                tagged = _runs(tags, lambda t: t in ("NNP", "NNPS"))
            taken = {k for a, b in runs for k in range(a, b)}
            runs += [(a, b) for a, b in tagged if not taken & set(range(a, b))]
        return sorted((found[a][0], found[b - 1][1]) for a, b in runs)

    def _chinese_spans(self, text: str) -> list[tuple[int, int]]:
        import jieba.posseg

        pairs = [(p.word, p.flag) for p in jieba.posseg.cut(text)]
        pairs = [(w, f) for w, f in pairs if w.strip()]
        spans = word_spans(text, [w for w, _ in pairs])
        tags = [f for _, f in pairs]
        if self.kind == "phrase":
            runs = _runs(tags, lambda t: t.startswith(("n", "a")), lambda t: t.startswith("n"))
        else:
            # a Chinese word is several characters (tokens), so a one-word name is already a unit
            runs = _runs(tags, lambda t: t.startswith(_CHINESE_ENTITY_TAGS), shortest=1)
        return [(spans[a][0], spans[b - 1][1]) for a, b in runs]

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        texts = batch_texts(batch, self.text_column, "find units in")
        encoded = self.tokenizer(
            texts, truncation=self.max_length is not None, max_length=self.max_length,
            return_offsets_mapping=True, return_special_tokens_mask=True,
        )  # fmt: skip
        unit_ids = []
        for text, offsets, special in zip(texts, encoded["offset_mapping"], encoded["special_tokens_mask"]):
            spans = self.spans(text)
            row = []
            for (begin, end), is_special in zip(offsets, special):
                unit = next((u for u, (a, b) in enumerate(spans) if a <= begin < b), -1)
                row.append(-1 if is_special or end <= begin else unit)
            unit_ids.append(row)
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], self.column: unit_ids}


def find_units(dataset: Any, stage: FindUnits, log: Any = print, **map_kwargs: Any) -> Any:
    """`dataset` tokenised with `stage`'s unit ids; the texts with no unit (their words are masked as
    words) are counted and reported."""
    map_kwargs.setdefault("batched", True)
    map_kwargs.setdefault("desc", f"finding {stage.kind} units")
    out = dataset.map(stage, remove_columns=dataset.column_names, **map_kwargs)
    without = sum(1 for row in out[stage.column] if max(row, default=-1) < 0)
    if without:
        log(f"{without} of {len(out)} texts have no {stage.kind} unit: their words are masked as words")
    return out


def ernie_stages(
    tokenizer: Any, texts: Any, rate: float = 0.15, seed: int = 0, gazetteer: Sequence[str] = (),
    nltk_data: str | None = None, max_length: int | None = None, log: Any = print,
) -> list[tuple[str, Any, Any]]:  # fmt: skip
    """ERNIE's knowledge-masking schedule as further pre-training stages, in order: basic (whole words),
    phrase (noun-phrase units) and entity (named-entity and gazetteer units), each a (name, dataset,
    collator) for `further_pretrain_stages`; words outside units are masked as words at every level."""
    from datasets import Dataset

    from maskkit.collate import MaskingCollator
    from maskkit.dataset_stages import Tokenize
    from maskkit.masking.selectors import UnitSelector, WholeWordSelector

    data = texts if hasattr(texts, "column_names") else Dataset.from_dict({"text": list(texts)})
    basic = data.map(Tokenize(tokenizer, max_length=max_length), batched=True, remove_columns=data.column_names)
    stages: list[tuple[str, Any, Any]] = [
        ("basic", basic, MaskingCollator(tokenizer, WholeWordSelector(rate=rate), seed=seed))
    ]
    for kind in ("phrase", "entity"):
        finder = FindUnits(tokenizer, kind, gazetteer=tuple(gazetteer), nltk_data=nltk_data, max_length=max_length)
        units = find_units(data, finder, log=log)
        stages.append((kind, units, MaskingCollator(tokenizer, UnitSelector(rate=rate), seed=seed)))
    return stages
