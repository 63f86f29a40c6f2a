"""Word and unit boundaries from the tokenizer: vocabulary tables, segmenters and lexicon matching.

Whole-word and span masking must know which tokens start a word. A `word_ids` column written at
tokenisation is exact; without it, `VocabTables` answers from the tokenizer's own model (WordPiece
continuation prefix, byte-level BPE or SentencePiece word-start markers) with one O(1) table lookup per
token, so the schemes work on plain `input_ids` after Trainer has dropped every other column.
Chinese tokenises to one token per character, so its words come from a segmenter (jieba by default).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from maskkit.errors import InputError

Segmenter = Callable[[str], Sequence[str]]

_UNUSED = re.compile(r"^(\[unused\d+\]|<unused\d+>|<extra_id_\d+>)$")
_BYTE_LEVEL_MARK = "Ġ"
_SENTENCEPIECE_MARK = "▁"


_CJK_CLASS = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ceaf\U0002f800-\U0002fa1f]"
_CJK = re.compile(_CJK_CLASS)
_CJK_RUN = re.compile(_CJK_CLASS + "+")


def has_cjk(text: str) -> bool:
    """Tells whether a text holds any CJK ideograph (one regular-expression search)."""
    return _CJK.search(text) is not None


def _byte_of_symbol() -> dict[str, int]:
    """The byte-level vocabularies' alphabet: each byte is written as one printable character (printable
    Latin-1 bytes as themselves, the others shifted past 255), as GPT-2's encoder defines it."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = {chr(b): b for b in printable}
    shifted = 0
    for b in range(256):
        if b not in printable:
            symbols[chr(256 + shifted)] = b
            shifted += 1
    return symbols


_BYTE_OF_SYMBOL = _byte_of_symbol()


def holds_cjk(token: str, byte_level: bool = False) -> bool:
    """Tells whether a vocabulary token holds a CJK ideograph, or in a byte-level vocabulary the UTF-8
    bytes of one (whole, or a lead byte of the ideograph ranges: E4-E9 for U+4000-U+9FFF, and E3 followed by
    90-BF for U+3400-U+3FFF; a lone E3 also starts kana and CJK punctuation, so it does not count)."""
    if has_cjk(token):
        return True
    if not byte_level or any(ch not in _BYTE_OF_SYMBOL for ch in token):
        return False
    raw = bytes(_BYTE_OF_SYMBOL[ch] for ch in token)
    if has_cjk(raw.decode("utf-8", errors="ignore")):
        return True
    return any(0xE4 <= b <= 0xE9 or (b == 0xE3 and i + 1 < len(raw) and raw[i + 1] >= 0x90) for i, b in enumerate(raw))


def _walk(component: Any) -> Iterable[dict[str, Any]]:
    """Yields a tokenizer.json component and, for Sequence components, its children."""
    if not isinstance(component, dict):
        return
    yield component
    for key in ("pretokenizers", "decoders", "normalizers"):
        for child in component.get(key) or ():
            yield from _walk(child)


def word_marker(backend: dict[str, Any]) -> tuple[str, str]:
    """Finds how a vocabulary marks words.

    Returns ("prefix_continues", "##"), ("prefix_starts", "Ġ" or "▁"), ("suffix_ends", "</w>") or
    ("every_token", "").
    """
    model = backend.get("model") or {}
    kind = model.get("type")
    if kind == "WordLevel":
        return ("every_token", "")
    if model.get("continuing_subword_prefix"):
        return ("prefix_continues", model["continuing_subword_prefix"])
    if kind == "WordPiece":
        return ("prefix_continues", "##")
    if model.get("end_of_word_suffix"):
        return ("suffix_ends", model["end_of_word_suffix"])
    parts = [*_walk(backend.get("pre_tokenizer")), *_walk(backend.get("decoder"))]
    for part in parts:
        if part.get("type") == "ByteLevel":
            return ("prefix_starts", _BYTE_LEVEL_MARK)
        if part.get("type") == "Metaspace":
            return ("prefix_starts", part.get("replacement", _SENTENCEPIECE_MARK))
    if kind == "Unigram":
        return ("prefix_starts", _SENTENCEPIECE_MARK)
    raise InputError(
        f"cannot tell word boundaries from this tokenizer's {kind or 'unknown'} model: add a 'word_ids' "
        "column at tokenisation (maskkit.Tokenize) instead"
    )


