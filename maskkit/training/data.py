"""Labelled data for classification: checked whole before any training starts, then encoded.

Every problem is reported with the split, the column and the first offending row: a missing or
non-text text column, missing labels, labels outside the label set, an empty split.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from maskkit.errors import InputError, MissingKey, WrongType
from maskkit.runs.tables import first_mixed_column
from maskkit.training.encode import EncodeForClassification


def as_dataset(data: Any, split: str) -> Any:
    """A `datasets.Dataset` from a Dataset, a list of row dicts or a dict of columns."""
    from datasets import Dataset

    if hasattr(data, "column_names") and hasattr(data, "map"):
        dataset = data
    elif isinstance(data, Mapping):
        dataset = Dataset.from_dict(dict(data))
    elif isinstance(data, Sequence) and not isinstance(data, str):
        if not all(isinstance(row, Mapping) for row in data):
            raise WrongType(f"the {split} split must be a list of row dicts, a dict of columns or a Dataset")
        check_column_types(data, split)
        dataset = Dataset.from_list(list(data))
    else:
        raise WrongType(f"the {split} split must be a datasets.Dataset, a list of row dicts or a dict of columns")
    if len(dataset) == 0:
        raise InputError(f"the {split} split is empty")
    return dataset


def labelled_splits(
    train: str | None = None, dev: str | None = None, test: str | None = None,
    wordnet: str | None = None, classes: int = 8, log: Any = print,
) -> dict[str, Any]:  # fmt: skip
    """Labelled data from table files (CSV, TSV, JSONL, a save_to_disk folder), or without `train` the
    embedded default: WordNet glosses labelled by lexicographer file, plus its `unlabelled` glosses."""
    if train:
        from maskkit.runs.tables import read_table

        return {"train": read_table(train, log=log), "dev": read_table(dev, log=log) if dev else None,
                "test": read_table(test, log=log) if test else None}  # fmt: skip
    if dev or test:
        raise InputError("dev/test files need a train file too")
    from pathlib import Path

    from maskkit.corpora.wordnet import DEBIAN_WORDNET, wordnet_classification

    log(f"data: WordNet 3.0 glosses labelled by lexicographer file ({classes} noun classes; the embedded default)")
    return wordnet_classification(Path(wordnet) if wordnet else DEBIAN_WORDNET, classes=classes)


def check_column_types(rows: Sequence[Mapping[str, Any]], split: str) -> None:
    """A column of row dicts must hold one type (None aside), or it cannot become a table."""
    clash = first_mixed_column(enumerate(rows))
    if clash is not None:
        key, (kind, row), (other, other_row) = clash
        raise WrongType(f"column {key!r} of the {split} split mixes {kind} (row {row}) and {other} (row {other_row})")


def check_text(dataset: Any, column: str, split: str) -> None:
    if column not in dataset.column_names:
        raise MissingKey(f"the {split} split has no text column {column!r} (columns: {dataset.column_names})")
    for i, value in enumerate(dataset[column]):
        if not isinstance(value, str):
            raise WrongType(f"row {i} of the {split} split: {column!r} is {type(value).__name__} ({value!r}), not text")


# The spellings of a missing value that pandas reads as NaN (its default na_values), compared without
# case: a label spelt so is missing, not a class ("none" is left out: it names real classes).
MISSING_LABELS = frozenset(("", "nan", "-nan", "na", "n/a", "#n/a", "#n/a n/a", "#na", "<na>", "null", "-1.#ind",
                            "-1.#qnan", "1.#ind", "1.#qnan"))  # fmt: skip
NUMBER = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?")  # no underscores, no spaces: "1_0" is a name
SMALL_CLASSES = 1000  # integer labels name head outputs 0..max only below this (and when dense enough)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() in MISSING_LABELS


def _as_class_number(value: Any) -> int | None:
    """An integer label written as 1, 1.0, "1" or "1.0"; None for anything else (a name)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if not NUMBER.fullmatch(value):
            return None
        value = float(value) if any(c in value for c in ".eE") else int(value)
        if isinstance(value, int):
            return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def label_values(dataset: Any, column: str, split: str, log: Any = None) -> list[Any]:
    """The split's labels, normalised so that equal labels are one class: numbers that are equal (1, 1.0,
    "1", "1.0") become one integer, surrounding whitespace is trimmed (and reported through `log`), and
    blank or NaN labels are refused with their count and first row."""
    if column not in dataset.column_names:
        raise MissingKey(f"the {split} split has no label column {column!r} (columns: {dataset.column_names})")
    values = list(dataset[column])
    missing = [i for i, v in enumerate(values) if _is_missing(v)]
    if missing:
        raise InputError(
            f"{len(missing)} rows of the {split} split have a blank or NaN {column!r} (first: row {missing[0]}); "
            "drop or label them first"
        )
    kinds = {type(v).__name__ for v in values if not isinstance(v, (str, int, float)) or isinstance(v, bool)}
    if kinds:
        raise InputError(f"labels of the {split} split must be integers or strings, found {sorted(kinds)}")
    trimmed = [i for i, v in enumerate(values) if isinstance(v, str) and v != v.strip()]
    if trimmed and log is not None:
        log(f"{split}: trimmed whitespace around {len(trimmed)} {column!r} labels (first: row {trimmed[0]}, "
            f"{values[trimmed[0]]!r})")  # fmt: skip
    values = [v.strip() if isinstance(v, str) else v for v in values]
    numbers = [_as_class_number(v) for v in values]
    if all(n is not None for n in numbers):
        return numbers
    if any(isinstance(v, (int, float)) for v in values):
        row = next(i for i, n in enumerate(numbers) if n is None)
        raise InputError(
            f"the {split} split's {column!r} mixes numbers and other labels: row {row} is {values[row]!r}; "
            "classification labels are whole numbers or names"
        )
    return values


