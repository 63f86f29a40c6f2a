"""Hugging Face Hub datasets wherever a table or a corpus is named, as `datasets.load_dataset` reads them.

A hub dataset is named `hf://ID[@REVISION][:CONFIG]:SPLIT`, optionally followed by column renames
`?text=sentence&label=label` (the column the run reads = the dataset's column):

    hf://imdb:train                          hf://nyu-mll/glue:sst2:validation?text=sentence
    hf://stanfordnlp/sst2@<commit>:train     (in TOML: { dataset = "nyu-mll/glue", name = "sst2",
                                                         split = "train", text = "sentence" })

It loads through `datasets.load_dataset` (the user's cache, token, `HF_DATASETS_CACHE`, `HF_HUB_OFFLINE`).
Offline, where `datasets` has not prepared it before, a snapshot of the dataset repository in the hub cache
(`HF_HUB_CACHE`, `datasets--org--name/snapshots/<commit>/`) is loaded instead. Run manifests record the
dataset's fingerprint: its name pinned to the snapshot's commit where there is one
(`hf://org/name@<commit>:train`), else its name and `datasets`' own fingerprint of the loaded split (a
hash of its data files, `hf://imdb:train#<fingerprint>`), so a changed dataset is a changed input.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from maskkit.errors import InputError, MissingFile

PREFIX = "hf://"
_NAME = re.compile(
    r"^hf://(?P<id>[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?)(?:@(?P<revision>[\w./-]+?))?"
    r"(?::(?P<config>[\w.-]+))?:(?P<split>[\w.\[\]:%-]+?)(?:\?(?P<renames>.*))?$"
)
TABLE_KEYS = ("dataset", "name", "split", "revision", "text", "label")


@dataclass(frozen=True)
class HubDataset:
    """One split of a hub dataset, with the columns to rename to the ones a run reads."""

    id: str
    split: str
    config: str | None = None
    revision: str | None = None
    renames: tuple[tuple[str, str], ...] = ()  # (the run's name, the dataset's name)

    @property
    def uri(self) -> str:
        name = f"{PREFIX}{self.id}{f'@{self.revision}' if self.revision else ''}"
        name += f"{f':{self.config}' if self.config else ''}:{self.split}"
        return name + (f"?{urlencode(self.renames)}" if self.renames else "")


def is_hub_dataset(name: Any) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def parse_hub_dataset(name: str) -> HubDataset:
    """Reads `hf://ID[@REVISION][:CONFIG]:SPLIT[?run_column=dataset_column&...]` (the error shows the form)."""
    match = _NAME.match(name)
    if match is None or name.startswith(f"{PREFIX}datasets/"):
        raise InputError(
            f"{name!r} is not a hub dataset name: write hf://ID[@REVISION][:CONFIG]:SPLIT, e.g. "
            "hf://nyu-mll/glue:sst2:train?text=sentence (a file on the hub, hf://datasets/..., is not read here: "
            "name the dataset and split)"
        )
    renames = tuple(parse_qsl(match.group("renames") or "", keep_blank_values=False, strict_parsing=False))
    return HubDataset(match.group("id"), match.group("split"), match.group("config"), match.group("revision"),
                      renames)  # fmt: skip


def hub_dataset_name(value: Any, where: str) -> str:
    """A study file's `{ dataset = ..., name = ..., split = ..., text = ... }` table as its `hf://` name."""
    if not isinstance(value, dict):
        return value
    unknown = sorted(set(value) - set(TABLE_KEYS))
    if unknown or not isinstance(value.get("dataset"), str) or not isinstance(value.get("split"), str):
        raise InputError(
            f"{where}: a hub dataset is a table with `dataset` and `split` (and optionally {', '.join(TABLE_KEYS[2:])}"
            f"{'' if not unknown else f'; unknown keys {unknown}'}), got {value!r}"
        )
    renames = tuple((column, value[column]) for column in ("text", "label") if value.get(column))
    spec = HubDataset(value["dataset"], value["split"], value.get("name"), value.get("revision"), renames)
    parse_hub_dataset(spec.uri)  # the same checks as a name given on the command line
    return spec.uri


def load_hub_dataset(name: str) -> tuple[Any, str]:
    """The split a hub dataset name gives (columns renamed) and its fingerprint for run manifests."""
    from datasets import load_dataset

    spec = parse_hub_dataset(name)
    try:
        try:
            data = load_dataset(spec.id, spec.config, split=spec.split, revision=spec.revision)
            fingerprint = f"{spec.uri}#{data._fingerprint}"
        except OSError as error:  # offline, not found, refused: the hub cache's snapshot, else say so
            snapshot = cached_snapshot(spec)
            if snapshot is None:
                raise _unavailable(spec, error) from error
            data = load_dataset(snapshot, spec.config, split=spec.split)
            fingerprint = replace(spec, revision=os.path.basename(snapshot)).uri  # pinned to the commit read
    except ValueError as wrong:  # an unknown split or config, in datasets' words
        raise InputError(f"hub dataset {spec.uri}: {str(wrong).strip().splitlines()[0]}") from wrong
    for run_column, column in spec.renames:
        if column not in data.column_names:
            raise InputError(f"hub dataset {spec.uri}: no column {column!r} (columns: {data.column_names})")
        if run_column != column:
            if run_column in data.column_names:
                data = data.remove_columns(run_column)
            data = data.rename_column(column, run_column)
    return data, fingerprint


def cached_snapshot(spec: HubDataset) -> str | None:
    """The dataset repository's snapshot folder in the hub cache, or None when it is not there."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return str(snapshot_download(spec.id, repo_type="dataset", revision=spec.revision, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, OSError):
        return None


def _unavailable(spec: HubDataset, error: Exception) -> MissingFile:
    from huggingface_hub import constants

    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    offline = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "the hub was tried"
    return MissingFile(
        f"hub dataset {spec.uri}: {first}. It is in neither the datasets cache nor the hub cache "
        f"{constants.HF_HUB_CACHE} while {offline}: load it once online (unset HF_HUB_OFFLINE), or point "
        "HF_HUB_CACHE / HF_DATASETS_CACHE at caches that hold it"
    )


def hub_dataset_fingerprint(name: str) -> str:
    return load_hub_dataset(name)[1]
