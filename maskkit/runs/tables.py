"""Tables on disk: CSV, TSV, JSONL or a `save_to_disk` folder, read as a stream and written atomically.

Every text round-trips byte for byte. CSV and TSV are read and written in the dialect pandas, `datasets`
and Python's csv use by default: a field holding the delimiter, a quote, a carriage return or a newline
is quoted, with quotes doubled inside; everything else is written as it is (no escaping). Raw TSV
(`tsv="raw"`: no quoting, every character between two tabs is the field) is a named option; a value it
cannot hold (a tab or a line break) is refused with its row and column, never rewritten. A UTF-8 byte
order mark at the start of a file is not part of the first column's name. Lines end with the platform's
line separator for CSV/TSV (as pandas writes them) and with "\\n" for JSONL. Blank lines are skipped and
counted. A JSONL value written to CSV/TSV is written as JSON text when it is a list, an object or a boolean
(`true`, never Python's `True`); a column holding both null and "" is refused for CSV/TSV, which would
write both as an empty field.

Bad input is an `InputError` naming the file, the line and the column: a duplicate header name, a row
with more or fewer fields than the header, a JSONL line that is not an object (or repeats a key), a
column that mixes types, text that is not UTF-8. `scan_table` checks a whole file before any work
starts and fingerprints its bytes; `TableSource.rows()` then streams it, so memory stays flat in the
file's size.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, MissingFile, MissingKey
from maskkit.runs.files import atomic_path, mark_output, not_utf8, remove

FORMATS = ("csv", "tsv", "jsonl", "dataset")
TSV_DIALECTS = ("quoted", "raw")
csv.field_size_limit(2**31 - 1)  # a long document is one field


def table_format(path: str | os.PathLike[str]) -> str:
    """The format a path names: by extension, or a folder (existing, or a name without extension)."""
    p = Path(path)
    suffix = p.suffix.lower().lstrip(".")
    if suffix in ("csv", "tsv", "jsonl"):
        return suffix
    if suffix == "json":
        return "jsonl"
    if p.is_dir() or not suffix:
        return "dataset"
    raise InputError(f"cannot tell the format of {str(path)!r}: use .csv, .tsv, .jsonl or a folder")


def check_tsv_dialect(tsv: str) -> str:
    if tsv not in TSV_DIALECTS:
        raise InputError(f"tsv must be one of {TSV_DIALECTS} (quoted: the pandas/datasets default), got {tsv!r}")
    return tsv


def has_lone_surrogate(value: Any) -> bool:
    """Whether a JSON value holds a lone UTF-16 surrogate (json.loads accepts the escape; UTF-8 cannot)."""
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False


def value_kind(value: Any) -> str:
    """A value's kind for column checks: numbers (int or float) are one kind, as Arrow stores them."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