@dataclass
class VocabTables:
    """Facts about a tokenizer's vocabulary, computed once: specials, replaceable ids, word starts, CJK."""

    tokens: list[str]
    special: np.ndarray  # bool per id
    mask_id: int
    pad_id: int
    added: frozenset[int] = frozenset()
    backend: dict[str, Any] | None = None
    tokenizer_name: str = ""
    unk_id: int | None = None

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> VocabTables:
        name = type(tokenizer).__name__
        if getattr(tokenizer, "mask_token_id", None) is None:
            raise InputError(
                f"the tokenizer ({name}) has no mask token, so masked-language-model targets cannot be made: "
                "use a tokenizer with one, or add it (tokenizer.add_special_tokens({'mask_token': '[MASK]'}) "
                "and resize the model's embeddings)"
            )
        size = len(tokenizer)
        tokens = [t if t is not None else "" for t in tokenizer.convert_ids_to_tokens(list(range(size)))]
        special = np.zeros(size, dtype=bool)
        special_ids = set(tokenizer.all_special_ids)
        added: set[int] = set()
        for token_id, token in getattr(tokenizer, "added_tokens_decoder", {}).items():
            if token_id < size:
                (special_ids if getattr(token, "special", False) else added).add(token_id)
        special[[i for i in special_ids if 0 <= i < size]] = True
        if tokenizer.pad_token_id is None:
            raise InputError(
                f"{type(tokenizer).__name__} has no pad token, so batches cannot be padded: set one first, e.g. "
                "tokenizer.pad_token = tokenizer.eos_token (padded positions get attention 0 and no label)"
            )
        pad_id = tokenizer.pad_token_id
        special[pad_id] = True  # padding is never a candidate, whatever the tokenizer lists
        backend = None
        if getattr(tokenizer, "is_fast", False):
            backend = json.loads(tokenizer.backend_tokenizer.to_str())
        unk = getattr(tokenizer, "unk_token_id", None)
        framing = {getattr(tokenizer, f"{name}_token_id", None) for name in ("pad", "cls", "sep", "bos", "eos", "mask")}
        unk_id = int(unk) if unk is not None and unk not in framing else None  # GPT-2's unk is its eos too
        return cls(tokens, special, int(tokenizer.mask_token_id), int(pad_id), frozenset(added), backend, name, unk_id)

    @property
    def size(self) -> int:
        return len(self.tokens)

    @cached_property
    def ordinary(self) -> np.ndarray:
        """True for every id that is not special (bool per id): a batch's candidates are `ordinary[ids]`."""
        return ~self.special

    @cached_property
    def replaceable_ids(self) -> np.ndarray:
        """Ids a random replacement may take: never special tokens, nor BERT's [unusedN] placeholders."""
        keep = ~self.special & np.array([not _UNUSED.match(t) for t in self.tokens], dtype=bool)
        return np.flatnonzero(keep)

    @cached_property
    def word_table(self) -> tuple[str, np.ndarray]:
        """("starts", table) or ("ends", table): whether each id starts (or ends) a word."""
        if self.backend is None:
            raise InputError(
                f"word boundaries need a fast tokenizer, but {self.tokenizer_name} is a slow (Python) one: "
                "load it with AutoTokenizer.from_pretrained(..., use_fast=True), or add a 'word_ids' column "
                "at tokenisation (maskkit.Tokenize)"
            )
        how, mark = word_marker(self.backend)
        if how == "every_token":
            table = np.ones(self.size, dtype=bool)
        elif how == "prefix_continues":
            table = np.array([not t.startswith(mark) for t in self.tokens], dtype=bool)
        elif how == "prefix_starts":
            table = np.array([t.startswith(mark) for t in self.tokens], dtype=bool)
        else:
            table = np.array([t.endswith(mark) for t in self.tokens], dtype=bool)
        if self.added:
            table[list(self.added)] = True
        return ("ends" if how == "suffix_ends" else "starts", table)

    def starts_word(self, ids: np.ndarray) -> np.ndarray:
        """Looks up, per token, whether it starts a word (vectorised over a batch of ids)."""
        kind, table = self.word_table
        if kind == "starts":
            return table[ids]
        starts = np.ones(ids.shape, dtype=bool)
        starts[:, 1:] = table[ids[:, :-1]]
        return starts

    def inside_word(self, ids: np.ndarray) -> np.ndarray | None:
        """Marks `<unk>` tokens: never masked, but part of the word around them (None: no unk token)."""
        return None if self.unk_id is None else ids == self.unk_id

    @cached_property
    def cjk(self) -> np.ndarray:
        """Whether each id holds a CJK character: a WordPiece character, a SentencePiece piece, or the bytes
        of one in a byte-level vocabulary (GPT-2, RoBERTa, ModernBERT write its UTF-8 bytes as symbols)."""
        byte_level = self.backend is not None and any(
            part.get("type") == "ByteLevel"
            for part in (*_walk(self.backend.get("pre_tokenizer")), *_walk(self.backend.get("decoder")))
        )
        return np.array([holds_cjk(t, byte_level) for t in self.tokens], dtype=bool)


