"""maskkit: masking schemes and data that make BERT-style models better at a downstream task.

Public names are re-exported here. Importing maskkit is cheap: torch and transformers load only when
a name that needs them is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

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
    "OneOf": "maskkit.masking.compose",
    "MaskingBatch": "maskkit.masking.batch",
    "MissingColumnError": "maskkit.masking.batch",
    "VocabTables": "maskkit.masking.words",
    "jieba_segmenter": "maskkit.masking.words",
    "Tokenize": "maskkit.stages",
    "StaticMask": "maskkit.stages",
    "static_mask": "maskkit.stages",
    "as_features": "maskkit.stages",
    "EpochCallback": "maskkit.trainer",
    "keep_columns": "maskkit.trainer",
    "PretrainConfig": "maskkit.finetune.pretrain",
    "further_pretrain": "maskkit.finetune.pretrain",
    "further_pretrain_stages": "maskkit.finetune.pretrain",
    "sparse_mlm_loss": "maskkit.finetune.mlm",
    "MaskedLMTrainer": "maskkit.finetune.mlm",
    "FinetuneConfig": "maskkit.finetune.classify",
    "finetune_classifier": "maskkit.finetune.classify",
    "PooledClassifier": "maskkit.finetune.heads",
    "DistillConfig": "maskkit.distill.trainer",
    "DistillationTrainer": "maskkit.distill.trainer",
    "distill_classifier": "maskkit.distill.trainer",
    "born_again": "maskkit.distill.trainer",
    "generate_soft_labels": "maskkit.distill.soft_labels",
    "score_importance": "maskkit.selective.importance",
    "SelectiveConfig": "maskkit.selective.pipeline",
    "run_pipeline": "maskkit.selective.stages",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'maskkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
