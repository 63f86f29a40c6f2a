"""Combinators over augmenters: apply in sequence, one of, some of, or sometimes.

Every augmenter takes `(texts, keys=None, k=0) -> list[str]`; a combinator's choices are keyed like
the operations' draws, so the k-th augmentation of a text does not depend on the batch.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from maskkit.augment.eda import _check_texts, _rng, text_keys

Augmenter = Callable[..., list[str]]


def _each(augmenter: Augmenter, text: str, key: int, k: int) -> str:
    return augmenter([text], [key], k)[0]


@dataclass(frozen=True)
class _Combinator:
    augmenters: tuple[Any, ...]
    seed: int = field(default=0, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "augmenters", tuple(self.augmenters))
        if not self.augmenters:
            raise ValueError(f"{type(self).__name__} needs at least one augmenter")
        for a in self.augmenters:
            if not callable(a):
                raise TypeError(f"{type(self).__name__} takes augmenters (callables), got {type(a).__name__}")

    def prepare(self) -> None:
        for augmenter in self.augmenters:
            if hasattr(augmenter, "prepare"):
                augmenter.prepare()

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> list[str]:
        texts = _check_texts(texts)
        keys = text_keys(texts) if keys is None else list(keys)
        return [self.one(text, key, k, _rng(self.seed, type(self).__name__, key, k)) for text, key in zip(texts, keys)]

    def one(self, text: str, key: int, k: int, rng: random.Random) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Compose(_Combinator):
    """Applies every augmenter in turn."""

    def one(self, text: str, key: int, k: int, rng: random.Random) -> str:
        for augmenter in self.augmenters:
            text = _each(augmenter, text, key, k)
        return text


@dataclass(frozen=True)
class OneOf(_Combinator):
    """Applies one augmenter, drawn with probabilities `weights` (equal by default)."""

    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.weights is not None:
            if len(self.weights) != len(self.augmenters) or min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be one non-negative weight per augmenter, with a positive sum")
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))

    def one(self, text: str, key: int, k: int, rng: random.Random) -> str:
        choice = rng.choices(range(len(self.augmenters)), weights=self.weights)[0]
        return _each(self.augmenters[choice], text, key, k)


@dataclass(frozen=True)
class SomeOf(_Combinator):
    """Applies `n` distinct augmenters in a random order."""

    n: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.n, int) or not 1 <= self.n <= len(self.augmenters):
            raise ValueError(f"n must be between 1 and {len(self.augmenters)}, got {self.n!r}")

    def one(self, text: str, key: int, k: int, rng: random.Random) -> str:
        for index in rng.sample(range(len(self.augmenters)), self.n):
            text = _each(self.augmenters[index], text, key, k)
        return text


@dataclass(frozen=True)
class Sometimes(_Combinator):
    """Applies the augmenters in turn with probability `p`, else leaves the text as it is."""

    p: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {self.p!r}")

    def one(self, text: str, key: int, k: int, rng: random.Random) -> str:
        if rng.random() >= self.p:
            return text
        for augmenter in self.augmenters:
            text = _each(augmenter, text, key, k)
        return text