@dataclass
class TableSource:
    """A table file checked whole (`scan_table`), then streamed row by row with `rows()`."""

    path: str
    kind: str
    tsv: str = "quoted"
    columns: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    num_rows: int = 0
    blank_lines: int = 0
    fingerprint: str = ""

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row as a dict over all columns (a key missing from a JSONL line is None)."""
        for _, row in self._parse():
            yield {c: row.get(c) for c in self.columns}

    def _parse(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, row) pairs, checked as they are read."""
        with open(self.path, encoding="utf-8-sig", newline="") as f:
            try:
                if self.kind == "jsonl":
                    yield from self._parse_jsonl(f)
                else:
                    yield from self._parse_delimited(f)
            except UnicodeDecodeError:
                raise not_utf8(self.path) from None

    def _parse_jsonl(self, f: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [k for k, _ in pairs]
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            if repeated:
                raise InputError(f"{self.path}, line {number}: key {repeated[0]!r} appears more than once")
            return dict(pairs)

        self.blank_lines = 0
        for number, line in enumerate(f, start=1):
            if not line.strip():
                self.blank_lines += 1
                continue
            try:
                row = json.loads(line, object_pairs_hook=unique_keys)
            except json.JSONDecodeError as error:
                raise InputError(f"{self.path}, line {number}: not valid JSON ({error.msg})") from error
            if not isinstance(row, dict):
                raise InputError(
                    f"{self.path}, line {number}: a JSON {value_kind(row)}, not an object (one row per line)"
                )
            if "\\ud" in line.lower() and has_lone_surrogate(row):  # an escape JSON allows, UTF-8 cannot hold
                raise InputError(f"{self.path}, line {number}: a lone surrogate escape (\\ud800-\\udfff) is no "
                                 "Unicode character and cannot be written as UTF-8; fix the line")  # fmt: skip
            yield number, row

    def _parse_delimited(self, f: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        delimiter = "\t" if self.kind == "tsv" else ","
        raw = self.kind == "tsv" and self.tsv == "raw"
        reader = csv.reader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE if raw else csv.QUOTE_MINIMAL, strict=True)
        self.blank_lines = 0
        try:
            header = next(reader, None)
            while header is not None and not header:
                self.blank_lines += 1
                header = next(reader, None)
            if header is None:
                return
            self.header = header
            seen: dict[str, int] = {}
            for i, name in enumerate(header, start=1):
                if name in seen:
                    raise InputError(
                        f"{self.path}: column {name!r} appears twice in the header (columns {seen[name]} and {i})"
                    )
                seen[name] = i
            for fields in reader:
                if not fields:
                    self.blank_lines += 1
                    continue
                if len(fields) != len(header):
                    raise InputError(
                        f"{self.path}, line {reader.line_num}: {len(fields)} fields where the header has "
                        f"{len(header)} ({', '.join(map(repr, header))})"
                        + ("; a field holding a tab must be quoted (or read with tsv='quoted')" if raw else "")
                    )
                yield reader.line_num, dict(zip(header, fields))
        except csv.Error as error:
            hint = "; if the file is raw TSV (quotes are text, not quoting), read it with tsv='raw' (--tsv raw)"
            raise InputError(
                f"{self.path}, line {reader.line_num}: {error}" + (hint if self.kind == "tsv" else "")
            ) from error


def first_mixed_column(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
) -> tuple[str, tuple[str, int], tuple[str, int]] | None:
    """Reads every (position, row) pair; returns the first column holding two kinds of value (None aside) as
    (column, (kind, position), (other kind, position)), or None when each column holds one kind."""
    seen: dict[str, tuple[str, int]] = {}
    clash = None
    for position, row in rows:
        for key, value in row.items():
            if value is None:
                continue
            kind = value_kind(value)
            first = seen.setdefault(key, (kind, position))
            if first[0] != kind and clash is None:
                clash = (key, first, (kind, position))
    return clash


def table_columns(path: str | os.PathLike[str]) -> list[str]:
    """The column names of a table file, from its header (CSV/TSV) or first object (JSONL), read cheaply."""
    kind = table_format(path)
    with open(path, encoding="utf-8-sig", newline="") as f:
        if kind == "jsonl":
            first = next((line for line in f if line.strip()), "{}")
            row = json.loads(first)
            return list(row) if isinstance(row, dict) else []
        header = next(csv.reader(f, delimiter="\t" if kind == "tsv" else ","), [])
        return list(header)


def scan_table(path: str | os.PathLike[str], tsv: str = "quoted") -> TableSource:
    """Checks a CSV/TSV/JSONL file whole (see the module's notes) and returns it ready to stream."""
    p = Path(path)
    if not p.exists():
        raise MissingFile(f"input {str(path)!r} does not exist")
    source = TableSource(str(p), table_format(p), check_tsv_dialect(tsv))
    if source.kind == "dataset":
        raise InputError(f"{str(path)!r} is a folder; load it with datasets.load_from_disk")
    columns: dict[str, None] = {}

    def counted() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, row in source._parse():
            source.num_rows += 1
            columns.update(dict.fromkeys(row))
            yield number, row

    clash = first_mixed_column(counted())
    if clash is not None:
        key, (kind, line), (other, other_line) = clash
        raise InputError(f"{source.path}: column {key!r} mixes {kind} (line {line}) and {other} (line {other_line})")
    source.columns = list(columns) or source.header
    digest = hashlib.sha256(f"{source.kind}/{source.tsv}\n".encode())
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    source.fingerprint = digest.hexdigest()
    return source


def read_table(path: str | os.PathLike[str], tsv: str = "quoted", log: Any = None) -> Any:
    """Reads a table into a `datasets.Dataset` (texts exactly as written: no NA guessing, no type guessing
    in CSV/TSV, where every value is a string). A `save_to_disk` folder is loaded as it is, and a hub
    dataset named `hf://ID[:CONFIG]:SPLIT` (`maskkit.runs.hub_data`) as `datasets.load_dataset` gives it."""
    from datasets import Dataset, load_from_disk

    from maskkit.runs.hub_data import is_hub_dataset, load_hub_dataset

    if is_hub_dataset(path):
        return load_hub_dataset(str(path))[0]
    p = Path(path)
    if not p.exists():
        raise MissingFile(f"input {str(path)!r} does not exist")
    if table_format(p) == "dataset":
        return load_from_disk(str(p))
    source = scan_table(p, tsv)
    if source.num_rows == 0:
        raise InputError(f"{str(path)!r} holds no rows")
    if source.blank_lines and log is not None:
        log(f"{path}: skipped {source.blank_lines} blank lines")
    columns: dict[str, list[Any]] = {c: [] for c in source.columns}
    for row in source.rows():
        for c in source.columns:
            columns[c].append(row[c])
    return Dataset.from_dict(columns)


def text_lines(path: str, limit: int | None = None, text_column: str = "text") -> list[str]:
    """The first `limit` (all: None) lines of a text file, or texts of a hub dataset's `text_column`, each
    stripped, empty ones left out after the limit is taken."""
    import itertools

    from maskkit.runs.hub_data import is_hub_dataset, load_hub_dataset

    if is_hub_dataset(path):
        data = load_hub_dataset(path)[0]
        if text_column not in data.column_names:
            raise MissingKey(
                f"{path}: no {text_column!r} column (columns: {data.column_names}); add ?{text_column}=COLUMN"
            )
        rows = data.select(range(min(limit, len(data)))) if limit else data
        lines = [str(v).strip() if v is not None else "" for v in rows[text_column]]
    else:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in itertools.islice(f, limit)]
    return [line for line in lines if line]


