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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, MissingFile
from maskkit.runfiles import read_json, write_json

STAGES = ("task_model", "scoring", "importance_classifier", "in_domain", "pretrain_selective", "pretrain_random",
          "finetune")  # fmt: skip
ARMS = ("none", "random", "selective")
FROM_RECIPE: Any = None  # a setting left to the recipe or the profile (see maskkit.selective.recipes)


@dataclass(frozen=True)
class SelectiveConfig:
    """A run. Paths left unset use the embedded default: WordNet glosses classified by lexicographer file
    (`classes` noun files), the other glosses as in-domain text, MiniLM-L6.

    `recipe` and `profile` (see `maskkit.selective.recipes`) fill every setting left None: with your own
    data the official recipe at the paper's sizes, with the embedded default the "maskkit" recipe at the
    demo's sizes. Limits and `pretrain_steps` of 0 mean all rows / one epoch; `pack_length` and
    `max_predictions` of 0 mean one line per example / no cap."""

    run_dir: str = "runs/selective"
    model: str | None = None
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    aspect_column: str | None = None
    in_domain: str | None = None
    wordnet: str = "/usr/share/wordnet"
    classes: int = 8
    recipe: str = FROM_RECIPE
    profile: str = FROM_RECIPE
    method: str = "buffer"
    delta: float = 0.01
    threshold: float | None = None
    class_weights: tuple[float, ...] = (1.0, 3.0)
    rate: float = 0.15
    mask_negations: bool = False
    head_warmup_steps: int = 30
    batch_size: int = 32
    seeds: tuple[int, ...] = (1, 2)
    progress: bool = True
    # FROM_RECIPE (None): the recipe's value
    sentences: bool = FROM_RECIPE
    top_sen_rate: float = FROM_RECIPE
    misclassified: str = FROM_RECIPE
    stop_word_labels: bool = FROM_RECIPE
    exclude_stop_words: bool = FROM_RECIPE
    classifier_epochs: float = FROM_RECIPE
    classifier_lr: float = FROM_RECIPE
    classifier_selection: str = FROM_RECIPE
    in_domain_selection: str = FROM_RECIPE
    random_control: str = FROM_RECIPE
    pack_length: int = FROM_RECIPE
    max_predictions: int = FROM_RECIPE
    short_seq_prob: float = FROM_RECIPE
    # FROM_RECIPE (None): the profile's value
    scoring_limit: int = FROM_RECIPE
    in_domain_limit: int = FROM_RECIPE
    max_length: int = FROM_RECIPE
    task_epochs: float = FROM_RECIPE
    task_lr: float = FROM_RECIPE
    pretrain_steps: int = FROM_RECIPE
    pretrain_lr: float = FROM_RECIPE
    pretrain_warmup: float = FROM_RECIPE
    finetune_epochs: float = FROM_RECIPE
    finetune_lr: float = FROM_RECIPE
    overrides: tuple[str, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        from maskkit.selective.importance import METHODS
        from maskkit.selective.recipes import check_choices, resolve

        own_data = self.train is not None
        recipe = self.recipe or ("official" if own_data else "maskkit")
        profile = self.profile or ("paper" if own_data else "demo")
        filled, overrides = resolve({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, recipe, profile)
        for name, value in filled.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "recipe", recipe)
        object.__setattr__(self, "profile", profile)
        object.__setattr__(self, "overrides", tuple(overrides))
        check_choices(filled)
        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}, got {self.method!r}")
        if not self.seeds:
            raise InputError("seeds must name at least one seed")
        for name in ("batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("in_domain_limit", "scoring_limit", "pretrain_steps", "pack_length", "max_predictions"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0 (0: {'no limit' if 'limit' in name else 'off'}), "
                                 f"got {getattr(self, name)}")  # fmt: skip
        if not 0 < self.top_sen_rate <= 1 or not 0 <= self.short_seq_prob < 1 or not 0 <= self.pretrain_warmup < 1:
            raise InputError("top_sen_rate must be in (0, 1], short_seq_prob and pretrain_warmup in [0, 1)")
        if 0 < self.pack_length < 8:
            raise InputError(f"pack_length must be 0 (off) or at least 8 tokens, got {self.pack_length}")
        if self.in_domain_selection == "official" and not self.pack_length:
            raise InputError("in_domain_selection 'official' selects per sentence and packs: give pack_length > 0 "
                             "(the official code: 256)")  # fmt: skip
        if self.aspect_column is not None and self.sentences:
            raise InputError("aspect pairs are scored over the whole text, as the official ASC code does: "
                             "set sentences = false with aspect_column")  # fmt: skip
        for name in ("train", "dev", "test", "in_domain", "model"):
            path = getattr(self, name)
            if path is not None and not os.path.exists(path):
                raise MissingFile(f"{name} path {path!r} does not exist")
        if self.train is None and (self.dev or self.test):
            raise InputError("dev/test files need a train file too")
        if self.train is not None and self.in_domain is None:
            raise InputError("with your own train file, give in_domain: a text file of in-domain documents")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "class_weights", tuple(float(w) for w in self.class_weights))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SelectiveConfig:
        known = {f.name for f in dataclasses.fields(cls) if f.init}
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


PRETRAIN_SETTINGS = ("rate", "exclude_stop_words", "mask_negations", "pretrain_steps", "pretrain_lr", "pretrain_warmup",
                     "head_warmup_steps", "batch_size", "first_seed", "max_length", "max_predictions",
                     "random_control", "in_domain_selection")  # fmt: skip
# The settings each stage depends on (a change reruns it and everything downstream).
STAGE_SETTINGS = {
    "task_model": ("model", "train", "dev", "test", "wordnet", "classes", "text_column", "label_column",
                   "aspect_column", "max_length", "task_epochs", "task_lr", "batch_size", "first_seed"),
    "scoring": ("method", "delta", "scoring_limit", "max_length", "sentences", "top_sen_rate", "misclassified",
                "text_column", "label_column", "aspect_column", "first_seed"),
    "importance_classifier": ("threshold", "classifier_epochs", "classifier_lr", "classifier_selection",
                              "class_weights", "stop_word_labels", "exclude_stop_words", "mask_negations",
                              "batch_size", "max_length", "first_seed"),
    "in_domain": ("in_domain", "in_domain_limit", "wordnet", "sentences", "in_domain_selection", "rate",
                  "random_control", "exclude_stop_words", "mask_negations", "pack_length", "short_seq_prob",
                  "max_length", "first_seed"),
    "pretrain_selective": PRETRAIN_SETTINGS,
    "pretrain_random": PRETRAIN_SETTINGS,
    "finetune": ("seeds", "finetune_epochs", "finetune_lr", "max_length"),
}  # fmt: skip
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
