"""maskkit: masking schemes and data that make BERT-style models better at a downstream task.

Public names are re-exported here. Importing maskkit is cheap: torch and transformers load only when
a name that needs them is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "MaskingCollator": "maskkit.collate",
    "TokenSelector": "maskkit.masking.selectors",
    "WholeWordSelector": "maskkit.masking.selectors",
    "SpanSelector": "maskkit.masking.selectors",
    "UnitSelector": "maskkit.masking.selectors",
    "ScoredSelector": "maskkit.masking.selectors",
    "Selection": "maskkit.masking.selectors",
    "MaskRandomKeep": "maskkit.masking.corruption",
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
