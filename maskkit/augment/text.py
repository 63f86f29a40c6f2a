"""Words of a text for augmentation, kept with their case, punctuation and spacing.

A text splits into tokens (words, with contractions such as "isn't" kept whole, and punctuation marks),
each with the whitespace that follows it, so an edited text joins back with its original spacing and
punctuation instead of EDA's lower-cased, letters-only rewrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    return leading, [Token(m.group(1), m.group(2)) for m in _TOKEN.finditer(text)]


def join_tokens(leading: str, tokens: list[Token]) -> str:
    """Joins tokens back into text; a token that lost its spacing gets one space."""
    parts = [leading]
    for i, token in enumerate(tokens):
        parts.append(token.text)
        if i < len(tokens) - 1:
            needs_space = tokens[i + 1].is_word and token.is_word
            parts.append(token.space or (" " if needs_space else ""))
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
