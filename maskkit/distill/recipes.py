"""Named distillation recipes: the settings each fills in `DistillConfig` (see its docstring), registered
under versioned names (`maskkit.distill.xu-sda.v1`)."""

from __future__ import annotations

from typing import Any

from maskkit.registry import register_recipe

DISTILL_RECIPES: dict[str, dict[str, Any]] = {
    "hinton": {"alpha": 0.5, "kind": "kl", "weighting": "mix", "self_ensemble": None, "average_interval": 50},
    "xu-sda": {"alpha": 1.0, "kind": "mse", "weighting": "add", "self_ensemble": "average", "average_interval": 1},
    "xu-sdv": {"alpha": 1.0, "kind": "mse", "weighting": "add", "self_ensemble": "outputs", "average_interval": 0},
    "mean-teacher": {"alpha": 0.5, "kind": "kl", "weighting": "mix", "self_ensemble": "ema", "average_interval": 50},
}

for _name, _values in DISTILL_RECIPES.items():
    register_recipe(f"maskkit.distill.{_name}.v1", _name, _values)
