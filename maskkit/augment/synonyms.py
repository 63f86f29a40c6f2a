"""Synonym sources for EDA: WordNet 3.0 offline (nltk over Debian's files) or a user dictionary file.

A source answers `synonyms(word) -> tuple[str, ...]` (lower-case words, never the word itself), is
loaded once per process and caches its answers.
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from maskkit.corpora.wordnet import DEBIAN_WORDNET, load_wordnet


@runtime_checkable
class SynonymSource(Protocol):
    def synonyms(self, word: str) -> tuple[str, ...]: ...


@lru_cache(maxsize=4)
def _wordnet(source: str) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "multilingual functions are not available"
        return load_wordnet(Path(source))


class WordNetSynonyms:
    """Synonyms from WordNet 3.0: the lemmas of every synset of the word (multi-word lemmas with spaces)."""

    def __init__(self, source: str | os.PathLike[str] = DEBIAN_WORDNET) -> None:
        self.source = str(source)

    def __repr__(self) -> str:
        return f"WordNetSynonyms({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordNetSynonyms) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def synonyms(self, word: str) -> tuple[str, ...]:
        return _wordnet_synonyms(self.source, word.lower())


@lru_cache(maxsize=200_000)
def _wordnet_synonyms(source: str, word: str) -> tuple[str, ...]:
    wordnet = _wordnet(source)
    found: dict[str, None] = {}
    for synset in wordnet.synsets(word):  # type: ignore[attr-defined]
        for lemma in synset.lemma_names():
            name = lemma.replace("_", " ").lower()
            if name != word:
                found[name] = None
    return tuple(found)


class DictionarySynonyms:
    """Synonyms from a thesaurus file: one group of interchangeable words per line, separated by
    whitespace or commas (the common format of Chinese synonym lists); a word in several groups gets
    the union."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"synonym dictionary {self.path!r} does not exist")
        table: dict[str, dict[str, None]] = {}
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                group = [w for w in line.replace(",", " ").replace("，", " ").split() if w]
                for word in group:
                    entry = table.setdefault(word.lower(), {})
                    entry.update((other.lower(), None) for other in group if other.lower() != word.lower())
        self.table = {word: tuple(others) for word, others in table.items()}

    def __repr__(self) -> str:
        return f"DictionarySynonyms({self.path!r})"

    def synonyms(self, word: str) -> tuple[str, ...]:
        return self.table.get(word.lower(), ())
