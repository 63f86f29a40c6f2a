"""Combinators over selectors: `OneOfSelectors` picks one scheme per example. (Augmenters have their own
combinators, in `maskkit.augment`.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from maskkit.errors import InputError, WrongType
from maskkit.masking import functional as F
from maskkit.masking.batch import MaskingBatch
from maskkit.masking.selectors import NeedsTokenizer, ReadsColumns, Selection, Selector
from maskkit.registry import register


@register("maskkit.one_of_selectors.v1", "selector", short="one_of_selectors")
@dataclass(frozen=True)
class OneOfSelectors:
    """Selects with one of `selectors` per example, drawn with probabilities `weights` (equal by default).

    The choice is keyed like every draw, so an example gets the same scheme alone or in any batch.
    """

    selectors: tuple[Any, ...]
    weights: tuple[float, ...] | None = None
    STREAM: ClassVar[int] = 71

    def __init__(self, selectors: Sequence[Selector], weights: Sequence[float] | None = None) -> None:
        if not selectors:
            raise InputError("OneOfSelectors needs at least one selector")
        for s in selectors:
            if not isinstance(s, Selector):
                raise WrongType(
                    f"OneOfSelectors takes selectors (objects with .select), got {type(s).__name__}"
                    + ("; for augmenters use maskkit.augment.OneOf" if callable(s) else "")
                )
        if weights is not None:
            if len(weights) != len(selectors):
                raise InputError(f"weights has {len(weights)} entries for {len(selectors)} selectors")
            if any(w < 0 for w in weights) or sum(weights) <= 0:
                raise InputError(f"weights must be non-negative with a positive sum, got {list(weights)!r}")
        object.__setattr__(self, "selectors", tuple(selectors))
        object.__setattr__(self, "weights", tuple(float(w) for w in weights) if weights is not None else None)

    def bind(self, tokenizer: Any) -> OneOfSelectors:
        bound = [s.bind(tokenizer) if isinstance(s, NeedsTokenizer) else s for s in self.selectors]
        return replace(self, selectors=tuple(bound))

    @property
    def columns(self) -> dict[str, str]:
        return {name: kind for s in self.selectors if isinstance(s, ReadsColumns) for name, kind in s.columns.items()}

    def select(self, batch: MaskingBatch) -> Selection:
        weights = self.weights or (1.0,) * len(self.selectors)
        choice = F.categorical(batch.draws.per_example(self.STREAM), weights)
        targets = np.zeros(batch.shape, dtype=bool)
        unit_index = np.full(batch.shape, -1, dtype=np.int64)
        for i, selector in enumerate(self.selectors):
            rows = np.flatnonzero(choice == i)
            if len(rows):
                part = selector.select(batch.take(rows))
                targets[rows] = part.targets
                unit_index[rows] = part.units()
        return Selection(targets, unit_index)


OneOf = OneOfSelectors  # the 0.2 name; `maskkit.OneOf` warns and goes in 0.4
