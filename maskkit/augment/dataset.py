"""Augmented datasets: a batched `datasets` stage that returns more rows than it receives.

Every input column is kept (labels included) and provenance is added: `source_row` (the row's index
in the input), `aug_method` ("original" or the augmenter's name) and `aug_index` (k, or -1 for the
original). The k-th augmentation of row i is keyed by (seed inside the augmenter, i, k), so `num_proc`,
batch size and reruns give the same rows. An augmenter may return None for a text it filtered out (a
back-translation whose length is off): no row is written for it. An augmentation identical to its source
or to an earlier augmentation of the same row is no augmentation: it is dropped too (and counted by
`maskkit augment`), so `aug_index` may skip values.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from maskkit.augment.protocol import MAX_N_AUG, augmenter_name, method_names
from maskkit.errors import InputError, MissingKey, WrongType
from maskkit.rng import as_integer, stable_hash64

PROVENANCE = ("source_row", "aug_method", "aug_index")


@dataclass
class Counts:
    """What became of the augmentations asked for: written, filtered out, or dropped as duplicates."""

    augmented: int = 0
    filtered: int = 0
    duplicates: int = 0


def _normalised(text: str) -> str:
    return " ".join(text.split())


def check_not_augmented(columns: Sequence[str], what: str) -> None:
    """Augmenting an augmented table would overwrite its provenance: refused, naming the columns."""
    clash = [c for c in PROVENANCE if c in columns]
    if clash:
        raise InputError(
            f"{what} already has provenance columns {clash}, so it is an augmented table: augment the original "
            "table (or rename these columns first)"
        )


def distinct_limit(augmenter: Any) -> int | None:
    """How many distinct augmentations of one text the augmenter can give, where it knows (else None)."""
    limit = getattr(augmenter, "distinct_augmentations", None)
    return limit() if callable(limit) else None


@runtime_checkable
class Augmenter(Protocol):
    """What every augmenter is: texts in, one augmentation (or None, dropped by a filter) out per text; the
    k-th augmentation of a text a pure function of (seed, key, k), keys one per text (default: content)."""

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> list[str | None]: ...


def check_distinct(augmenter: Any, n_aug: int) -> str | None:
    """The message for an n_aug the augmenter cannot give distinct augmentations for, or None."""
    limit = distinct_limit(augmenter)
    if limit is None or n_aug <= limit:
        return None
    return (
        f"{augmenter_name(augmenter)} is deterministic and gives one paraphrase per pivot language, so n_aug "
        f"{n_aug} can give at most {limit} distinct augmentation(s) per text (the rest would repeat and be "
        "dropped): ask for fewer, add pivots (Apertium: es, eo, gl, ca), or use a sampling seq2seq translator"
    )


@dataclass(frozen=True)
class LabelConsistency:
    """Keeps an augmented text only if `classify(texts) -> labels` gives it its row's label."""

    classify: Callable[[Sequence[str]], Sequence[Any]]
    label_column: str = "label"

    def keep(self, texts: list[str], labels: list[Any]) -> list[bool]:
        predicted = list(self.classify(texts))
        if len(predicted) != len(texts):
            raise InputError(f"the classifier gave {len(predicted)} labels for {len(texts)} texts")
        return [p == label for p, label in zip(predicted, labels)]