def jieba_segmenter(text: str) -> list[str]:
    """Segments Chinese text into words with jieba (precise mode), loaded on first use."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return list(jieba.cut(text, HMM=True))


def word_spans(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """Finds each segmenter word's character span in `text`, in order (segmenters may drop whitespace)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for word in words:
        if not word.strip():
            continue
        start = text.find(word, cursor)
        if start < 0:
            normalised = unicodedata.normalize("NFKC", word)
            start = text.find(normalised, cursor)
            if start < 0:
                raise InputError(f"segmenter returned {word!r}, which is not in the text after position {cursor}")
            word = normalised
        spans.append((start, start + len(word)))
        cursor = start + len(word)
    return spans


def cjk_word_spans(text: str, segmenter: Segmenter | None = None) -> list[tuple[int, int]]:
    """The character spans of a segmenter's words (jieba's by default) inside each run of CJK characters.

    Only the runs are segmented: other scripts keep the tokenizer's own words, so a segmenter never cuts
    a Latin or Cyrillic word (jieba splits "molière" into "moli" and "ère")."""
    segment = segmenter or jieba_segmenter
    spans: list[tuple[int, int]] = []
    for run in _CJK_RUN.finditer(text):
        spans.extend((run.start() + a, run.start() + b) for a, b in word_spans(run.group(), segment(run.group())))
    return spans


def segment_mixed(text: str, segmenter: Segmenter | None = None) -> list[str]:
    """Pieces that join back into `text`: the segmenter's words inside CJK runs, the text between them whole."""
    pieces: list[str] = []
    cursor = 0
    for start, end in cjk_word_spans(text, segmenter):
        if start > cursor:
            pieces.append(text[cursor:start])
        pieces.append(text[start:end])
        cursor = end
    if cursor < len(text):
        pieces.append(text[cursor:])
    return pieces


def _visible_start(text: str | None, begin: int, end: int) -> int:
    """A token's first character that is not whitespace (byte-level offsets may start at the space before
    a word, "Ġant" at " ant"); for a token of whitespace only, the character after it."""
    if text is None:
        return begin
    visible = begin
    while visible < end and visible < len(text) and text[visible].isspace():
        visible += 1
    return visible if visible < end else end  # a whitespace-only token ("▁") goes with what follows it


def _span_holding(starts: np.ndarray, spans: Sequence[tuple[int, int]], position: int) -> int | None:
    index = int(np.searchsorted(starts, position, side="right")) - 1
    return index if index >= 0 and position < spans[index][1] else None


def word_ids_from_offsets(
    offsets: Sequence[tuple[int, int]],
    spans: Sequence[tuple[int, int]],
    special: Sequence[bool],
    text: str | None = None,
) -> list[int | None]:
    """Maps each token to the segmenter word holding its first visible character (None for special tokens).

    With `text`, a token whose offsets start at whitespace (byte-level BPE without trimmed offsets) is
    placed by its first non-space character."""
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    out: list[int | None] = []
    for (begin, end), is_special in zip(offsets, special):
        out.append(
            None if is_special or end <= begin else _span_holding(starts, spans, _visible_start(text, begin, end))
        )
    return out


def mixed_word_ids(
    text: str,
    offsets: Sequence[tuple[int, int]],
    token_words: Sequence[int | None],
    special: Sequence[bool],
    spans: Sequence[tuple[int, int]],
) -> list[int | None]:
    """Word ids for text that mixes CJK with other scripts: a token whose first visible character lies in a
    CJK word span (`cjk_word_spans`) belongs to that segmenter word; any other token keeps the tokenizer's
    own word (`token_words`, from `word_ids()`), cut only where CJK characters interrupt it. Words are
    numbered in order of appearance."""
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    numbers: dict[tuple[int, ...], int] = {}
    out: list[int | None] = []
    cjk_seen = 0
    for (begin, end), word, is_special in zip(offsets, token_words, special):
        if is_special or end <= begin:
            out.append(None)
            continue
        cjk_word = _span_holding(starts, spans, _visible_start(text, begin, end))
        if cjk_word is not None:
            cjk_seen = cjk_word + 1
            out.append(numbers.setdefault((cjk_word,), len(numbers)))
        else:
            out.append(None if word is None else numbers.setdefault((word, cjk_seen, -1), len(numbers)))
    return out
