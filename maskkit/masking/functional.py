"""Pure numpy kernels for masking: budgets, unit structure, choosing units, spans and corruption.

Every function takes its random draws as arguments (uniform arrays from `maskkit.rng`), so the kernels
hold no state and the same draws always give the same result. Arrays are (batch, length).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BUDGETS = ("exact", "bernoulli")


def probabilistic_round(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Rounds each value down or up with the probability that keeps its expectation (fairseq, SpanBERT)."""
    floor = np.floor(x)
    return (floor + (u < (x - floor))).astype(np.int64)


def unit_starts(candidates: np.ndarray, starts_word: np.ndarray) -> np.ndarray:
    """Marks the first token of each unit: a candidate that starts a word or follows a non-candidate."""
    previous = np.zeros_like(candidates)
    previous[:, 1:] = candidates[:, :-1]
    return candidates & (starts_word | ~previous)


def unit_start_index(candidates: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Gives each candidate token the position of its unit's first token (-1 off candidates)."""
    positions = np.arange(candidates.shape[1], dtype=np.int64)
    index = np.maximum.accumulate(np.where(starts, positions[None, :], 0), axis=1)
    return np.where(candidates, index, -1)


def starts_from_ids(candidates: np.ndarray, unit_ids: np.ndarray) -> np.ndarray:
    """Marks unit starts from per-token unit ids: a candidate whose id differs from its left neighbour's."""
    changed = np.ones_like(candidates)
    changed[:, 1:] = unit_ids[:, 1:] != unit_ids[:, :-1]
    return unit_starts(candidates, changed)


def budget_counts(n_units: np.ndarray, rate: float, u: np.ndarray) -> np.ndarray:
    """Gives the exact number of units to select per example: rate * n, probabilistically rounded."""
    return np.minimum(probabilistic_round(n_units * rate, u), n_units)


def choose_smallest(
    order: np.ndarray, eligible: np.ndarray, k: np.ndarray, tiebreak: np.ndarray | None = None
) -> np.ndarray:
    """Selects, per row, the k eligible positions with the smallest `order` (ties broken by `tiebreak`).

    Without a tiebreak, `order` must be free of ties among eligible positions (uniform draws are): the
    k-th smallest value is found with a partition plus a sort of only the first max(k) values, so the
    cost is linear in the row length.
    """
    k = np.minimum(k, eligible.sum(axis=1))
    if order.shape[1] == 0 or not k.any():
        return np.zeros(order.shape, dtype=bool)
    keyed = np.where(eligible, order, np.inf)
    if tiebreak is not None:
        ranked = np.lexsort((tiebreak, keyed), axis=1)
        chosen = np.zeros(order.shape, dtype=bool)
        take = np.arange(order.shape[1])[None, :] < k[:, None]
        rows = np.broadcast_to(np.arange(order.shape[0])[:, None], order.shape)
        chosen[rows[take], ranked[take]] = True
        return chosen
    top = int(k.max())
    smallest = np.partition(keyed, top - 1, axis=1)[:, :top] if top < order.shape[1] else keyed.copy()
    smallest.sort(axis=1)
    threshold = smallest[np.arange(order.shape[0]), np.maximum(k - 1, 0)]
    return eligible & (keyed <= threshold[:, None]) & (k > 0)[:, None]


def select_units(
    starts: np.ndarray, start_index: np.ndarray, u: np.ndarray, rate: float, budget: str, u_round: np.ndarray
) -> np.ndarray:
    """Selects whole units at `rate` of each example's units; returns the selected tokens.

    `budget="exact"` selects exactly rate * n_units units (probabilistic rounding); "bernoulli"
    selects each unit independently with probability `rate`.
    """
    if budget == "exact":
        k = budget_counts(starts.sum(axis=1), rate, u_round)
        chosen_starts = choose_smallest(u, starts, k)
    else:
        chosen_starts = starts & (u < rate)
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


@dataclass(frozen=True)
class WordTable:
    """All candidate words of a batch, row-major: start, end (exclusive) and segment end per word.

    `segment_end[w]` is the index of the first word past w's segment (segments are separated by
    special tokens); `row_offsets[r]:row_offsets[r + 1]` are row r's words.
    """

    start: list[int]
    end: list[int]
    segment_end: list[int]
    row_offsets: list[int]


def word_table(candidates: np.ndarray, starts: np.ndarray) -> WordTable:
    """Lists every candidate word of a batch with its extent and segment, in one vectorised pass."""
    following = np.zeros_like(candidates)
    following[:, :-1] = candidates[:, 1:] & ~starts[:, 1:]
    rows, start_cols = np.nonzero(starts)
    _, end_cols = np.nonzero(candidates & ~following)
    segment = np.cumsum(~candidates, axis=1)[rows, start_cols] + rows * (candidates.shape[1] + 1)
    boundary = np.append(segment[1:] != segment[:-1], True)
    ends = np.flatnonzero(boundary) + 1
    segment_end = ends[np.searchsorted(ends, np.arange(len(segment)), side="right")]
    offsets = np.concatenate([[0], np.cumsum(starts.sum(axis=1))])
    return WordTable(start_cols.tolist(), (end_cols + 1).tolist(), segment_end.tolist(), offsets.tolist())


def place_spans(
    words: WordTable, row: int, base: int, budget: int, anchors: list[float], lengths: list[int], masked: bytearray
) -> int:
    """Places SpanBERT spans of whole words in one example until `budget` tokens are targets.

    Each round takes an anchor word (uniform over the row's words; a word already masked is skipped)
    and covers `length` words from it rightwards, stopping at the end of its segment so a span never
    crosses a special token. Words stay whole: the word that reaches the budget is taken entirely.
    Writes 1 into `masked[base + position]` and returns the number of targets. Draws are consumed in
    order, so the result is a pure function of them.
    """
    first, last = words.row_offsets[row], words.row_offsets[row + 1]
    n_words = last - first
    total = 0
    for anchor_u, length in zip(anchors, lengths):
        if total >= budget or n_words == 0:
            break
        w = first + int(anchor_u * n_words)
        if masked[base + words.start[w]]:
            continue
        for v in range(w, min(w + length, words.segment_end[w])):
            if total >= budget:
                break
            for pos in range(base + words.start[v], base + words.end[v]):
                if not masked[pos]:
                    masked[pos] = 1
                    total += 1
    return total


def categorical(u: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """Draws a category index from one uniform per element (0 .. len(weights) - 1)."""
    edges = np.cumsum(np.asarray(weights, dtype=np.float64))
    edges = edges / edges[-1]
    return np.minimum(np.searchsorted(edges, u, side="right"), len(weights) - 1)
