"""Hugging Face Hub model ids where a model or tokenizer is named, as transformers reads them.

A name that is a local folder is that folder. Any other name that reads as a hub id (`bert-base-uncased`,
`org/name`, `org/name@revision`) resolves through `huggingface_hub.snapshot_download` to the snapshot
folder in the user's Hugging Face cache: the same cache, token, `HF_HUB_CACHE`, `HF_HUB_OFFLINE` and
`local_files_only` behaviour as `from_pretrained`, so everything downstream reads a local folder and the
snapshot's commit hash (the resolved revision) is what run manifests record.

Only a model's own files are fetched: configuration, tokenizer and vocabulary files and safetensors
weights at the top level of the repository (PyTorch `.bin` weights only where a repository has no
safetensors); other frameworks' weights, ONNX exports and subfolders are left on the hub.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from maskkit.errors import MissingFile

HUB_ID = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*(?:/[A-Za-z0-9][\w.-]*)?)(?:@(?P<revision>[\w./-]+))?$")
MODEL_FILES = ["*.json", "*.txt", "*.model", "*.spm", "*.tiktoken", "*.safetensors"]
WEIGHTS = ("*.safetensors", "*.bin")
SNAPSHOT = re.compile(r"models--(?P<owner>[^/\\]+?)(?:--(?P<name>[^/\\]+))?[/\\]snapshots[/\\](?P<commit>[0-9a-f]{40})")


@dataclass(frozen=True)
class HubModel:
    """A hub id resolved to its snapshot folder and the commit that folder holds."""

    id: str
    revision: str
    folder: str

    @property
    def fingerprint(self) -> str:
        return f"hub:{self.id}@{self.revision}"


def is_hub_id(name: str) -> bool:
    """Whether a name that is not a local path reads as a hub id (`name`, `org/name`, `org/name@rev`)."""
    match = HUB_ID.match(name)
    return bool(match) and not os.path.exists(name) and ".." not in match.group("repo")  # type: ignore[union-attr]


def snapshot_of(folder: str) -> HubModel | None:
    """The hub id and commit of a snapshot folder in a Hugging Face cache; None for any other folder."""
    match = SNAPSHOT.search(os.path.abspath(folder))
    if match is None:
        return None
    owner, name = match.group("owner"), match.group("name")
    return HubModel(f"{owner}/{name}" if name else owner, match.group("commit"), os.path.abspath(folder))


def hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def resolve_hub_model(name: str, local_files_only: bool = False) -> HubModel:
    """The snapshot folder of hub id `name` (downloaded into the cache when online and not there yet,
    unless `local_files_only`)."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    match = HUB_ID.match(name)
    if match is None:
        raise MissingFile(f"{name!r} is neither a model folder nor a hub id")
    repo, revision = match.group("repo"), match.group("revision")
    try:
        folder = snapshot_download(repo, revision=revision, allow_patterns=MODEL_FILES, ignore_patterns=["*/*"],
                                   local_files_only=local_files_only)  # fmt: skip
        if not any_weights(str(folder)):  # an older repository with PyTorch pickles only
            folder = snapshot_download(repo, revision=revision, allow_patterns=[*MODEL_FILES, "*.bin"],
                                       ignore_patterns=["*/*"], local_files_only=local_files_only)  # fmt: skip
    except LocalEntryNotFoundError as error:
        offline = ("HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else "local_files_only is set"
                   if local_files_only else "the hub could not be reached")  # fmt: skip
        raise MissingFile(
            f"model {name!r}: no local folder of that name (tried {os.path.abspath(name)}), and hub id {repo!r}"
            f"{f' at revision {revision!r}' if revision else ''} is not in the Hugging Face cache "
            f"{hub_cache()} while {offline}: download it once online (unset HF_HUB_OFFLINE), "
            "or point HF_HUB_CACHE at a cache that holds it"
        ) from error
    except (HfHubHTTPError, HFValidationError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MissingFile(f"model {name!r}: not a local folder, and the hub refused {repo!r}: {first}") from error
    snapshot = snapshot_of(str(folder))
    commit = snapshot.revision if snapshot else (revision or "unknown")
    return HubModel(repo, commit, str(folder))


def any_weights(folder: str) -> bool:
    import glob

    return any(glob.glob(os.path.join(folder, pattern)) for pattern in WEIGHTS)


def model_fingerprint(name: str) -> str | None:
    """The hub id and commit of a hub id or of a snapshot folder in a Hugging Face cache (a model is named
    by its revision, not hashed again); None for a name that is neither."""
    if not os.path.exists(name) and is_hub_id(name):
        return resolve_hub_model(name).fingerprint
    snapshot = snapshot_of(name) if os.path.isdir(name) else None
    return snapshot.fingerprint if snapshot else None
