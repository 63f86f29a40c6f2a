"""Sentence splitting for back-translation and selective masking's sentence scoring."""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Splits a document at sentence ends (., !, ? followed by whitespace)."""
    return [s for s in SENTENCE_END.split(text.strip()) if s]
