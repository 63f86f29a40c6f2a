"""The seeds' label-free selection as a workflow over importance scoring and in-domain sharding: each
token of unlabelled in-domain text scored by how far the task model's prediction entropy moves when it is
masked. Kept apart from `importance` (scoring) so that scoring never imports the in-domain stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from maskkit.selective.importance import score_importance, special_frame


@dataclass
class LabelFreeSelection:
    """`label_free_importance`'s scoring of a list of texts, as rows of `input_ids` (specials included) and
    `importance` (0 at specials); a `build` for `score_in_domain`, which shards it."""

    model: Any
    tokenizer: Any
    max_length: int = 128
    batch_size: int = 64
    progress: bool = False

    def __call__(self, texts: Sequence[str], first: int = 0) -> dict[str, list[Any]]:
        scored = score_importance(self.model, self.tokenizer, texts, None, "entropy", batch_size=self.batch_size,
                                  max_length=self.max_length, progress=self.progress)  # fmt: skip
        before, after = special_frame(self.tokenizer)
        rows: dict[str, list[Any]] = {"input_ids": [], "importance": []}
        for ids, scores in zip(scored.token_ids, scored.scores):
            rows["input_ids"].append([*before, *ids, *after])
            rows["importance"].append([0.0] * len(before) + [float(s) for s in scores] + [0.0] * len(after))
        return rows


def label_free_importance(
    task_model: Any, tokenizer: Any, texts: Any, max_length: int = 128, batch_size: int = 64,
    log: Any = print, output_dir: str | None = None, shard_size: int = 2000, progress: bool = True,
) -> Any:  # fmt: skip
    """The seeds' label-free selection: each token of unlabelled in-domain text scored by how far the task
    model's prediction entropy moves when it is masked (the "entropy" method with the model's own
    prediction as the label, so no sentence is dropped and no classifier is trained). Returns a Dataset of
    `input_ids` (specials included) and `importance` (0 at specials), ready for `ScoredSelector`.

    With `output_dir`, `texts` (a list or a Dataset with a `text` column, e.g. `load_corpus(...).dataset`)
    is scored `shard_size` texts at a time, each shard written under `output_dir/shards` as it finishes
    (memory stays bounded; a rerun resumes; under torchrun each process scores its own shards)."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification

    from maskkit.runs.models import on_best_device

    model = task_model
    if isinstance(task_model, (str, bytes)) or hasattr(task_model, "__fspath__"):
        model = on_best_device(AutoModelForSequenceClassification.from_pretrained(task_model))
    model.eval()
    selection = LabelFreeSelection(model, tokenizer, max_length, batch_size, progress and output_dir is None)
    if output_dir is not None:  # (score_in_domain shows its own progress, a shard at a time)
        from maskkit.selective.in_domain import score_in_domain

        result = score_in_domain(None, tokenizer, texts, output_dir, max_length, shard_size, batch_size, progress,
                                 build=selection)  # fmt: skip
        log(f"label-free entropy scoring: {result.rows} texts scored ({result.empty_skipped} empty)")
        return result.dataset
    if hasattr(texts, "column_names"):
        texts = texts["text"]
    rows = selection(texts)
    log(f"label-free entropy scoring: {len(rows['input_ids'])} texts scored ({len(texts) - len(rows['input_ids'])} "
        "empty)")  # fmt: skip
    return Dataset.from_dict(rows)
