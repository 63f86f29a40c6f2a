"""Old import paths kept for one release (0.3): each moved module's old name is an alias of its new one,
with a DeprecationWarning that says where it went. The aliases go in 0.4."""

from __future__ import annotations

import sys
import warnings
from importlib import import_module
from types import ModuleType


def alias(old: str, new: str) -> ModuleType:
    """Makes module `old` the module `new` (the same object, so its names and state are shared)."""
    warnings.warn(f"{old} moved to {new} in maskkit 0.3; the old path goes in 0.4", DeprecationWarning, stacklevel=3)
    module = import_module(new)
    sys.modules[old] = module
    return module
