"""Moved: training loops are in `maskkit.training`, model-folder loading and reports in `maskkit.runs`
(these aliases go in 0.4)."""

import sys
import warnings
from importlib import import_module

MOVED = {"classify": "maskkit.training.classify", "data": "maskkit.training.data",
         "encode": "maskkit.training.encode", "heads": "maskkit.training.heads", "mlm": "maskkit.training.mlm",
         "optim": "maskkit.training.optim", "pretrain": "maskkit.training.pretrain",
         "loading": "maskkit.runs.models", "report": "maskkit.runs.report"}  # fmt: skip
warnings.warn("maskkit.finetune moved to maskkit.training (models and reports: maskkit.runs) in maskkit 0.3; "
              "the old path goes in 0.4", DeprecationWarning, stacklevel=2)  # fmt: skip
for _name, _new in MOVED.items():
    sys.modules[f"{__name__}.{_name}"] = globals()[_name] = import_module(_new)
