"""A resumable augmentation job: shards of rows, each written atomically as a checkpoint.

`OUT.parts/` holds a manifest (the job's options and the input's fingerprint) and one JSONL file per
finished shard, whose first line names the job and whose last line counts its rows. A killed job rerun
with the same options skips the finished shards, so no row is lost or duplicated; the output is written
(atomically, streamed from the shards) only when every shard is done and belongs to this job, then the
parts go. Only one job at a time may write an OUT (a lock the kernel releases when a job dies). The
input is read as a stream and rows are held one shard at a time, so memory stays flat in the input's size.
Rows without text are kept as they are (when originals are kept) and counted, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from maskkit.augment.dataset import PROVENANCE, Augment, augmenter_name, check_distinct, check_not_augmented
from maskkit.errors import InputError, MissingFile, MissingKey, NotWritable, RunConflict
from maskkit.progress import progress_bar
from maskkit.runs.files import atomic_path, check_output, exclusive, read_json, write_json
from maskkit.runs.tables import TableWriter, scan_table, table_columns, table_format


@dataclass
class JobSummary:
    rows_in: int = 0
    rows_out: int = 0
    augmented: int = 0
    filtered: int = 0
    duplicates: int = 0
    rows_without_text: int = 0
    blank_lines: int = 0
    shards: int = 0
    shards_resumed: int = 0

    def lines(self) -> list[str]:
        return [
            f"rows in: {self.rows_in}" + (f" ({self.blank_lines} blank lines skipped)" if self.blank_lines else ""),
            f"rows out: {self.rows_out} ({self.augmented} augmented)",
            f"augmentations filtered out by the augmenter: {self.filtered}",
            f"augmentations dropped as identical to their source or an earlier one: {self.duplicates}",
            f"rows without text, not augmented: {self.rows_without_text}",
            f"shards: {self.shards} ({self.shards_resumed} resumed from an earlier run)",
        ]


@dataclass
class _Input:
    columns: list[str]
    num_rows: int
    fingerprint: str
    rows: Any  # () -> Iterator[dict]
    blank_lines: int = 0


def _open_input(source: Any, tsv: str) -> _Input:
    """A table file (streamed), a `save_to_disk` folder or a `datasets.Dataset`, as columns and rows."""
    if isinstance(source, (str, os.PathLike)):
        if table_format(source) != "dataset":
            table = scan_table(source, tsv)
            return _Input(table.columns, table.num_rows, table.fingerprint, table.rows, table.blank_lines)
        from datasets import load_from_disk

        path = Path(source)
        if not path.exists():
            raise MissingFile(f"input {os.fspath(source)!r} does not exist")
        if not path.is_dir():
            raise InputError(f"cannot tell the format of the input {os.fspath(source)!r}: name a .csv, .tsv or .jsonl "
                             "file (save a stream to one first) or a datasets save_to_disk folder")  # fmt: skip
        if not (path / "dataset_info.json").is_file() and not (path / "state.json").is_file():
            raise InputError(f"the input folder {os.fspath(source)!r} is not a datasets save_to_disk folder")
        source = load_from_disk(os.fspath(source))

    def dataset_rows() -> Iterator[dict[str, Any]]:
        for start in range(0, len(source), 1000):
            yield from source.select(range(start, min(start + 1000, len(source)))).to_list()

    return _Input(list(source.column_names), len(source), source._fingerprint, dataset_rows)


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_augment_job(
    source: Any,
    augmenter: Any,
    out_path: str | os.PathLike[str],
    options: dict[str, Any],
    n_aug: int = 1,
    text_column: str = "text",
    keep_original: bool = True,
    shard_size: int = 1000,
    overwrite: bool = False,
    progress: bool = True,
    tsv: str = "quoted",
) -> JobSummary:
    """Augments `source` (a table path or a `datasets.Dataset`) into `out_path` in resumable shards."""
    out = Path(out_path)
    table_format(out)  # an OUT whose format is unknown is refused before any work
    named = isinstance(source, (str, os.PathLike))
    inputs = [source] if named else []
    check_output(out, overwrite=True, inputs=inputs, recognise=is_augmented_table)  # never a file of the user's
    parts = out.with_name(out.name + ".parts")
    if shard_size < 1:
        raise InputError(f"shard size must be positive, got {shard_size}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise MissingFile(f"the output's folder {str(folder)!r} does not exist: create it first")
    if not os.access(folder, os.W_OK):
        raise NotWritable(f"cannot write into {str(folder)!r} (no write permission)")
    data = _open_input(source, tsv)
    if text_column not in data.columns:
        raise MissingKey(f"no {text_column!r} column to augment (columns: {data.columns})")
    check_not_augmented(data.columns, f"the input {os.fspath(source)!r}" if named else "the dataset")
    message = check_distinct(augmenter, n_aug)
    if message:
        raise InputError(message)
    manifest = {"options": options, "input": data.fingerprint, "rows": data.num_rows, "shard_size": shard_size,
                "columns": data.columns, "output": table_format(out), "tsv": tsv}  # fmt: skip
    job = hashlib.sha256(json.dumps(manifest, sort_keys=True, default=str).encode()).hexdigest()[:16]
    stage = Augment(augmenter, n_aug, text_column, keep_original)  # checked before OUT.parts exists
    with exclusive(out, "the output"):
        resuming = _open_parts(parts, manifest, overwrite)
        if not resuming:
            check_output(out, overwrite, inputs, recognise=is_augmented_table)
        summary = JobSummary(rows_in=data.num_rows, blank_lines=data.blank_lines)
        summary.shards = -(-data.num_rows // shard_size)
        bar = progress_bar(total=summary.shards, desc=f"augmenting ({augmenter_name(augmenter)})", unit="shard",
                           enabled=progress)  # fmt: skip
        for index, rows in enumerate(_chunks(data.rows(), shard_size)):
            shard = parts / f"shard-{index:06d}.jsonl"
            if _shard_footer(shard, job, index * shard_size) is not None:
                summary.shards_resumed += 1
            else:
                _write_shard(shard, job, index * shard_size, rows, stage)
            bar.update(1)
        bar.close()
        footers = [_shard_footer(parts / f"shard-{i:06d}.jsonl", job, i * shard_size) for i in range(summary.shards)]
        stray = sorted(p.name for p in parts.glob("shard-*.jsonl") if int(p.stem[6:]) >= summary.shards)
        if any(f is None for f in footers) or stray:
            raise RunConflict(f"{str(parts)!r} holds shards of another job: remove it and rerun")
        with TableWriter(out, [*data.columns, *PROVENANCE], tsv) as writer:
            for i in range(summary.shards):
                writer.write_all(_shard_rows(parts / f"shard-{i:06d}.jsonl"))
        shutil.rmtree(parts)
    for footer in footers:
        assert footer is not None
        summary.rows_out += footer["rows"]
        summary.augmented += footer["augmented"]
        summary.filtered += footer["filtered"]
        summary.duplicates += footer["duplicates"]
        summary.rows_without_text += footer["no_text"]
    return summary


def is_augmented_table(path: str) -> bool:
    """A table file maskkit's augmentation wrote: its columns end with the provenance columns."""
    return table_columns(path)[-len(PROVENANCE) :] == list(PROVENANCE)


