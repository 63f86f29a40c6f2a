"""Pure numpy kernels for masking: budgets, unit structure, choosing units, spans and corruption.

Every function takes its random draws as arguments (uniform arrays from `maskkit.rng`), so the kernels
hold no state and the same draws always give the same result. Arrays are (batch, length).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from maskkit.rng import to_unit

BUDGETS = ("exact", "bernoulli", "bert", "spanbert")


def probabilistic_round(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Rounds each non-negative value down or up with the probability that keeps its expectation
    (fairseq, SpanBERT): floor(x + u) is floor(x) + 1 exactly when u >= 1 - frac(x)."""
    return (x + u).astype(np.int64)


def unit_starts(candidates: np.ndarray, starts_word: np.ndarray, inner: np.ndarray | None = None) -> np.ndarray:
    """Marks the first token of each unit: a candidate that starts a word or follows a token outside words.

    `inner` marks tokens that are no candidates but still belong to the word around them (an `<unk>`
    piece inside a SentencePiece word, "▁na <unk> ve" for "naïve"): the word goes on across them, so its
    candidate tokens stay one unit instead of being cut at the `<unk>`.
    """
    inside = candidates if inner is None else candidates | inner
    previous = np.zeros_like(inside)
    previous[:, 1:] = inside[:, :-1]
    begins = inside & (starts_word | ~previous)
    if inner is None or not (inner & ~candidates).any():
        return candidates & begins
    unit = np.cumsum(begins, axis=1)
    width = candidates.shape[1]
    last = np.maximum.accumulate(np.where(candidates, np.arange(width)[None, :], -1), axis=1)
    before = np.full_like(last, -1)
    before[:, 1:] = last[:, :-1]
    previous_unit = np.where(before >= 0, np.take_along_axis(unit, np.maximum(before, 0), axis=1), -1)
    return candidates & (unit != previous_unit)


