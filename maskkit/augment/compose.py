"""Combinators over augmenters: apply in sequence, one of, some of, or sometimes.

Every augmenter takes `(texts, keys=None, k=0) -> list[str | None]`. A combinator draws, per text and k,
a plan (which augmenters, in which order), keyed like the operations' draws, then runs the plans stage by
stage so that each augmenter sees all its texts in one call (one translation batch, not one per text).
Augmenters are keyed per text, so the result equals running each text alone. A None (filtered out)
ends that text's plan.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from maskkit.augment.eda import _rng
from maskkit.augment.protocol import AugmentMethods, check_texts, checked_keys, method_names
from maskkit.errors import InputError, WrongType
from maskkit.registry import register
from maskkit.rng import as_integer


@dataclass(frozen=True)
class _Combinator(AugmentMethods):
    augmenters: tuple[Any, ...]
    seed: int = field(default=0, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "augmenters", tuple(self.augmenters))
        if not self.augmenters:
            raise InputError(f"{type(self).__name__} needs at least one augmenter")
        for a in self.augmenters:
            if not callable(a):
                raise WrongType(f"{type(self).__name__} takes augmenters (callables), got {type(a).__name__}")

    def prepare(self) -> None:
        for augmenter in self.augmenters:
            if hasattr(augmenter, "prepare"):
                augmenter.prepare()

    def plan(self, rng: random.Random) -> list[int]:
        """The augmenters (by index, in order) that one text goes through."""
        raise NotImplementedError

    def method_names(self, keys: Sequence[int], k: int) -> list[str]:
        """The branch each text's k-th augmentation takes, "OneOf[SynonymReplace]" (nested combinators
        name theirs: "Compose[OneOf[RandomSwap]+RandomDelete]"); "Sometimes[]" where nothing ran."""
        out = []
        for key in keys:
            steps = [
                method_names(self.augmenters[i], [key], k)[0]
                for i in self.plan(_rng(self.seed, type(self).__name__, key, k))
            ]
            out.append(f"{type(self).__name__}[{'+'.join(steps)}]")
        return out

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> list[str | None]:
        texts = check_texts(texts)
        keys = checked_keys(texts, keys)
        plans = [self.plan(_rng(self.seed, type(self).__name__, key, k)) for key in keys]
        current: list[str | None] = list(texts)
        for stage in range(max((len(p) for p in plans), default=0)):
            groups: dict[int, list[int]] = {}
            for i, plan in enumerate(plans):
                if stage < len(plan) and current[i] is not None:
                    groups.setdefault(plan[stage], []).append(i)
            for index, rows in groups.items():
                out = self.augmenters[index]([current[i] for i in rows], [keys[i] for i in rows], k)
                for i, text in zip(rows, out):
                    current[i] = text
        return current


@register("maskkit.augment.compose.v1", "augmenter", short="compose")
@dataclass(frozen=True)
class Compose(_Combinator):
    """Applies every augmenter in turn."""

    def plan(self, rng: random.Random) -> list[int]:
        return list(range(len(self.augmenters)))


@register("maskkit.augment.one_of.v1", "augmenter", short="one_of")
@dataclass(frozen=True)
class OneOf(_Combinator):
    """Applies one augmenter, drawn with probabilities `weights` (equal by default)."""

    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.weights is not None:
            if len(self.weights) != len(self.augmenters) or min(self.weights) < 0 or sum(self.weights) <= 0:
                raise InputError("weights must be one non-negative weight per augmenter, with a positive sum")
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))

    def plan(self, rng: random.Random) -> list[int]:
        return rng.choices(range(len(self.augmenters)), weights=self.weights)


@register("maskkit.augment.some_of.v1", "augmenter", short="some_of")
@dataclass(frozen=True)
class SomeOf(_Combinator):
    """Applies `n` distinct augmenters in a random order."""

    n: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "n", as_integer(self.n, "n"))
        if not 1 <= self.n <= len(self.augmenters):
            raise InputError(f"n must be between 1 and {len(self.augmenters)}, got {self.n!r}")

    def plan(self, rng: random.Random) -> list[int]:
        return rng.sample(range(len(self.augmenters)), self.n)


@register("maskkit.augment.sometimes.v1", "augmenter", short="sometimes")
@dataclass(frozen=True)
class Sometimes(_Combinator):
    """Applies the augmenters in turn with probability `p`, else leaves the text as it is."""

    p: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.p <= 1.0:
            raise InputError(f"p must be in [0, 1], got {self.p!r}")

    def plan(self, rng: random.Random) -> list[int]:
        return list(range(len(self.augmenters))) if rng.random() < self.p else []