def _open_parts(parts: Path, manifest: dict[str, Any], overwrite: bool) -> bool:
    """Starts or resumes the parts folder (True: resuming); another job's folder is an error, not a merge."""
    manifest_file = parts / "manifest.json"
    if parts.exists():
        if not manifest_file.is_file():
            raise RunConflict(f"{str(parts)!r} exists and is not a maskkit job's parts folder: move it away")
        if read_json(manifest_file) == json.loads(json.dumps(manifest, default=str)):
            return True
        started = any(parts.glob("shard-*.jsonl"))  # a job refused before its first shard left nothing to keep
        if not overwrite and started:
            raise RunConflict(
                f"{str(parts)!r} holds an unfinished job with other options or input: rerun with the same "
                "options to resume it, or pass --overwrite to start again"
            )
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    write_json(manifest_file, manifest, indent=1)
    return False


def _write_shard(shard: Path, job: str, start: int, rows: list[dict[str, Any]], stage: Augment) -> None:
    """Rows out for one shard, in input order (rows without text passed through and marked), written
    atomically between a header line naming the job and a footer line counting what was written."""
    columns = list(rows[0])
    has_text = [isinstance(r[stage.text_column], str) and r[stage.text_column].strip() != "" for r in rows]
    chosen = [i for i, ok in enumerate(has_text) if ok]
    produced: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(rows))}
    augmented = {"augmented": 0, "filtered": 0, "duplicates": 0}
    if chosen:
        batch = {c: [rows[i][c] for i in chosen] for c in columns}
        out, counts = stage.augment_rows(batch, [start + i for i in chosen])
        augmented = asdict(counts)
        for j in range(len(out["source_row"])):
            produced[out["source_row"][j] - start].append({c: out[c][j] for c in out})
    for i, ok in enumerate(has_text):
        if not ok and stage.keep_original:
            produced[i].append({**rows[i], "source_row": start + i, "aug_method": "no text", "aug_index": -1})
    written = [row for i in range(len(rows)) for row in produced[i]]
    footer = {"end": True, "rows": len(written), "no_text": len(rows) - len(chosen), **augmented}
    with atomic_path(shard) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps({"job": job, "start": start}) + "\n")
        for row in written:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.write(json.dumps(footer) + "\n")


def _shard_footer(shard: Path, job: str, start: int) -> dict[str, Any] | None:
    """The footer of a complete shard of this job starting at `start`, else None."""
    if not shard.is_file():
        return None
    with shard.open("rb") as f:
        first = f.readline()
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 4096))
        last = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        header, footer = json.loads(first), json.loads(last)
    except json.JSONDecodeError:
        return None
    if header != {"job": job, "start": start} or not isinstance(footer, dict) or footer.get("end") is not True:
        return None
    return footer


def _shard_rows(shard: Path) -> Iterator[dict[str, Any]]:
    with shard.open(encoding="utf-8") as f:
        lines = iter(f)
        next(lines)  # the header
        previous = None
        for line in lines:
            if previous is not None:
                yield json.loads(previous)
            previous = line  # the last line is the footer
