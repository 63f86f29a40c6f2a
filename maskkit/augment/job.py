"""A resumable augmentation job: shards of rows, each written atomically as a checkpoint.

`OUT.parts/` holds a manifest (the job's options and input fingerprint) and one JSONL file per finished
shard. A killed job rerun with the same options skips the finished shards, so no row is lost or
duplicated; the output is written (atomically) only when every shard is done, then the parts go.
Rows without text are kept as they are (when originals are kept) and counted, never dropped silently.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from maskkit.augment.dataset import PROVENANCE, Augment, augmenter_name
from maskkit.augment.files import write_table
from maskkit.runfiles import write_json

KILL_AFTER_SHARDS = "MASKKIT_KILL_AFTER_SHARDS"  # tests simulate a kill between shards with this


@dataclass
class JobSummary:
    rows_in: int = 0
    rows_out: int = 0
    augmented: int = 0
    filtered: int = 0
    rows_without_text: int = 0
    shards: int = 0
    shards_resumed: int = 0

    def lines(self) -> list[str]:
        return [
            f"rows in: {self.rows_in}",
            f"rows out: {self.rows_out} ({self.augmented} augmented)",
            f"augmentations filtered out by the augmenter: {self.filtered}",
            f"rows without text, not augmented: {self.rows_without_text}",
            f"shards: {self.shards} ({self.shards_resumed} resumed from an earlier run)",
        ]


def run_augment_job(
    dataset: Any,
    augmenter: Any,
    out_path: str | os.PathLike[str],
    options: dict[str, Any],
    n_aug: int = 1,
    text_column: str = "text",
    keep_original: bool = True,
    shard_size: int = 1000,
    overwrite: bool = False,
    progress: bool = True,
) -> JobSummary:
    """Augments `dataset` into `out_path` in resumable shards; returns what happened."""
    from datasets import Dataset
    from tqdm.auto import tqdm

    out = Path(out_path)
    parts = out.with_name(out.name + ".parts")
    if text_column not in dataset.column_names:
        raise KeyError(f"no {text_column!r} column to augment (columns: {dataset.column_names})")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{str(out)!r} exists: pass --overwrite to replace it")
    if not os.access(out.parent if str(out.parent) else Path("."), os.W_OK):
        raise PermissionError(f"cannot write into {str(out.parent)!r}")
    if shard_size < 1:
        raise ValueError(f"shard size must be positive, got {shard_size}")
    manifest = {"options": options, "input": dataset._fingerprint, "rows": len(dataset), "shard_size": shard_size}
    _open_parts(parts, manifest, overwrite)

    summary = JobSummary(rows_in=len(dataset))
    stage = Augment(augmenter, n_aug, text_column, keep_original)
    name = augmenter_name(augmenter)
    starts = range(0, len(dataset), shard_size)
    summary.shards = len(starts)
    for done, start in enumerate(tqdm(starts, desc=f"augmenting ({name})", unit="shard", disable=not progress)):
        shard = parts / f"shard-{start // shard_size:06d}.jsonl"
        if shard.exists():
            summary.shards_resumed += 1
            continue
        rows = _augment_shard(dataset.select(range(start, min(start + shard_size, len(dataset)))), start, stage)
        tmp = shard.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, shard)
        if os.environ.get(KILL_AFTER_SHARDS) == str(done + 1):
            os._exit(137)

    rows = [json.loads(line) for shard in sorted(parts.glob("shard-*.jsonl")) for line in shard.open(encoding="utf-8")]
    columns = [*dataset.column_names, *PROVENANCE]
    result = Dataset.from_dict({c: [row.get(c) for row in rows] for c in columns})
    write_table(result, out)
    shutil.rmtree(parts)
    summary.rows_out = len(result)
    summary.augmented = sum(1 for m in result["aug_method"] if m not in ("original", "no text"))
    summary.rows_without_text = sum(not (isinstance(t, str) and t.strip()) for t in dataset[text_column])
    with_text = summary.rows_in - summary.rows_without_text
    summary.filtered = with_text * n_aug - summary.augmented
    return summary


def _open_parts(parts: Path, manifest: dict[str, Any], overwrite: bool) -> None:
    """Starts or resumes the parts folder; a folder left by a different job is an error, not a merge."""
    manifest_file = parts / "manifest.json"
    if parts.exists():
        found = json.loads(manifest_file.read_text()) if manifest_file.exists() else None
        if found == json.loads(json.dumps(manifest)):
            return
        if not overwrite:
            raise FileExistsError(
                f"{str(parts)!r} holds an unfinished job with other options or input: rerun with the same "
                "options to resume it, or pass --overwrite to start again"
            )
        shutil.rmtree(parts)
    parts.mkdir(parents=True)
    write_json(manifest_file, manifest, indent=1)


def _augment_shard(shard: Any, start: int, stage: Augment) -> list[dict[str, Any]]:
    """Rows out for one shard, in input order; rows without text are passed through and marked."""
    columns = shard.column_names
    data = shard.to_dict()
    n = len(shard)
    has_text = [isinstance(t, str) and t.strip() != "" for t in data[stage.text_column]]
    chosen = [i for i in range(n) if has_text[i]]
    produced: dict[int, list[dict[str, Any]]] = {i: [] for i in range(n)}
    if chosen:
        batch = {c: [data[c][i] for i in chosen] for c in columns}
        out = stage(batch, [start + i for i in chosen])
        for j in range(len(out["source_row"])):
            produced[out["source_row"][j] - start].append({c: out[c][j] for c in out})
    for i in range(n):
        if not has_text[i] and stage.keep_original:
            produced[i].append({**{c: data[c][i] for c in columns}, "source_row": start + i,
                                "aug_method": "no text", "aug_index": -1})  # fmt: skip
    return [row for i in range(n) for row in produced[i]]


def options_of(obj: Any) -> dict[str, Any]:
    """The options of a dataclass augmenter, for the manifest."""
    try:
        return {k: repr(v) for k, v in asdict(obj).items()}
    except TypeError:
        return {"augmenter": repr(obj)}
