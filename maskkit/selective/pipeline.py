"""The selective-masking pipeline as resumable stages over a run folder (Gu et al. 2020, "Train No Evil").

    task_model -> scoring -> importance_classifier -> in_domain -> pretrain_selective, pretrain_random
    -> finetune (no further pre-training, the random control, selective; several seeds) -> report

Each stage writes its artefacts and a `manifest.json` (its settings, the fingerprints of its inputs and
upstream manifests, library versions) into `run_dir/<stage>`; a stage whose manifest matches is skipped,
and a stage that died resumes (checkpoints, finished shards and seeds are reused).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, MissingFile
from maskkit.runfiles import read_json, write_json

STAGES = ("task_model", "scoring", "importance_classifier", "in_domain", "pretrain_selective", "pretrain_random",
          "finetune")  # fmt: skip
ARMS = ("none", "random", "selective")


@dataclass(frozen=True)
class SelectiveConfig:
    """A run. Paths left unset use the embedded default: WordNet glosses classified by lexicographer file
    (`classes` noun files), the other glosses as in-domain text, MiniLM-L6."""

    run_dir: str = "runs/selective"
    model: str | None = None
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    in_domain: str | None = None
    in_domain_limit: int = 4000
    wordnet: str = "/usr/share/wordnet"
    classes: int = 8
    max_length: int = 64
    task_epochs: float = 2.0
    task_lr: float = 1e-4
    method: str = "buffer"
    delta: float = 0.01
    threshold: float | None = None
    scoring_limit: int = 400
    classifier_epochs: float = 3.0
    class_weights: tuple[float, ...] = (1.0, 3.0)
    rate: float = 0.15
    exclude_stop_words: bool = True
    mask_negations: bool = False
    pretrain_steps: int = 100
    pretrain_lr: float = 1e-4
    head_warmup_steps: int = 30
    batch_size: int = 32
    seeds: tuple[int, ...] = (1, 2)
    finetune_epochs: float = 1.0
    finetune_lr: float = 1e-4
    progress: bool = True

    def __post_init__(self) -> None:
        from maskkit.selective.importance import METHODS

        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}, got {self.method!r}")
        if not self.seeds:
            raise InputError("seeds must name at least one seed")
        for name in ("in_domain_limit", "scoring_limit", "pretrain_steps", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("train", "dev", "test", "in_domain", "model"):
            path = getattr(self, name)
            if path is not None and not os.path.exists(path):
                raise MissingFile(f"{name} path {path!r} does not exist")
        if self.train is None and (self.dev or self.test):
            raise InputError("dev/test files need a train file too")
        if self.train is not None and self.in_domain is None:
            raise InputError("with your own train file, give in_domain: a text file of in-domain sentences")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "class_weights", tuple(float(w) for w in self.class_weights))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SelectiveConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        settings: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**settings)

    @property
    def first_seed(self) -> int:
        """The seed of the shared stages (task model, scoring sample, classifier, pre-training)."""
        return self.seeds[0]

    def importance_threshold(self) -> float:
        return self.threshold if self.threshold is not None else (0.5 if self.method == "buffer" else self.delta)


PRETRAIN_SETTINGS = ("rate", "exclude_stop_words", "mask_negations", "pretrain_steps", "pretrain_lr",
                     "head_warmup_steps", "batch_size", "first_seed")  # fmt: skip
# The settings each stage depends on (a change reruns it and everything downstream).
STAGE_SETTINGS = {
    "task_model": (
        "model",
        "train",
        "dev",
        "test",
        "wordnet",
        "classes",
        "text_column",
        "label_column",
        "max_length",
        "task_epochs",
        "task_lr",
        "batch_size",
        "first_seed",
    ),
    "scoring": (
        "method",
        "delta",
        "scoring_limit",
        "max_length",
        "exclude_stop_words",
        "mask_negations",
        "text_column",
        "label_column",
        "first_seed",
    ),
    "importance_classifier": ("threshold", "classifier_epochs", "class_weights", "batch_size", "first_seed"),
    "in_domain": ("in_domain", "in_domain_limit", "wordnet"),
    "pretrain_selective": PRETRAIN_SETTINGS,
    "pretrain_random": PRETRAIN_SETTINGS,
    "finetune": ("seeds", "finetune_epochs", "finetune_lr"),
}
UPSTREAM = {"task_model": (), "scoring": ("task_model",), "importance_classifier": ("scoring",),
            "in_domain": ("importance_classifier",), "pretrain_selective": ("in_domain",),
            "pretrain_random": ("in_domain",), "finetune": ("pretrain_selective", "pretrain_random")}  # fmt: skip


def file_fingerprint(path: str | None) -> str | None:
    if path is None:
        return None
    digest = hashlib.blake2b(digest_size=16)
    files = sorted(Path(path).rglob("*")) if os.path.isdir(path) else [Path(path)]
    for file in files:
        if file.is_file():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


class Run:
    """A run folder: stage folders, their manifests, and the skip/resume decision."""

    def __init__(self, config: SelectiveConfig, log: Callable[[str], None] = print) -> None:
        self.config, self.log = config, log
        os.makedirs(config.run_dir, exist_ok=True)

    def folder(self, stage: str) -> str:
        return os.path.join(self.config.run_dir, stage)

    def manifest(self, stage: str) -> dict[str, Any]:
        import torch
        import transformers

        from maskkit import __version__

        settings = {k: getattr(self.config, k) for k in STAGE_SETTINGS[stage]}
        inputs = {k: file_fingerprint(getattr(self.config, k)) for k in ("train", "dev", "test", "in_domain", "model")
                  if k in STAGE_SETTINGS[stage] or (stage == "in_domain" and k == "in_domain")}  # fmt: skip
        upstream = {u: self.read_manifest(u).get("digest") for u in UPSTREAM[stage]}
        body = {"stage": stage, "settings": settings, "inputs": inputs, "upstream": upstream}
        digest = hashlib.blake2b(json.dumps(body, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()
        versions = {"maskkit": __version__, "transformers": transformers.__version__, "torch": torch.__version__}
        return {**body, "digest": digest, "versions": versions}

    def read_manifest(self, stage: str) -> dict[str, Any]:
        return read_json(os.path.join(self.folder(stage), "manifest.json")) or {}

    def done(self, stage: str) -> bool:
        return self.read_manifest(stage).get("digest") == self.manifest(stage)["digest"]

    def finish(self, stage: str, results: dict[str, Any]) -> None:
        write_json(os.path.join(self.folder(stage), "results.json"), results)
        write_json(os.path.join(self.folder(stage), "manifest.json"), self.manifest(stage))

    def results(self, stage: str) -> dict[str, Any]:
        return read_json(os.path.join(self.folder(stage), "results.json"))
