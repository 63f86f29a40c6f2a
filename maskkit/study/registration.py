"""Pre-registration: the first `study run` writes the study's primary comparisons and margin beside its
record (`preregistration.json`), with how many runs had finished then; afterwards a study file whose
family or margin differs is refused, since Holm's family and the verdicts depend on them."""

from __future__ import annotations

import os
import time
from typing import Any

from maskkit.errors import InputError
from maskkit.runs.files import read_json, write_json

FILE = "preregistration.json"


def registration_path(config: Any) -> str:
    return os.path.join(config.record or config.run_dir, FILE)


def family(config: Any) -> dict[str, Any]:
    return {"primary": [list(pair) for pair in config.primary], "margin": config.margin}


def check_registration(config: Any) -> dict[str, Any] | None:
    """The registration, if any; an InputError when the study file's family differs from it."""
    registered = read_json(registration_path(config))
    if registered is None:
        return None
    if {k: registered.get(k) for k in ("primary", "margin")} != family(config):
        raise InputError(
            f"the study's primary comparisons or margin ({family(config)}) differ from those registered in "
            f"{registration_path(config)!r} ({ {k: registered.get(k) for k in ('primary', 'margin')} }): a changed "
            "family is another study; give it another run_dir and record, or restore the registered one"
        )
    return registered


def register_family(config: Any, finished: int) -> dict[str, Any]:
    """Registers the study's family now (once), saying how many runs had already finished."""
    registered = check_registration(config)
    if registered is None:
        registered = {**family(config), "registered": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                      "finished_runs_then": finished}  # fmt: skip
        os.makedirs(os.path.dirname(registration_path(config)), exist_ok=True)
        write_json(registration_path(config), registered)
    return registered


def registration_line(registered: dict[str, Any] | None) -> str:
    if registered is None or not registered.get("primary"):
        return ""
    when = registered["registered"]
    runs = registered.get("finished_runs_then", 0)
    before = "before any run" if runs == 0 else f"after {runs} runs had finished (not before every run)"
    return f"The primary comparisons and margin were registered {when}, {before}."
