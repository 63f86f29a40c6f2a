"""Augmented datasets: a batched `datasets` stage that returns more rows than it receives.

Every input column is kept (labels included) and provenance is added: `source_row` (the row's index
in the input), `aug_method` ("original" or the augmenter's name) and `aug_index` (k, or -1 for the
original). The k-th augmentation of row i is keyed by (seed inside the augmenter, i, k), so `num_proc`,
batch size and reruns give the same rows. An augmenter may return None for a text it filtered out (a
back-translation identical to its input): no row is written for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from maskkit.rng import stable_hash64

PROVENANCE = ("source_row", "aug_method", "aug_index")


def augmenter_name(augmenter: Any) -> str:
    return getattr(augmenter, "name", None) or type(augmenter).__name__


@dataclass(frozen=True)
class LabelConsistency:
    """Keeps an augmented text only if `classify(texts) -> labels` gives it its row's label."""

    classify: Callable[[Sequence[str]], Sequence[Any]]
    label_column: str = "label"

    def keep(self, texts: list[str], labels: list[Any]) -> list[bool]:
        predicted = list(self.classify(texts))
        if len(predicted) != len(texts):
            raise ValueError(f"the classifier gave {len(predicted)} labels for {len(texts)} texts")
        return [p == label for p, label in zip(predicted, labels)]


@dataclass(frozen=True)
class Augment:
    """Adds `n_aug` augmented copies of each row (and the row itself with `keep_original`)."""

    augmenter: Any
    n_aug: int = 1
    text_column: str = "text"
    keep_original: bool = True
    key_column: str | None = None
    consistency: LabelConsistency | None = None

    def __post_init__(self) -> None:
        if not callable(self.augmenter):
            raise TypeError(
                f"augmenter must be callable (texts, keys, k) -> texts, got {type(self.augmenter).__name__}"
            )
        if not isinstance(self.n_aug, int) or self.n_aug < 0:
            raise ValueError(f"n_aug must be a non-negative integer, got {self.n_aug!r}")

    def __call__(self, batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
        if self.text_column not in batch:
            raise KeyError(f"no {self.text_column!r} column to augment (columns: {sorted(batch)})")
        texts = batch[self.text_column]
        for i, text in zip(indices, texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"row {i} of {self.text_column!r} is {type(text).__name__}, not text: drop or fill missing "
                    f"texts first, e.g. dataset.filter(lambda row: isinstance(row[{self.text_column!r}], str))"
                )
        ids = batch[self.key_column] if self.key_column else indices
        keys = [stable_hash64("row", repr(v)) for v in ids]
        columns = [c for c in batch if c not in PROVENANCE]
        out: dict[str, list[Any]] = {c: [] for c in [*columns, *PROVENANCE]}
        name = augmenter_name(self.augmenter)

        def emit(row: int, text: str, method: str, k: int) -> None:
            for c in columns:
                out[c].append(text if c == self.text_column else batch[c][row])
            out["source_row"].append(indices[row])
            out["aug_method"].append(method)
            out["aug_index"].append(k)

        rounds = [list(self.augmenter(texts, keys, k)) for k in range(self.n_aug)]
        if self.consistency is not None:
            self._drop_inconsistent(rounds, batch)
        for row, text in enumerate(texts):
            if self.keep_original:
                emit(row, text, "original", -1)
            for k, augmented in enumerate(rounds):
                if augmented[row] is not None:  # None: the augmenter filtered this one out
                    emit(row, augmented[row], name, k)
        return out

    def _drop_inconsistent(self, rounds: list[list[str | None]], batch: dict[str, list[Any]]) -> None:
        column = self.consistency.label_column  # type: ignore[union-attr]
        if column not in batch:
            raise KeyError(f"no {column!r} column for the label-consistency filter (columns: {sorted(batch)})")
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
        raise KeyError(f"no {text_column!r} column to augment (columns: {dataset.column_names})")
    clash = [c for c in PROVENANCE if c in dataset.column_names]
    if clash:
        raise ValueError(f"the dataset already has provenance columns {clash}; augmenting twice is not supported")
    map_kwargs.setdefault("batched", True)
    map_kwargs.setdefault("desc", f"augmenting x{n_aug}")
    if hasattr(augmenter, "prepare"):  # load synonym tables once, before num_proc workers fork
        augmenter.prepare()
    stage = Augment(augmenter, n_aug, text_column, keep_original, key_column, consistency)
    return dataset.map(stage, with_indices=True, **map_kwargs)
