"""Words of a text for augmentation, kept with their case, punctuation and spacing.

A text splits into tokens (words, with contractions such as "isn't" kept whole, and punctuation marks),
each with the whitespace that follows it, so an edited text joins back with its original spacing and
punctuation instead of EDA's lower-cased, letters-only rewrite. Runs of CJK characters split into
jieba words (other scripts keep the word pattern) and join without spaces between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from maskkit.masking.words import has_cjk, segment_mixed

_TOKEN = re.compile(r"(\w+(?:['’]\w+)*|[^\w\s]+)(\s*)", re.UNICODE)


@dataclass
class Token:
    text: str
    space: str  # the whitespace that follows the token in the text

    @property
    def is_word(self) -> bool:
        return self.text[:1].isalnum() or self.text[:1] == "_"


def split_tokens(text: str) -> tuple[str, list[Token]]:
    """Splits a text into (leading whitespace, tokens with their trailing whitespace)."""
    leading = text[: len(text) - len(text.lstrip())]
    if has_cjk(text):
        return leading, _segmented(text)
    return leading, [Token(m.group(1), m.group(2)) for m in _TOKEN.finditer(text)]


def _segmented(text: str) -> list[Token]:
    """Tokens from jieba's words inside CJK runs and from the word pattern elsewhere; a whitespace segment
    becomes the spacing after the token before it."""
    tokens: list[Token] = []
    for piece in segment_mixed(text):
        stripped = piece.lstrip()
        if tokens and len(stripped) < len(piece):
            tokens[-1].space += piece[: len(piece) - len(stripped)]
        piece = stripped
        if not piece:
            continue
        for m in _TOKEN.finditer(piece) if not has_cjk(piece) else ():
            tokens.append(Token(m.group(1), m.group(2)))
        if has_cjk(piece):
            tokens.append(Token(piece, ""))
    return tokens


def gap(left: str, right: str) -> str:
    """The spacing two words need side by side: none next to a CJK word, one space otherwise."""
    return "" if has_cjk(left[-1:]) or has_cjk(right[:1]) else " "


def join_tokens(leading: str, tokens: list[Token], segmented: bool = False) -> str:
    """Joins tokens back into text; in unsegmented text, two words that lost their spacing get a space."""
    parts = [leading]
    for i, token in enumerate(tokens):
        parts.append(token.text)
        if i < len(tokens) - 1:
            needs_space = tokens[i + 1].is_word and token.is_word and not segmented
            parts.append(token.space or (gap(token.text, tokens[i + 1].text) if needs_space else ""))
        else:
            parts.append(token.space)
    return "".join(parts)


def match_case(word: str, like: str) -> str:
    """Gives `word` the case pattern of `like` (UPPER, Capitalised or as it is)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