def label_names_from(values: list[Any]) -> list[str]:
    """Small integer labels (0 <= label < SMALL_CLASSES, and max + 1 at most twice the classes seen plus 10)
    name the head's outputs 0..max; other integers (negative, large or sparse) are names like strings,
    in numeric order; string labels sort into ids."""
    if isinstance(values[0], int):
        seen = sorted(set(values))
        if seen[0] >= 0 and seen[-1] < SMALL_CLASSES and seen[-1] + 1 <= 2 * len(seen) + 10:
            return [str(i) for i in range(seen[-1] + 1)]
        return [str(v) for v in seen]
    return sorted(set(values))


def prepare_classification(
    splits: Mapping[str, Any], tokenizer: Any, config: Any, extra_columns: Sequence[str] = (), log: Any = print
) -> tuple[dict[str, Any], list[str]]:
    """Checks and encodes the given splits (None splits are left out); returns them and the label names.

    Encoded splits hold the tokenizer's columns and an integer `label`; the training split also keeps
    the `extra_columns` asked for.
    """
    datasets = {name: as_dataset(data, name) for name, data in splits.items() if data is not None}
    if "train" not in datasets:
        raise InputError("a training split is needed")
    values = {}
    for name, dataset in datasets.items():
        check_text(dataset, config.text_column, name)
        if config.pair_column is not None:
            check_text(dataset, config.pair_column, name)
        values[name] = label_values(dataset, config.label_column, name, log)
    label_names = label_names_from(values["train"])
    if len(set(values["train"])) < 2:
        raise InputError(f"the train split has a single label ({values['train'][0]!r}); a classifier needs two or more")
    label_ids = {name: i for i, name in enumerate(label_names)}
    encode = EncodeForClassification(
        tokenizer, config.text_column, config.pair_column, config.max_length, config.truncation, config.head_tokens
    )
    encoded = {}
    for name, dataset in datasets.items():
        keys = [str(v) for v in values[name]]
        unknown = sorted(set(keys) - set(label_ids))
        if unknown:
            raise InputError(f"the {name} split has labels outside the training label set {label_names}: {unknown[:5]}")
        extra = list(extra_columns) if name == "train" else []
        for column in extra:
            if column not in dataset.column_names:
                raise MissingKey(f"the {name} split has no {column!r} column (columns: {dataset.column_names})")
        keep = [config.text_column, config.pair_column, *extra]
        ids = [label_ids[k] for k in keys]
        dataset = dataset.remove_columns([c for c in dataset.column_names if c not in keep])
        dataset = dataset.map(encode, batched=True, desc=f"encode {name}")
        dataset = dataset.remove_columns([c for c in (config.text_column, config.pair_column) if c is not None])
        encoded[name] = dataset.add_column("label", ids)
    return encoded, label_names
