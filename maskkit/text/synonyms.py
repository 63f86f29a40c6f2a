"""Synonym sources for EDA: WordNet 3.0 offline (its data files, read once) or a user dictionary file.

A source answers `synonyms(word) -> tuple[str, ...]` (lower-case words, never the word itself), is
loaded once per process and caches its answers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from maskkit.corpora.wordnet import DEBIAN_WORDNET
from maskkit.errors import MissingFile
from maskkit.registry import register
from maskkit.runs.files import read_text_lines


@runtime_checkable
class SynonymSource(Protocol):
    def synonyms(self, word: str) -> tuple[str, ...]: ...


_POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
# WordNet's morphy: detachment rules per part of speech (morphy(7WN)); exceptions come from *.exc
_SUFFIXES = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
          ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}  # fmt: skip


@dataclass(frozen=True)
class _WordNetTables:
    synonyms: dict[str, dict[str, tuple[str, ...]]]  # pos -> lemma -> synonyms (lemmas of its synsets)
    exceptions: dict[str, dict[str, tuple[str, ...]]]  # pos -> inflected form -> base forms


@lru_cache(maxsize=4)
def _wordnet_tables(source: str) -> _WordNetTables:
    """Reads every synset's lemmas from WordNet's data files once (about a second, not nltk's 20)."""
    root = Path(source)
    missing = [f"data.{name}" for name in _POS_FILES.values() if not (root / f"data.{name}").exists()]
    if missing:
        raise MissingFile(
            f"WordNet 3.0 is not installed at {source} (missing {missing[0]}): "
            "apt-get install wordnet-base wordnet-sense-index (the Makefile does this)"
        )
    synonyms: dict[str, dict[str, tuple[str, ...]]] = {}
    exceptions: dict[str, dict[str, tuple[str, ...]]] = {}
    for pos, name in _POS_FILES.items():
        table: dict[str, dict[str, None]] = {}
        with (root / f"data.{name}").open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):  # the licence header
                    continue
                fields = line.split(" ", 4 + 2 * int(line.split(" ", 4)[3], 16))
                lemmas = [_lemma(fields[4 + 2 * i]) for i in range(int(fields[3], 16))]
                for lemma in lemmas:
                    table.setdefault(lemma, {}).update(dict.fromkeys(lemmas))
        synonyms[pos] = {lemma: tuple(others) for lemma, others in table.items()}
        with (root / f"{name}.exc").open(encoding="utf-8", errors="replace") as f:
            exceptions[pos] = {parts[0]: tuple(parts[1:]) for parts in (line.split() for line in f) if len(parts) > 1}
    return _WordNetTables(synonyms, exceptions)


def _lemma(word: str) -> str:
    """A data-file word as nltk's index has it: lower case, without an adjective marker such as (a)."""
    return word.split("(", 1)[0].lower() if word.endswith(")") else word.lower()


def _morphy(tables: _WordNetTables, form: str, pos: str) -> list[str]:
    """Base forms of `form` that WordNet has for `pos` (WordNet's morphy, as nltk applies it)."""
    known = tables.synonyms[pos]
    if form in tables.exceptions[pos]:
        candidates = [form, *tables.exceptions[pos][form]]
    else:
        candidates = [form] + [form[: -len(old)] + new for old, new in _SUFFIXES[pos] if form.endswith(old)]
    return [c for c in dict.fromkeys(candidates) if c in known]


@register("maskkit.wordnet_synonyms.v1", "synonyms", short="wordnet", params=lambda s: {"source": s.source})
class WordNetSynonyms:
    """Synonyms from WordNet 3.0, offline: every lemma of every synset of the word's base forms (all
    parts of speech, as nltk's `wordnet.synsets(word)` finds them), multi-word lemmas with spaces.

    The database is read once per process straight from its data files (the Debian `wordnet-base`
    folder, or an nltk `corpora/wordnet` folder), so no lookup is slow."""

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

    def prepare(self) -> None:
        """Reads the database now (worker processes forked afterwards share it)."""
        _wordnet_tables(self.source)


@lru_cache(maxsize=200_000)
def _wordnet_synonyms(source: str, word: str) -> tuple[str, ...]:
    tables = _wordnet_tables(source)
    found: dict[str, None] = {}
    for pos in _POS_FILES:
        for base in _morphy(tables, word, pos):
            for lemma in tables.synonyms[pos][base]:
                name = lemma.replace("_", " ")
                if name != word:
                    found[name] = None
    return tuple(found)


@register("maskkit.dictionary_synonyms.v1", "synonyms", short="dictionary", params=lambda s: {"path": s.path})
class DictionarySynonyms:
    """Synonyms from a thesaurus file: one group of interchangeable words per line, separated by
    whitespace or commas (the common format of Chinese synonym lists); a word in several groups gets
    the union."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        if not os.path.isfile(self.path):
            raise MissingFile(f"synonym dictionary {self.path!r} does not exist")
        table: dict[str, dict[str, None]] = {}
        for line in read_text_lines(self.path, "synonym dictionary "):  # one group of synonyms per line
            group = [w for w in line.replace(",", " ").replace("，", " ").split() if w]
            for word in group:
                entry = table.setdefault(word.lower(), {})
                entry.update((other.lower(), None) for other in group if other.lower() != word.lower())
        self.table = {word: tuple(others) for word, others in table.items()}

    def __repr__(self) -> str:
        return f"DictionarySynonyms({self.path!r})"

    def __eq__(self, other: object) -> bool:  # the same file gives the same table
        return isinstance(other, DictionarySynonyms) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def synonyms(self, word: str) -> tuple[str, ...]:
        return self.table.get(word.lower(), ())
