"""maskkit: masking schemes and data that make BERT-style models better at a downstream task.

Public names are re-exported here. Importing maskkit is cheap: torch and transformers load only when
a name that needs them is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.3.0"

_EXPORTS = {
    "MaskingCollator": "maskkit.collate",
    "TokenSelector": "maskkit.masking.selectors",
    "WholeWordSelector": "maskkit.masking.selectors",
    "SpanSelector": "maskkit.masking.selectors",
    "UnitSelector": "maskkit.masking.selectors",
    "ScoredSelector": "maskkit.masking.selectors",
    "Selection": "maskkit.masking.selectors",
    "MaskRandomKeep": "maskkit.masking.corruption",
    "SimilarWordReplace": "maskkit.masking.correction",
    "unigram_counts": "maskkit.masking.corruption",
    "OneOfSelectors": "maskkit.masking.compose",
    "MaskingBatch": "maskkit.masking.batch",
    "MissingColumnError": "maskkit.masking.batch",
    "VocabTables": "maskkit.masking.words",
    "jieba_segmenter": "maskkit.masking.words",
    "Tokenize": "maskkit.dataset_stages",
    "StaticMask": "maskkit.dataset_stages",
    "static_mask": "maskkit.dataset_stages",
    "as_features": "maskkit.dataset_stages",
    "repeat_passes": "maskkit.dataset_stages",
    "PackBlocks": "maskkit.training.packing",
    "pack_blocks": "maskkit.training.packing",
    "EpochCallback": "maskkit.training.callbacks",
    "keep_columns": "maskkit.training.callbacks",
    "PretrainConfig": "maskkit.training.pretrain",
    "further_pretrain": "maskkit.training.pretrain",
    "further_pretrain_stages": "maskkit.training.pretrain",
    "sparse_mlm_loss": "maskkit.training.mlm",
    "MaskedLMTrainer": "maskkit.training.mlm",
    "FinetuneConfig": "maskkit.training.classify",
    "finetune_classifier": "maskkit.training.classify",
    "PooledClassifier": "maskkit.training.heads",
    "DistillConfig": "maskkit.distill.trainer",
    "DistillationTrainer": "maskkit.distill.trainer",
    "distill_classifier": "maskkit.distill.trainer",
    "born_again": "maskkit.distill.trainer",
    "generate_soft_labels": "maskkit.distill.soft_labels",
    "score_importance": "maskkit.selective.importance",
    "SelectiveConfig": "maskkit.selective.config",
    "run_pipeline": "maskkit.selective.pipeline",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


# Names that moved or were renamed in 0.3: they still work, with a DeprecationWarning, until 0.4.
_RENAMED = {"OneOf": "OneOfSelectors"}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        import warnings

        new = _RENAMED[name]
        warnings.warn(f"maskkit.{name} is maskkit.{new} since 0.3 (augmenters: maskkit.augment.{name}); the old "
                      "name goes in 0.4", DeprecationWarning, stacklevel=2)  # fmt: skip
        return getattr(import_module(_EXPORTS[new]), new)
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'maskkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
