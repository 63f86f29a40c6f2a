"""The selective-masking pipeline's settings (Gu et al. 2020, "Train No Evil"): one `SelectiveConfig`
per run, filled from a recipe and a profile (`maskkit.selective.recipes`). The stages that read them are
in `maskkit.selective.stages`, the runner in `maskkit.selective.pipeline`."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from maskkit.errors import InputError, MissingFile

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
        if not 0 < self.rate <= 1:
            raise InputError(f"rate (the share of tokens masked) must be in (0, 1], got {self.rate}")
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

    @property
    def importance_threshold(self) -> float:
        """The score above which a token counts as important: `threshold`, else 0.5 for the buffer method
        and `delta` for the others."""
        return self.threshold if self.threshold is not None else (0.5 if self.method == "buffer" else self.delta)
