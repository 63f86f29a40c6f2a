"""HOW to corrupt: what the selected targets become ([MASK], a random token, or themselves).

The 80/10/10 choice is ONE categorical draw per target token, or per unit (`per="unit"`) so a whole
word or span shares one fate, as in SpanBERT. Random replacements are drawn from the vocabulary's
replaceable ids (never special tokens), uniformly or by unigram frequency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, ClassVar

import numpy as np

from maskkit.errors import InputError
from maskkit.masking.batch import MaskingBatch
from maskkit.masking.selectors import Selection
from maskkit.registry import register


def check_fate_shares(shares: dict[str, float]) -> None:
    """The fates' shares must be probabilities that sum to 1 (the error names the share)."""
    for name, value in shares.items():
        if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
            raise InputError(f"{name} must be a probability in [0, 1], got {value!r}")
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        raise InputError(f"{' + '.join(shares)} must sum to 1, got {sum(shares.values())!r}")


@register("maskkit.mask_random_keep.v1", "corruption", short="mask_random_keep")
@dataclass(frozen=True)
class MaskRandomKeep:
    """Replaces each target with [MASK] (`mask`), a random token (`random`) or keeps it (`keep`).

    The shares are one categorical draw per target token (`per="token"`, BERT) or per unit
    (`per="unit"`, SpanBERT: all tokens of a word or span share one fate). `random_weights` gives
    per-vocabulary-id weights (e.g. unigram counts from `maskkit.unigram_counts`) for the random
    replacement; by default it is uniform over the non-special vocabulary.

    References: Devlin et al. 2019 (BERT, 80/10/10); Joshi et al. 2020 (SpanBERT, span-level replacement).
    """

    mask: float = 0.8
    random: float = 0.1
    keep: float = 0.1
    per: str = "token"
    random_weights: tuple[float, ...] | None = field(default=None, repr=False)
    STREAMS: ClassVar[tuple[int, int]] = (61, 62)

    def __post_init__(self) -> None:
        check_fate_shares({"mask": self.mask, "random": self.random, "keep": self.keep})
        if self.per not in ("token", "unit"):
            raise InputError(f"per must be 'token' or 'unit', got {self.per!r}")
        if self.random_weights is not None:
            weights = np.asarray(self.random_weights, dtype=np.float64)
            if weights.ndim != 1 or (weights < 0).any() or not np.isfinite(weights).all():
                raise InputError("random_weights must be one finite, non-negative weight per vocabulary id")
            object.__setattr__(self, "random_weights", tuple(weights.tolist()))

    def apply(self, batch: MaskingBatch, selection: Selection) -> tuple[np.ndarray, np.ndarray]:
        """Returns (corrupted ids, labels) for a batch: labels hold the original id at targets, -100 elsewhere."""
        flat = np.flatnonzero(selection.targets)
        rows, cols = np.divmod(flat, selection.targets.shape[1])
        per_unit = self.per == "unit" and selection.unit_index is not None
        fate_cols = selection.unit_index.reshape(-1)[flat] if per_unit else cols  # type: ignore[union-attr]
        # one categorical draw per target (or unit), compared as 64-bit integers against the shares
        bits = batch.draws.bits_at(self.STREAMS[0], rows, fate_cols, width=selection.targets.shape[1])
        mask_below, random_below = fate_thresholds(self.mask, self.random)
        labels = np.full(batch.ids.shape, -100, dtype=batch.ids.dtype)
        labels.reshape(-1)[flat] = batch.ids.reshape(-1)[flat]
        ids = batch.ids if batch.ids_writable else batch.ids.copy()
        flat_ids = ids.reshape(-1)
        masked = bits < mask_below
        flat_ids[flat[masked]] = batch.vocab.mask_id
        swapped = ~masked & (bits < random_below)
        swapped_at = flat[swapped]
        if swapped_at.size:
            if per_unit:  # tokens of one unit share a fate but each draws its own random token
                within = batch.draws.at(self.STREAMS[1], rows[swapped], cols[swapped])
            else:  # given the fate, the draw is uniform on [mask, mask + random): rescale it, no second draw
                within = (bits[swapped] - mask_below) * (1.0 / float(random_below - mask_below))
            flat_ids[swapped_at] = self._random_ids(batch, within)
        return ids, labels

    @cached_property
    def _weights(self) -> np.ndarray:
        return np.asarray(self.random_weights, dtype=np.float64)

    def _random_ids(self, batch: MaskingBatch, u: np.ndarray) -> np.ndarray:
        choices = batch.vocab.replaceable_ids
        if self.random_weights is None:
            return choices[np.minimum((u * len(choices)).astype(np.int64), len(choices) - 1)]
        weights = self._weights
        if len(weights) < batch.vocab.size:
            weights = np.pad(weights, (0, batch.vocab.size - len(weights)))
        cdf = np.cumsum(weights[choices])
        if cdf[-1] <= 0:
            raise InputError("random_weights give no weight to any replaceable (non-special) token")
        return choices[np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(choices) - 1)]


@lru_cache(maxsize=16)
def fate_thresholds(mask: float, random: float) -> tuple[np.uint64, np.uint64]:
    """The fates' upper bounds on a 64-bit draw: below the first [MASK], below the second a random token."""
    top = float(2**64)
    mask_below = min(int(mask * top), 2**64 - 1)
    random_below = min(int((mask + random) * top), 2**64 - 1)
    return np.uint64(mask_below), np.uint64(random_below)


def unigram_counts(token_id_rows: Iterable[Any], vocab_size: int) -> tuple[float, ...]:
    """Counts token ids over a corpus (rows of ids) for frequency-weighted random replacement."""
    counts = np.zeros(vocab_size, dtype=np.float64)
    for row in token_id_rows:
        counts += np.bincount(np.asarray(row, dtype=np.int64), minlength=vocab_size)[:vocab_size]
    return tuple(counts.tolist())