@dataclass(frozen=True)
class Augment:
    """Adds `n_aug` augmented copies of each row (and the row itself with `keep_original`)."""

    augmenter: Augmenter
    n_aug: int = 1
    text_column: str = "text"
    keep_original: bool = True
    key_column: str | None = None
    consistency: LabelConsistency | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.augmenter, Augmenter):
            raise WrongType(
                f"augmenter must be callable (texts, keys, k) -> texts, got {type(self.augmenter).__name__}"
            )
        object.__setattr__(self, "n_aug", as_integer(self.n_aug, "n_aug", minimum=0, maximum=MAX_N_AUG))

    def __call__(self, batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
        return self.augment_rows(batch, indices)[0]

    def augment_rows(self, batch: dict[str, list[Any]], indices: list[int]) -> tuple[dict[str, list[Any]], Counts]:
        """The rows out for a batch, and what happened to the augmentations asked for.

        An augmentation identical to its source text, or to an earlier augmentation of the same row
        (whitespace aside), is not an augmentation: it is dropped and counted in `duplicates`."""
        if self.text_column not in batch:
            raise MissingKey(f"no {self.text_column!r} column to augment (columns: {sorted(batch)})")
        texts = batch[self.text_column]
        for i, text in zip(indices, texts):
            if not isinstance(text, str):
                raise WrongType(
                    f"row {i} of {self.text_column!r} is {type(text).__name__}, not text: drop or fill missing "
                    f"texts first, e.g. dataset.filter(lambda row: isinstance(row[{self.text_column!r}], str))"
                )
        ids = batch[self.key_column] if self.key_column else indices
        keys = [stable_hash64("row", repr(v)) for v in ids]
        columns = [c for c in batch if c not in PROVENANCE]
        out: dict[str, list[Any]] = {c: [] for c in [*columns, *PROVENANCE]}
        counts = Counts()

        def emit(row: int, text: str, method: str, k: int) -> None:
            for c in columns:
                out[c].append(text if c == self.text_column else batch[c][row])
            out["source_row"].append(indices[row])
            out["aug_method"].append(method)
            out["aug_index"].append(k)

        rounds = [list(self.augmenter(texts, keys, k)) for k in range(self.n_aug)]
        methods = [method_names(self.augmenter, keys, k) for k in range(self.n_aug)]
        if self.consistency is not None:
            self._drop_inconsistent(rounds, batch)
        for row, text in enumerate(texts):
            if self.keep_original:
                emit(row, text, "original", -1)
            seen = {_normalised(text)}
            for k, augmented in enumerate(rounds):
                variant = augmented[row]
                if variant is None:  # the augmenter (or the consistency filter) dropped this one
                    counts.filtered += 1
                elif _normalised(variant) in seen:
                    counts.duplicates += 1
                else:
                    seen.add(_normalised(variant))
                    counts.augmented += 1
                    emit(row, variant, methods[k][row], k)
        return out, counts

    def _drop_inconsistent(self, rounds: list[list[str | None]], batch: dict[str, list[Any]]) -> None:
        column = self.consistency.label_column  # type: ignore[union-attr]
        if column not in batch:
            raise MissingKey(f"no {column!r} column for the label-consistency filter (columns: {sorted(batch)})")
        for augmented in rounds:
            rows = [i for i, text in enumerate(augmented) if text is not None]
            kept = self.consistency.keep([augmented[i] for i in rows], [batch[column][i] for i in rows])  # type: ignore[union-attr,misc]
            for i, keep in zip(rows, kept):
                if not keep:
                    augmented[i] = None


def augment_dataset(
    dataset: Any,
    augmenter: Any,
    n_aug: int = 1,
    text_column: str = "text",
    keep_original: bool = True,
    key_column: str | None = None,
    consistency: LabelConsistency | None = None,
    **map_kwargs: Any,
) -> Any:
    """Returns `dataset` with `n_aug` augmented copies of every row, every column kept, plus provenance.

    With `consistency`, augmented rows that a classifier labels differently from their source are
    dropped (an augmented row may be missing; `aug_index` tells which survived)."""
    if text_column not in dataset.column_names:
        raise MissingKey(f"no {text_column!r} column to augment (columns: {dataset.column_names})")
    check_not_augmented(dataset.column_names, "the dataset")
    message = check_distinct(augmenter, n_aug)
    if message:
        warnings.warn(message, stacklevel=2)
    map_kwargs.setdefault("batched", True)
    map_kwargs.setdefault("desc", f"augmenting x{n_aug}")
    if hasattr(augmenter, "prepare"):  # load synonym tables once, before num_proc workers fork
        augmenter.prepare()
    stage = Augment(augmenter, n_aug, text_column, keep_original, key_column, consistency)
    return dataset.map(stage, with_indices=True, **map_kwargs)
