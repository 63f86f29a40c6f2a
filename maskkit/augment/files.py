"""Tables on disk for augmentation jobs: CSV, TSV, JSONL or a `save_to_disk` folder, read and written
whole, with atomic writes (a temporary name, then a rename) so a killed job never leaves half a file."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Any

FORMATS = ("csv", "tsv", "jsonl", "dataset")


def table_format(path: str | os.PathLike[str]) -> str:
    """The format a path names: by extension, or a folder for `save_to_disk`."""
    p = Path(path)
    suffix = p.suffix.lower().lstrip(".")
    if suffix in ("csv", "tsv", "jsonl"):
        return suffix
    if suffix == "json":
        return "jsonl"
    if p.is_dir() or not suffix:
        return "dataset"
    raise ValueError(f"cannot tell the format of {str(path)!r}: use .csv, .tsv, .jsonl or a folder")


def read_table(path: str | os.PathLike[str]) -> Any:
    """Reads a table into a `datasets.Dataset` (text read as written: no NA guessing, no quoting in TSV)."""
    from datasets import Dataset, load_from_disk

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"input {str(path)!r} does not exist")
    kind = table_format(p)
    if kind == "dataset":
        return load_from_disk(str(p))
    try:
        with p.open(encoding="utf-8", newline="") as f:
            if kind == "jsonl":
                rows = [json.loads(line) for line in f if line.strip()]
            else:
                reader = csv.DictReader(
                    f,
                    delimiter="\t" if kind == "tsv" else ",",
                    quoting=csv.QUOTE_NONE if kind == "tsv" else csv.QUOTE_MINIMAL,
                )
                rows = list(reader)
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as error:
        raise ValueError(f"cannot read {str(path)!r} as {kind}: {error}") from error
    if not rows:
        raise ValueError(f"{str(path)!r} holds no rows")
    columns = list(dict.fromkeys(c for row in rows for c in row))
    return Dataset.from_dict({c: [row.get(c) for row in rows] for c in columns})


def write_table(dataset: Any, path: str | os.PathLike[str]) -> None:
    """Writes a dataset in the format its path names, atomically."""
    p = Path(path)
    kind = table_format(p)
    tmp = p.with_name(p.name + ".tmp")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    elif tmp.exists():
        tmp.unlink()
    if kind == "dataset":
        dataset.save_to_disk(str(tmp))
    else:
        with tmp.open("w", encoding="utf-8", newline="") as f:
            write_rows(dataset.to_list(), f, kind, dataset.column_names)
    if p.is_dir():
        shutil.rmtree(p)
    os.replace(tmp, p)


def write_rows(rows: list[dict[str, Any]], f: Any, kind: str, columns: list[str]) -> None:
    if kind == "jsonl":
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    if kind == "tsv":
        writer = csv.DictWriter(f, columns, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
        rows = [{k: _one_line(v) for k, v in row.items()} for row in rows]
    else:
        writer = csv.DictWriter(f, columns)
    writer.writeheader()
    writer.writerows(rows)


def _one_line(value: Any) -> Any:
    return value.replace("\t", " ").replace("\n", " ") if isinstance(value, str) else value
