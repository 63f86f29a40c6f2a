"""WHERE to mask: selectors choose the target positions of a batch and never touch ids.

Each selector returns a `Selection`: the target tokens and, for every target, the position of the first
token of its unit (a word, span, phrase or the token itself), so a corruption can give a whole unit one
fate. Budgets name their unit; "exact" (the default, as in BERT's and SpanBERT's code) selects
rate * n units per example with probabilistic rounding, "bernoulli" (as transformers does) selects each
unit independently with probability `rate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from maskkit.errors import InputError
from maskkit.masking import functional as F
from maskkit.masking.batch import MaskingBatch
from maskkit.registry import register
from maskkit.rng import to_unit


@dataclass(frozen=True)
class Selection:
    """Targets (bool, B x L) and each target's unit-start position (int, B x L; -1 off targets).

    `unit_index=None` means every target is a unit of its own (token-level selection).
    """

    targets: np.ndarray
    unit_index: np.ndarray | None = None

    @classmethod
    def of_units(cls, targets: np.ndarray, unit_index: np.ndarray) -> Selection:
        return cls(targets, np.where(targets, unit_index, -1))

    @classmethod
    def of_tokens(cls, targets: np.ndarray) -> Selection:
        return cls(targets, None)

    def units(self) -> np.ndarray:
        """The unit-start position of every target (its own position for token-level selection)."""
        if self.unit_index is not None:
            return self.unit_index
        positions = np.broadcast_to(np.arange(self.targets.shape[1]), self.targets.shape)
        return np.where(self.targets, positions, -1)


@runtime_checkable
class Selector(Protocol):
    """WHERE to mask: the targets of a padded batch."""

    def select(self, batch: MaskingBatch) -> Selection: ...


@runtime_checkable
class Corruption(Protocol):
    """HOW to mask: the corrupted ids and the labels for a batch's targets."""

    def apply(self, batch: MaskingBatch, selection: Selection) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class NeedsTokenizer(Protocol):
    """A selector or corruption that reads the tokenizer (its vocabulary, a lexicon's ids) once, when the
    collator is built: `bind` returns the bound component."""

    def bind(self, tokenizer: Any) -> Any: ...


@runtime_checkable
class ReadsColumns(Protocol):
    """A selector that reads dataset columns beside input_ids (importance scores, unit ids): name -> kind."""

    columns: Any


def check_rate(rate: float, name: str = "rate") -> None:
    if not isinstance(rate, int | float) or not 0.0 < float(rate) <= 1.0:
        raise InputError(f"{name} must be a fraction in (0, 1], got {rate!r}")


def check_budget(budget: str, max_predictions: int | None = None) -> None:
    if budget not in F.BUDGETS:
        raise InputError(f"budget must be one of {F.BUDGETS}, got {budget!r}")
    if max_predictions is not None:
        if isinstance(max_predictions, bool) or not isinstance(max_predictions, int) or max_predictions < 1:
            raise InputError(f"max_predictions must be a positive integer, got {max_predictions!r}")
        if budget == "bernoulli":
            raise InputError("max_predictions caps a counted budget; budget='bernoulli' draws each unit alone")


@register("maskkit.token.v1", "selector", short="token")
@dataclass(frozen=True)
class TokenSelector:
    """Selects `rate` of each example's candidate tokens (BERT / RoBERTa dynamic masking).

    Counted in tokens; special and padding tokens are never candidates.

    References: Devlin et al. 2019 (BERT); Liu et al. 2019 (RoBERTa).
    """

    rate: float = 0.15
    budget: str = "exact"
    max_predictions: int | None = None
    STREAMS: ClassVar[tuple[int]] = (11,)

    def __post_init__(self) -> None:
        check_rate(self.rate)
        check_budget(self.budget, self.max_predictions)

    def select(self, batch: MaskingBatch) -> Selection:
        if self.budget != "bernoulli":
            order, round_u = batch.draws.ordered(self.STREAMS[0], batch.shape[1])
            k = F.budget_counts(batch.candidates.sum(axis=1), self.rate, round_u, self.budget, batch.lengths,
                                self.max_predictions)  # fmt: skip
            targets = F.choose_smallest(order, batch.candidates, k)
        else:
            targets = batch.candidates & (to_unit(batch.draws.ordered(self.STREAMS[0], batch.shape[1])[0]) < self.rate)
        return Selection.of_tokens(targets)


