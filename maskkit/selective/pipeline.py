"""The selective-masking pipeline (Gu et al. 2020, "Train No Evil") over a run folder: its stages
(`maskkit.selective.stages`) run in order through the runs layer, each skipped when its manifest matches
and resumed when it died (checkpoints, finished shards and seeds are reused)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from maskkit.errors import InputError
from maskkit.runs.stages import StageRunner, StageSettings
from maskkit.selective.config import SelectiveConfig
from maskkit.selective.stages import STAGE_NAMES, STAGES


class Pipeline(StageRunner):
    """The run folder of one `SelectiveConfig`, and what its stages share (loaded once per job): the base
    model's folder and tokenizer, and the task data. Each helper reads only the stage settings it is handed."""

    def __init__(self, config: SelectiveConfig, log: Callable[[str], None] = print) -> None:
        super().__init__(config.run_dir, config, STAGES, log)
        self._cache: dict[tuple[Any, ...], Any] = {}

    def _once(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def model_dir(self, c: StageSettings) -> str:
        from maskkit.runs.models import resolve_model_dir

        return self._once(("model", c.model), lambda: resolve_model_dir(c.model))

    def tokenizer(self, c: StageSettings) -> Any:
        from transformers import AutoTokenizer

        return self._once(("tokenizer", c.model), lambda: AutoTokenizer.from_pretrained(self.model_dir(c)))

    def task_data(self, c: StageSettings) -> dict[str, Any]:
        from maskkit.training.data import labelled_splits

        key = ("task", c.train, c.dev, c.test, c.wordnet, c.classes)
        return self._once(key, lambda: labelled_splits(c.train, c.dev, c.test, c.wordnet, c.classes, self.log))

    def check_lengths(self) -> None:
        """Refuses lengths the model cannot hold before any stage runs."""
        from transformers import AutoConfig

        from maskkit.runs.models import resolve_model_dir

        c = self.settings
        limit = getattr(AutoConfig.from_pretrained(resolve_model_dir(c.model)), "max_position_embeddings", None)
        for name in ("pack_length", "max_length"):
            if limit is not None and getattr(c, name) > limit:
                raise InputError(f"{name} {getattr(c, name)} is longer than the model's max_position_embeddings "
                                 f"({limit}): set {name} <= {limit}")  # fmt: skip

    def run(self, stages: Sequence[str] = STAGE_NAMES) -> dict[str, Any]:
        """Runs (or skips, or resumes) the named stages in order; returns each stage's recorded figures."""
        from maskkit.selective.recipes import describe

        c = self.settings
        self.check_order(list(stages))
        self.log(describe(dataclasses.asdict(c), c.recipe, c.profile, list(c.overrides)))
        self.check_lengths()
        return self.run_stages(stages, context=self)


def run_pipeline(config: SelectiveConfig, stages: Sequence[str] = STAGE_NAMES, log: Any = print) -> dict[str, Any]:
    """Runs (or resumes) the pipeline's stages; returns each stage's recorded figures."""
    return Pipeline(config, log).run(stages)