def field_text(value: Any) -> str:
    """A value as one CSV/TSV field: text as it is, a number as Python writes it, null as an empty field,
    and a list, an object or a boolean as JSON text (`[1, 2]`, `{"a": 1}`, `true`), never Python's repr."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _quoted(value: Any, delimiter: str) -> str:
    """One CSV/TSV field, quoted (quotes doubled) when it holds the delimiter, a quote or a line break."""
    text = field_text(value)
    if delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


class TableWriter:
    """Writes rows to `path` in the format its name gives, atomically: a temporary name, renamed into place
    by `commit()` (a killed job leaves no half file under the final name). Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str], columns: list[str], tsv: str = "quoted") -> None:
        self.path = Path(path)
        self.kind = table_format(self.path)
        self.columns = list(columns)
        self.tsv = check_tsv_dialect(tsv)
        self.rows_written = 0
        self._empty: dict[str, tuple[str, int]] = {}  # column -> (null or "", first row): CSV cannot tell them apart
        self.tmp = self.path.with_name(f"{self.path.name}.tmp{os.getpid()}")
        remove(self.tmp)
        if self.kind == "dataset":
            self.tmp.mkdir(parents=True)
            self._file = (self.tmp / "rows.jsonl").open("w", encoding="utf-8", newline="")
        else:
            self._file = self.tmp.open("w", encoding="utf-8", newline="")
            if self.kind != "jsonl":
                self._line([*self.columns], header=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()

    def write(self, row: dict[str, Any]) -> None:
        if self.kind in ("jsonl", "dataset"):
            self._file.write(json.dumps({c: row.get(c) for c in self.columns}, ensure_ascii=False) + "\n")
        else:
            values = [row.get(c) for c in self.columns]
            for column, value in zip(self.columns, values):
                if value is None or value == "":
                    self._check_empty(column, "null" if value is None else "an empty text")
            self._line(values)
        self.rows_written += 1

    def _check_empty(self, column: str, kind: str) -> None:
        """Null and "" are both an empty CSV/TSV field: one column holding both is refused, not merged."""
        seen = self._empty.setdefault(column, (kind, self.rows_written))
        if seen[0] != kind:
            raise InputError(
                f"column {column!r} holds {seen[0]} (row {seen[1]}) and {kind} (row {self.rows_written}), which "
                f"{self.kind.upper()} writes alike as an empty field: write JSONL or a dataset folder instead"
            )

    def write_all(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def _line(self, values: list[Any], header: bool = False) -> None:
        delimiter = "\t" if self.kind == "tsv" else ","
        if self.kind == "tsv" and self.tsv == "raw":
            for column, value in zip(self.columns, values):
                if isinstance(value, str) and ("\t" in value or "\n" in value or "\r" in value):
                    where = "the header" if header else f"row {self.rows_written}"
                    raise InputError(
                        f"{where}, column {column!r}: raw TSV cannot hold a tab or a line break; write quoted TSV "
                        "(the default), CSV or JSONL"
                    )
            self._file.write("\t".join(field_text(v) for v in values) + os.linesep)
        else:
            self._file.write(delimiter.join(_quoted(v, delimiter) for v in values) + os.linesep)

    def commit(self) -> None:
        self._file.close()
        if self.kind == "dataset":
            saved = self._save_dataset()
            mark_output(saved, "a table")
            remove(self.path)
            os.replace(saved, self.path)
            remove(self.tmp)
            return
        remove(self.path)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Removes the temporary file even when closing it fails (a full disk cannot flush)."""
        try:
            self._file.close()
        except OSError:
            pass
        finally:
            remove(self.tmp)

    def _save_dataset(self) -> Path:
        """The rows as a `save_to_disk` folder beside the temporary one (built on disk, not in memory)."""
        from datasets import Dataset

        if self.rows_written:
            data = Dataset.from_generator(
                _jsonl_rows, gen_kwargs={"path": str(self.tmp / "rows.jsonl")}, cache_dir=str(self.tmp / "cache")
            )
        else:
            data = Dataset.from_dict({c: [] for c in self.columns})
        saved = self.tmp.with_name(self.tmp.name + ".saved")
        remove(saved)
        data.save_to_disk(str(saved))
        return saved


def _jsonl_rows(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def write_table(dataset: Any, path: str | os.PathLike[str], tsv: str = "quoted") -> None:
    """Writes a `datasets.Dataset` in the format its path names, atomically."""
    if table_format(path) == "dataset":
        with atomic_path(path) as tmp:
            dataset.save_to_disk(tmp)
            mark_output(tmp, "a table")
        return
    with TableWriter(path, dataset.column_names, tsv) as writer:
        for start in range(0, len(dataset), 1000):
            writer.write_all(dataset.select(range(start, min(start + 1000, len(dataset)))).to_list())