@register("maskkit.whole_word.v1", "selector", short="word")
@dataclass(frozen=True)
class WholeWordSelector:
    """Selects `rate` of each example's candidate words and masks every token of a chosen word.

    Counted in words. Words come from a `word_ids` column when present (required for Chinese, see
    `maskkit.Tokenize`), otherwise from the tokenizer's vocabulary.

    References: Devlin et al. 2019 (whole word masking); Cui et al. 2021 (Chinese WWM).
    """

    rate: float = 0.15
    budget: str = "exact"
    max_predictions: int | None = None
    STREAMS: ClassVar[tuple[int]] = (21,)

    def __post_init__(self) -> None:
        check_rate(self.rate)
        check_budget(self.budget, self.max_predictions)

    def select(self, batch: MaskingBatch) -> Selection:
        order, round_u = batch.draws.ordered(self.STREAMS[0], batch.shape[1])
        targets = F.select_units(batch.word_starts, batch.word_index, order, self.rate, self.budget, round_u,
                                 self.max_predictions)  # fmt: skip
        return Selection.of_units(targets, batch.word_index)


@register("maskkit.span.v1", "selector", short="span")
@dataclass(frozen=True)
class SpanSelector:
    """Selects spans of whole words until `rate` of each example's candidate tokens are targets.

    Counted in tokens (SpanBERT's budget). Span lengths are in words, geometric(`p_geometric`)
    renormalised to `length_range` (mean 3.8 words for p=0.2 on 1..10); a span starts at a uniformly
    drawn word, extends rightwards and never crosses a special token. The word that reaches the budget
    is masked whole, so an example may exceed its budget by less than one word. Its units are the merged
    spans (adjacent spans join, as in SpanBERT), so `MaskRandomKeep(per="unit")` draws one fate per span
    (SpanBERT's `--replacement-method span`). `length_weights` replaces the geometric lengths by given
    weights for lengths 1, 2, ... (MacBERT's n-gram masking: (0.4, 0.3, 0.2, 0.1) for 1- to 4-grams,
    the scheme "ngram").

    References: Joshi et al. 2020 (SpanBERT); Cui et al. 2020 (MacBERT, n-gram masking).
    """

    rate: float = 0.15
    p_geometric: float = 0.2
    length_range: tuple[int, int] = (1, 10)
    length_weights: tuple[float, ...] | None = None
    budget: str = "exact"
    max_predictions: int | None = None
    STREAMS: ClassVar[tuple[int, int]] = (31, 32)

    def __post_init__(self) -> None:
        check_rate(self.rate)
        check_budget(self.budget, self.max_predictions)
        if self.budget == "bernoulli":
            raise InputError("span masking counts a budget of tokens: budget must be exact, bert or spanbert")
        if not 0.0 < self.p_geometric <= 1.0:
            raise InputError(f"p_geometric must be in (0, 1], got {self.p_geometric!r}")
        low, high = self.length_range
        if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
            raise InputError(
                f"length_range must be integers (low, high) with 1 <= low <= high, got {self.length_range!r}"
            )
        if self.length_weights is not None:
            weights = tuple(float(w) for w in self.length_weights)
            if not weights or min(weights) < 0 or sum(weights) <= 0:
                raise InputError(
                    f"length_weights must be non-negative with a positive sum, got {self.length_weights!r}"
                )
            if (self.p_geometric, self.length_range) != (0.2, (1, 10)):
                raise InputError("length_weights gives the span lengths: leave p_geometric and length_range unset")
            object.__setattr__(self, "length_weights", weights)

    @property
    def length_cdf(self) -> tuple[int, np.ndarray]:
        """The shortest span length and the CDF of lengths from there."""
        if self.length_weights is not None:
            cdf = np.cumsum(self.length_weights) / sum(self.length_weights)
            cdf[-1] = 1.0
            return 1, cdf
        return self.length_range[0], F.truncated_geometric_cdf(self.p_geometric, *self.length_range)

    def select(self, batch: MaskingBatch) -> Selection:
        # the anchor stream's position -1 rounds the budget; its positions 0.. are the rounds' anchors
        round_u = batch.draws.ordered(self.STREAMS[0], 0)[1]
        budgets = F.budget_counts(batch.candidates.sum(axis=1), self.rate, round_u, self.budget, batch.lengths,
                                  self.max_predictions)  # fmt: skip
        shortest, cdf = self.length_cdf
        # each round adds at least one word unless its anchor is already masked (at most `rate` of words);
        # a row reads only its own first 2 * budget + 16 draws, whatever batch it is in
        rounds = 2 * budgets + 16

        def draw_rounds(start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
            anchors = batch.draws.grid(self.STREAMS[0], count, start)
            u = batch.draws.grid(self.STREAMS[1], count, start)
            return anchors, F.sample_lengths(cdf, shortest, u)

        targets = F.span_targets(batch.candidates, batch.word_starts, budgets, rounds, draw_rounds)
        return Selection(targets, F.run_starts(targets))  # a unit is a merged span, as in SpanBERT


@register("maskkit.unit.v1", "selector", short="unit")
@dataclass(frozen=True)
class UnitSelector:
    """Selects `rate` of each example's units (phrases, entities, lexicon matches) and masks each whole.

    Counted in units. Units come from a per-token `column` of unit ids (tokens sharing a non-negative
    id form one unit; -1 or None: no unit) and from matches of `lexicon` phrases at word boundaries
    (longest match first). With `others="words"` every word outside a unit is a unit of its own, as in
    ERNIE's phrase- and entity-level masking; with `others="none"` only the given units are candidates.

    References: Sun et al. 2019 (ERNIE: knowledge masking of phrases and entities).
    """

    rate: float = 0.15
    budget: str = "exact"
    column: str | None = "unit_ids"
    lexicon: tuple[str, ...] = ()
    others: str = "words"
    lexicon_ids: tuple[tuple[int, ...], ...] = field(default=(), repr=False, compare=False)
    STREAMS: ClassVar[tuple[int]] = (41,)

    def __post_init__(self) -> None:
        check_rate(self.rate)
        check_budget(self.budget)
        if self.others not in ("words", "none"):
            raise InputError(f"others must be 'words' or 'none', got {self.others!r}")
        if isinstance(self.lexicon, str):
            raise InputError("lexicon must be a sequence of phrases, not one string")
        object.__setattr__(self, "lexicon", tuple(self.lexicon))
        if self.column is None and not self.lexicon:
            raise InputError("UnitSelector needs units: give a unit-id column, a lexicon, or both")

    def bind(self, tokenizer: Any) -> UnitSelector:
        """Tokenises the lexicon once (also with a leading space, for byte-level and SentencePiece vocabularies)."""
        variants = set()
        for phrase in self.lexicon:
            for text in (phrase, " " + phrase):
                ids = tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
                if ids:
                    variants.add(ids)
        return replace(self, lexicon_ids=tuple(sorted(variants, key=len, reverse=True)))

    @property
    def columns(self) -> dict[str, str]:
        """Columns read, by kind: unit ids may be missing (None) or negative for "no unit"."""
        return {self.column: "ids"} if self.column else {}

    def units(self, batch: MaskingBatch) -> tuple[np.ndarray, np.ndarray]:
        """Per-token unit-start positions and the candidate mask of tokens inside units."""
        index = batch.word_index.copy() if self.others == "words" else np.full(batch.shape, -1)
        in_unit = np.zeros(batch.shape, dtype=bool)
        if self.column:
            ids = batch.column(self.column, "UnitSelector")
            inside = batch.candidates & (ids >= 0)
            given = F.unit_start_index(inside, F.starts_from_ids(inside, ids))
            index = np.where(inside, given, index)
            in_unit |= inside
        if self.lexicon and not self.lexicon_ids:
            raise InputError("UnitSelector with a lexicon must be bound to a tokenizer (MaskingCollator does this)")
        if self.lexicon_ids:
            for row, start, end in _lexicon_matches(batch, self.lexicon_ids):
                index[row, start:end] = start
                in_unit[row, start:end] = True
        return index, in_unit

    def select(self, batch: MaskingBatch) -> Selection:
        index, in_unit = self.units(batch)
        eligible = index >= 0 if self.others == "words" else in_unit
        starts = eligible & (index == np.arange(batch.shape[1])[None, :])
        order, round_u = batch.draws.ordered(self.STREAMS[0], batch.shape[1])
        targets = F.select_units(starts, np.where(eligible, index, -1), order, self.rate, self.budget, round_u)
        return Selection.of_units(targets, index)


def _lexicon_matches(batch: MaskingBatch, phrases: tuple[tuple[int, ...], ...]) -> list[tuple[int, int, int]]:
    """Finds lexicon phrases that start and end at word boundaries; longest first, no overlaps."""
    by_first: dict[int, list[tuple[int, ...]]] = {}
    for phrase in phrases:
        by_first.setdefault(phrase[0], []).append(phrase)
    ends_word = batch.word_ends
    matches = []
    rows, cols = np.nonzero(batch.word_starts & np.isin(batch.ids, list(by_first)))
    ids = batch.ids
    taken_until: dict[int, int] = {}
    for row, col in zip(rows.tolist(), cols.tolist()):
        if col < taken_until.get(row, 0):
            continue
        for phrase in by_first[int(ids[row, col])]:
            end = col + len(phrase)
            if (
                end <= batch.lengths[row]
                and tuple(ids[row, col:end].tolist()) == phrase
                and batch.candidates[row, col:end].all()
                and ends_word[row, end - 1]
            ):
                matches.append((row, col, end))
                taken_until[row] = end
                break
    return matches


@register("maskkit.scored.v1", "selector", short="scored")
@dataclass(frozen=True)
class ScoredSelector:
    """Selects up to `rate` of each example's candidate tokens by per-token importance scores.

    Counted in tokens (of all candidates, so a sentence with few important tokens gets fewer targets).
    `mode="top"` takes the highest-scored tokens (ties broken at random); `mode="sample"` samples
    without replacement in proportion to the scores (which must be >= 0). Tokens scoring at or below
    `min_score`, and vocabulary tokens of `exclude_words` (e.g. stop words), are never selected.
    `mode="matched_random"` is the ablation control: exactly as many targets per example as "top"
    takes, drawn uniformly from the candidates that are not excluded words (`random_over="unexcluded"`)
    or from every candidate (`random_over="all"`, the official control), whatever their scores.
    `max_predictions` caps the targets per example (a random subset of the best-scored when ties).

    References: Gu et al. 2020 (Train No Evil: selective masking for task-guided pre-training).
    """

    rate: float = 0.15
    column: str = "importance"
    mode: str = "top"
    min_score: float | None = None
    exclude_words: tuple[str, ...] = ()
    random_over: str = "unexcluded"
    max_predictions: int | None = None
    exclude_ids: frozenset[int] = field(default=frozenset(), repr=False, compare=False)
    STREAMS: ClassVar[tuple[int]] = (51,)

    def __post_init__(self) -> None:
        check_rate(self.rate)
        check_budget("exact", self.max_predictions)
        if self.mode not in ("top", "sample", "matched_random"):
            raise InputError(f"mode must be 'top', 'sample' or 'matched_random', got {self.mode!r}")
        if self.random_over not in ("unexcluded", "all"):
            raise InputError(f"random_over must be 'unexcluded' or 'all', got {self.random_over!r}")
        if isinstance(self.exclude_words, str):
            raise InputError("exclude_words must be a sequence of words, not one string")
        object.__setattr__(self, "exclude_words", tuple(self.exclude_words))

    def bind(self, tokenizer: Any) -> ScoredSelector:
        """Looks up the excluded words' vocabulary ids (as a whole token, with or without a word marker)."""
        vocab = tokenizer.get_vocab()
        ids = set()
        for word in self.exclude_words:
            for form in {word, word.lower(), "Ġ" + word, "▁" + word, "Ġ" + word.lower(), "▁" + word.lower()}:
                if form in vocab:
                    ids.add(vocab[form])
        return replace(self, exclude_ids=frozenset(ids))

    @property
    def columns(self) -> dict[str, str]:
        """Columns read, by kind: scores must be finite at every real token."""
        return {self.column: "scores"}

    def select(self, batch: MaskingBatch) -> Selection:
        scores = batch.column(self.column, "ScoredSelector")
        eligible = batch.candidates.copy()
        if self.exclude_ids:
            eligible &= ~np.isin(batch.ids, np.fromiter(self.exclude_ids, dtype=np.int64))
        if self.min_score is not None:
            eligible &= scores > self.min_score
        order, round_u = batch.draws.ordered(self.STREAMS[0], batch.shape[1])
        k = F.budget_counts(batch.candidates.sum(axis=1), self.rate, round_u, cap=self.max_predictions)
        if self.mode == "top":
            targets = F.choose_smallest(-scores, eligible, k, tiebreak=order)
        elif self.mode == "matched_random":
            allowed = batch.candidates.copy()
            if self.random_over == "unexcluded":
                allowed &= ~np.isin(batch.ids, np.fromiter(self.exclude_ids, dtype=np.int64))
            targets = F.choose_smallest(order, allowed, np.minimum(k, eligible.sum(axis=1)))
        else:
            if (scores[eligible] < 0).any():
                raise InputError(f"ScoredSelector(mode='sample') needs scores >= 0 in {self.column!r}")
            # Efraimidis-Spirakis: the k smallest -log(u) / score are a sample in proportion to scores
            with np.errstate(divide="ignore", over="ignore"):
                keys = -np.log(np.maximum(to_unit(order), 1e-300)) / scores
            targets = F.choose_smallest(keys, eligible & (scores > 0), k)
        return Selection.of_tokens(targets)