def unit_ends(candidates: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Marks the last candidate token of each unit, from `unit_start_index`'s per-token unit index."""
    batch, width = candidates.shape
    position = np.where(candidates, np.arange(width)[None, :], width)
    following = np.full_like(position, width)
    following[:, :-1] = np.minimum.accumulate(position[:, ::-1], axis=1)[:, ::-1][:, 1:]
    padded = np.concatenate([index, np.full((batch, 1), -1, dtype=index.dtype)], axis=1)
    return candidates & (np.take_along_axis(padded, following, axis=1) != index)


def unit_start_index(candidates: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Gives each candidate token the position of its unit's first token (-1 off candidates)."""
    positions = np.arange(candidates.shape[1], dtype=np.int64)
    index = np.maximum.accumulate(np.where(starts, positions[None, :], 0), axis=1)
    return np.where(candidates, index, -1)


def starts_from_ids(candidates: np.ndarray, unit_ids: np.ndarray) -> np.ndarray:
    """Marks unit starts from per-token unit ids (negative: no unit): a candidate whose id differs from its
    left neighbour's. A non-candidate token with the unit's id (an `<unk>` piece) does not cut the unit."""
    changed = np.ones_like(candidates)
    changed[:, 1:] = unit_ids[:, 1:] != unit_ids[:, :-1]
    return unit_starts(candidates, changed, inner=unit_ids >= 0)


def budget_counts(
    n_units: np.ndarray, rate: float, u: np.ndarray, budget: str = "exact", n_tokens: np.ndarray | None = None,
    cap: int | None = None,
) -> np.ndarray:  # fmt: skip
    """The number of units to select per example, never above the units there are, nor above `cap`.

    "exact": rate * n probabilistically rounded with `u` (fairseq; the expectation is kept). "bert": as
    BERT's create_pretraining_data, round(rate * n) with a minimum of 1, where n counts the sequence's
    tokens with [CLS] and [SEP] (`n_tokens`; half rounds to even, as Python 3's round). "spanbert": as
    SpanBERT's masking code, ceil(rate * n) in floating point. BERT's cap is `max_predictions_per_seq`.
    """
    if budget == "bert":
        base = n_units if n_tokens is None else n_tokens
        k = np.maximum(np.rint(base * rate).astype(np.int64), 1)
    elif budget == "spanbert":
        k = np.ceil(n_units * rate).astype(np.int64)
    else:
        k = probabilistic_round(n_units * rate, u)
    k = np.minimum(k, n_units)
    return k if cap is None else np.minimum(k, cap)


def choose_smallest(
    order: np.ndarray, eligible: np.ndarray, k: np.ndarray, tiebreak: np.ndarray | None = None
) -> np.ndarray:
    """Selects, per row, the k eligible positions with the smallest `order` (all of them if fewer; k is at
    most the row length).

    The k-th smallest value is found with a partition plus a sort of only the first max(k) values, so
    the cost is linear in the row length. Positions tied at that value are chosen by the smallest
    `tiebreak` (distinct uniform draws); without a tiebreak, `order` must have no ties (uniform draws).
    """
    top = int(k.max(initial=0))
    if top == 0 or order.shape[1] == 0:
        return np.zeros(order.shape, dtype=bool)
    # ineligible positions sort last; the partition works in place on this scratch copy
    ranked = np.where(eligible, order, _largest(order.dtype))
    if top < order.shape[1]:
        ranked.partition(top - 1, axis=1)
        ranked = ranked[:, :top]
    ranked.sort(axis=1)
    if int(k.min()) > 0:
        threshold, wanted = ranked[np.arange(len(k)), k - 1][:, None], eligible
    else:  # a row with k = 0 reads rank 0 and selects nothing
        threshold, wanted = ranked[np.arange(len(k)), np.maximum(k - 1, 0)][:, None], eligible & (k > 0)[:, None]
    if tiebreak is None:
        return wanted & (order <= threshold)
    below = wanted & (order < threshold)
    tied = wanted & (order == threshold)
    return below | choose_smallest(tiebreak, tied, k - below.sum(axis=1))


_LARGEST = {np.dtype(np.float64): np.inf, np.dtype(np.uint64): np.iinfo(np.uint64).max}


def _largest(dtype: np.dtype) -> float | int:
    return _LARGEST[dtype] if dtype in _LARGEST else np.iinfo(dtype).max


def select_units(
    starts: np.ndarray, start_index: np.ndarray, order: np.ndarray, rate: float, budget: str, u_round: np.ndarray,
    cap: int | None = None,
) -> np.ndarray:  # fmt: skip
    """Selects whole units at `rate` of each example's units; returns the selected tokens.

    `order` holds uniform 64-bit draws per position (a unit draws at its first token). "bernoulli"
    selects each unit independently with probability `rate`; the other budgets select exactly
    `budget_counts` units (probabilistic rounding with `u_round` for "exact"), at most `cap`.
    """
    if budget == "bernoulli":
        chosen_starts = starts & (to_unit(order) < rate)
    else:
        chosen_starts = choose_smallest(
            order, starts, budget_counts(starts.sum(axis=1), rate, u_round, budget, cap=cap)
        )
    return expand_units(chosen_starts, start_index)


def expand_units(chosen_starts: np.ndarray, start_index: np.ndarray) -> np.ndarray:
    """Spreads a decision made at each unit's first token over all of the unit's tokens."""
    rows = np.arange(start_index.shape[0])[:, None]
    return (start_index >= 0) & chosen_starts[rows, np.maximum(start_index, 0)]


def truncated_geometric_cdf(p: float, low: int, high: int) -> np.ndarray:
    """CDF of a geometric(p) length renormalised to [low, high] (SpanBERT: p=0.2 on 1..10, mean 3.8)."""
    lengths = np.arange(low, high + 1)
    pmf = p * (1 - p) ** (lengths - 1)
    cdf = np.cumsum(pmf / pmf.sum())
    cdf[-1] = 1.0
    return cdf


def sample_lengths(cdf: np.ndarray, low: int, u: np.ndarray) -> np.ndarray:
    """Turns uniforms into lengths by inverting a CDF over [low, low + len(cdf) - 1]."""
    return low + np.searchsorted(cdf, u, side="right")


def span_targets(
    candidates: np.ndarray,
    starts: np.ndarray,
    budgets: np.ndarray,
    rounds: np.ndarray,
    draw_rounds: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
    block: int = 8,
) -> np.ndarray:
    """Places SpanBERT spans of whole words until each row has `budgets[b]` target tokens.

    `draw_rounds(start, count)` gives (anchor uniforms, span lengths in words), each (batch, count),
    for rounds start .. start + count - 1. Round r of row b takes anchor word
    `floor(anchor * n_words)` (skipped if already masked) and covers `length` words rightwards,
    stopping at the end of the anchor's segment so a span never crosses a special token. Words stay
    whole: the word that reaches the budget is taken entirely, so a row exceeds its budget by less than
    one word. A row stops at its budget or after `rounds[b]` rounds. Rows advance together, one
    vectorised step per round (drawn `block` rounds at a time), so a row's result depends only on its
    own draws.
    """
    batch, width = candidates.shape
    words_per_row = starts.sum(axis=1)
    n_max = int(words_per_row.max(initial=0))
    if n_max == 0 or not budgets.any():
        return np.zeros((batch, width), dtype=bool)
    # per-row word tables padded to the longest row, flattened (row b's words at b * (n_max + 1) ...);
    # column n_max of a row, and one last cell, are sentinel words of length 0
    stride = n_max + 1
    sentinel = batch * stride
    word_of_token = np.where(candidates, np.cumsum(starts, axis=1) - 1, n_max)
    flat_word = word_of_token + (np.arange(batch) * stride)[:, None]
    word_len = np.bincount(flat_word[candidates], minlength=sentinel + 1)
    # a word's segment ends at the first later word that follows a special token (or at the row's end)
    previous = np.concatenate([np.zeros((batch, 1), dtype=bool), candidates[:, :-1]], axis=1)
    if np.count_nonzero(candidates & ~previous) == np.count_nonzero(words_per_row):  # one segment per row
        segment_end = np.repeat(words_per_row[:, None], stride, axis=1)
    else:
        after_break = starts & ~previous
        breaks = np.zeros((batch, stride), dtype=bool)
        breaks[:, n_max] = True
        breaks[np.nonzero(after_break)[0], word_of_token[after_break]] = True
        index = np.broadcast_to(np.arange(stride), breaks.shape)
        next_break = np.minimum.accumulate(np.where(breaks, index, n_max)[:, ::-1], axis=1)[:, ::-1]
        segment_end = np.minimum(np.append(next_break[:, 1:], np.full((batch, 1), n_max), axis=1),
                                 words_per_row[:, None])  # fmt: skip
    rows = np.arange(batch)[:, None]
    row_offset = (np.arange(batch) * stride)[:, None, None]
    last_word = np.maximum(words_per_row - 1, 0)[:, None]
    masked_word = np.zeros(sentinel + 1, dtype=bool)
    rounds = np.where(words_per_row > 0, rounds, 0)
    remaining = np.where(rounds > 0, budgets, 0).astype(np.int64)  # tokens a row still needs (<= 0: done)
    fewest_rounds = int(rounds.min())
    for first in range(0, int(rounds.max(initial=0)), block):
        if remaining.max() <= 0:
            break
        # everything that does not depend on earlier rounds, for a block of rounds at once
        anchors, lengths = draw_rounds(first, block)
        anchor = np.minimum((anchors * words_per_row[:, None]).astype(np.int64), last_word)
        span_end = np.minimum(anchor + lengths, segment_end[rows, anchor])
        covered = anchor[:, :, None] + np.arange(int(lengths.max()))
        # flat word ids; the anchor word comes first; past the span's end, the sentinel
        covered = np.where(covered < span_end[:, :, None], covered + row_offset, sentinel)
        covered = np.ascontiguousarray(covered.transpose(1, 0, 2))  # round-major: each round's words contiguous
        covered_len = word_len[covered]
        for r in range(block):
            if first + r >= fewest_rounds:  # a row past its own number of rounds stops
                remaining = np.where(first + r < rounds, remaining, 0)
            words = covered[r]
            masked = masked_word[words]
            gained = np.where(masked, 0, covered_len[r])
            before = np.cumsum(gained, axis=1)
            before -= gained
            # an anchor already masked gains nothing this round; a finished row has nothing left to gain
            take = before < np.where(masked[:, 0], 0, remaining)[:, None]
            masked_word[words[take]] = True
            remaining -= np.sum(gained, axis=1, where=take)
            if remaining.max() <= 0:
                break
    return candidates & masked_word[flat_word]


def categorical(u: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """Draws a category index from one uniform per element (0 .. len(weights) - 1)."""
    edges = np.cumsum(weights, dtype=np.float64)
    edges = edges / edges[-1]
    return np.searchsorted(edges[:-1], u, side="right")


def run_starts(targets: np.ndarray) -> np.ndarray:
    """For each target, the position of the first target of its contiguous run (-1 off targets)."""
    starts = targets.copy()
    starts[:, 1:] &= ~targets[:, :-1]
    positions = np.where(starts, np.arange(targets.shape[1], dtype=np.int64), -1)
    return np.where(targets, np.maximum.accumulate(positions, axis=1), -1)


def span_boundaries(units: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SpanBERT's boundary pairs: for each target (`units`: its unit-start position, -1 off targets), the
    position just before its unit and just after it (within the row's real tokens), and its offset from the
    unit's start; -1 off targets. A unit is every target sharing a start (a span, a word, a token)."""
    left = np.full(units.shape, -1, dtype=np.int64)
    right, offset = left.copy(), left.copy()
    rows, cols = np.nonzero(units >= 0)
    if rows.size == 0:
        return left, right, offset
    starts = units[rows, cols].astype(np.int64)
    groups, inverse = np.unique(rows * units.shape[1] + starts, return_inverse=True)
    ends = np.full(groups.shape, -1, dtype=np.int64)
    np.maximum.at(ends, inverse, cols)
    left[rows, cols] = np.maximum(starts - 1, 0)
    right[rows, cols] = np.minimum(ends[inverse] + 1, lengths[rows] - 1)
    offset[rows, cols] = cols - starts
    return left, right, offset
