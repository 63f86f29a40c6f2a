"""Tokenising labelled text for classification, with head, tail or head+tail truncation (Sun et al. 2019).

Sun et al. found that for long reviews the first 128 and last 382 tokens of 512 beat keeping the head
or the tail alone. The tokenizer's own truncation keeps the head; the tail and head+tail strategies cut
the content tokens and then add the tokenizer's own special tokens around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from maskkit.errors import InputError

TRUNCATIONS = ("head", "tail", "head_tail")


def special_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special ids a tokenizer puts before and after a single sequence ([CLS] ... [SEP], <s> ... </s>)."""
    probe = "maskkit probe text"
    plain = tokenizer(probe, add_special_tokens=False)["input_ids"]
    framed = tokenizer(probe)["input_ids"]
    for start in range(len(framed) - len(plain) + 1):
        if framed[start : start + len(plain)] == plain:
            return framed[:start], framed[start + len(plain) :]
    raise InputError(f"cannot find where {type(tokenizer).__name__} puts its special tokens")


def pair_frame(tokenizer: Any) -> tuple[list[int], list[int], list[int], int]:
    """The special ids a tokenizer puts before, between and after a pair ([CLS] a [SEP] b [SEP]), and the
    token type of the second segment (with what follows it); the first segment and its frame are type 0."""
    first, second = "maskkit probe", "second text"
    a = tokenizer(first, add_special_tokens=False)["input_ids"]
    b = tokenizer(second, add_special_tokens=False)["input_ids"]
    encoded = tokenizer(first, second, return_token_type_ids=True)
    framed, types = encoded["input_ids"], encoded["token_type_ids"]
    for i in range(len(framed) - len(a) + 1):
        if framed[i : i + len(a)] == a:
            for j in range(i + len(a), len(framed) - len(b) + 1):
                if framed[j : j + len(b)] == b:
                    return framed[:i], framed[i + len(a) : j], framed[j + len(b) :], int(types[j])
    raise InputError(f"cannot find where {type(tokenizer).__name__} puts its special tokens around a pair")


def cut(ids: list[int], budget: int, truncation: str, head_tokens: int) -> list[int]:
    """Keeps at most `budget` content tokens: the first, the last, or the first `head_tokens` plus the last rest."""
    if len(ids) <= budget:
        return ids
    if truncation == "head":
        return ids[:budget]
    if truncation == "tail":
        return ids[len(ids) - budget :]
    head = min(head_tokens, budget)
    return ids[:head] + ids[len(ids) - (budget - head) :]


@dataclass(frozen=True)
class EncodeForClassification:
    """Tokenises `text_column` (and `pair_column` for sentence pairs) to at most `max_length` tokens.

    Single texts: `truncation` is "head", "tail" or "head_tail" (`head_tokens` from the start, the rest
    from the end). Pairs are truncated by the tokenizer, longest first (head).
    """

    tokenizer: Any
    text_column: str = "text"
    pair_column: str | None = None
    max_length: int = 128
    truncation: str = "head"
    head_tokens: int = 128

    def __post_init__(self) -> None:
        if self.truncation not in TRUNCATIONS:
            raise InputError(f"truncation must be one of {TRUNCATIONS}, got {self.truncation!r}")
        if self.pair_column is not None and self.truncation != "head":
            raise InputError("sentence pairs are truncated longest-first; use truncation='head' with pair_column")
        if self.max_length < 4:
            raise InputError(f"max_length must be >= 4, got {self.max_length}")
        if self.head_tokens < 0:
            raise InputError(f"head_tokens must be >= 0, got {self.head_tokens}")
        if self.truncation == "head_tail" and self.head_tokens >= self.max_length - 2:
            raise InputError(
                f"truncation='head_tail' keeps head_tokens ({self.head_tokens}) from the start and the rest of "
                f"max_length ({self.max_length}, less [CLS] and [SEP]) from the end, so these settings keep the "
                "head only: raise max_length or lower head_tokens (Sun et al. 2019: max_length=512, head_tokens=128, "
                "i.e. 128 + 382)"
            )

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        texts = batch[self.text_column]
        if self.pair_column is not None:
            return dict(self.tokenizer(texts, batch[self.pair_column], truncation=True, max_length=self.max_length))
        if self.truncation == "head":
            return dict(self.tokenizer(texts, truncation=True, max_length=self.max_length))
        before, after = special_frame(self.tokenizer)
        budget = self.max_length - len(before) - len(after)
        content = self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        ids = [before + cut(row, budget, self.truncation, self.head_tokens) + after for row in content]
        out: dict[str, list[Any]] = {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}
        if "token_type_ids" in self.tokenizer.model_input_names:
            out["token_type_ids"] = [[0] * len(row) for row in ids]
        return out
