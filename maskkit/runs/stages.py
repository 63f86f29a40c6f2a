"""Stages over a run folder: each stage is one object (its name, the settings it reads, the stages it
needs, its run function), and a `StageRunner` runs them in order with a manifest per stage.

A stage's manifest holds the settings it declares, the fingerprints of the files they name, the digests
of its upstream manifests and the library versions; a stage whose manifest matches the one on disk is
skipped, a stage that died resumes from its partial artefacts when they came from the same manifest,
and a changed setting clears them. The run function is handed only the settings the stage declares
(`StageSettings`), so reading another one fails at once instead of silently reusing a stale result.

A record folder (`record_dir`, small enough to commit) keeps every finished stage's manifest and results,
one file per stage and manifest digest, without its artefacts: a new checkout restores the stages whose
digests match and runs only the rest, and a restored stage is run again only when a stage still to run
needs its artefacts. A changed setting is a new digest, so it never overwrites an older result.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, JobFailed, RunConflict
from maskkit.runs.files import exclusive, read_json, remove, write_json
from maskkit.runs.hub_data import hub_dataset_fingerprint, is_hub_dataset
from maskkit.runs.job import Job

RESTORED = "restored.json"  # marks a stage folder whose manifest and results came from the record


class StageDefinitionError(ValueError):
    """Stages defined wrongly (a duplicate name, an upstream stage defined later): a bug in the code that
    defines them."""


@dataclass(frozen=True)
class Stage:
    """One stage of a run.

    `reads`: the settings the stage's output depends on (recorded in its manifest: a change reruns it and
    everything downstream). `files`: those of `reads` that name files or folders whose contents count too
    (fingerprinted). `upstream`: the stages whose artefacts it reads. `run(context, settings)` writes the
    stage's artefacts into `context.folder(name)` and returns the figures recorded in its results.json.
    """

    name: str
    reads: tuple[str, ...]
    run: Callable[[Any, StageSettings], dict[str, Any]]
    upstream: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    values: dict[str, Any] | None = field(default=None, compare=False)  # its own settings (else the runner's)

    def __post_init__(self) -> None:
        if self.values is not None and not self.reads:
            object.__setattr__(self, "reads", tuple(self.values))
        stray = sorted(set(self.files) - set(self.reads))
        if stray:
            raise StageDefinitionError(f"stage {self.name!r}: files {stray} must be among its reads")


class UndeclaredSetting(AttributeError):
    """A stage read a setting it does not declare: a bug in the stage (its manifest would miss it)."""


class StageSettings:
    """The settings one stage is handed: the values of its declared reads (plus display-only settings such
    as progress, which never change a result), and nothing else."""

    def __init__(self, stage: str, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_stage", stage)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        stage = object.__getattribute__(self, "_stage")
        raise UndeclaredSetting(
            f"stage {stage!r} read the setting {name!r}, which is not among its reads: add it to the stage's "
            "reads so that its manifest records it"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("stage settings are read-only")

    @property
    def stage_name(self) -> str:
        """The stage these settings were handed to (its artefacts go in the runner's `folder(stage_name)`)."""
        return str(object.__getattribute__(self, "_stage"))

    def as_dict(self) -> dict[str, Any]:
        return dict(object.__getattribute__(self, "_values"))


def file_fingerprint(path: str | None) -> str | None:
    """A digest of a file's bytes, or of every file's name and bytes under a folder; None for None."""
    if path is None:
        return None
    if is_hub_dataset(path):  # a hub dataset by its commit or datasets' fingerprint, not by bytes read here
        return hub_dataset_fingerprint(str(path))
    digest = hashlib.blake2b(digest_size=16)
    files = sorted(Path(path).rglob("*")) if os.path.isdir(path) else [Path(path)]
    for file in files:
        if file.is_file():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def files_digest(paths: str | Sequence[str]) -> str:
    """`file_fingerprint` over every file a path, glob or list of them names (in sorted order), so that an
    edited input is told from the one a run was made with; a name that matches nothing counts as its text."""
    import glob

    digest = hashlib.blake2b(digest_size=8)
    for name in [paths] if isinstance(paths, str) else list(paths):
        for path in sorted(glob.glob(name, recursive=True)) or [name]:
            known = os.path.exists(path) or is_hub_dataset(path)
            digest.update(f"{path}\0{file_fingerprint(path) if known else ''}\n".encode())
    return digest.hexdigest()


def check_stages(stages: Sequence[Stage]) -> None:
    """Refuses duplicate names and upstream stages that are not defined before the stage that needs them."""
    seen: set[str] = set()
    for stage in stages:
        if stage.name in seen:
            raise StageDefinitionError(f"stage {stage.name!r} is defined twice")
        missing = [u for u in stage.upstream if u not in seen]
        if missing:
            raise StageDefinitionError(f"stage {stage.name!r} needs {missing}, which are not defined before it")
        seen.add(stage.name)


class StageRunner:
    """A run folder of stages: `run_dir/<stage>/` holds a stage's artefacts, `manifest.json` and
    `results.json`. `settings` is any object with the stages' reads as attributes; `display` names the
    settings every stage may read that never change a result (they stay out of manifests). Under torchrun
    the processes of the job run each stage together (see `maskkit.runs.job`); the main one speaks."""

    def __init__(
        self,
        run_dir: str,
        settings: Any,
        stages: Sequence[Stage],
        log: Callable[[str], None] = print,
        display: tuple[str, ...] = ("progress",),
        record_dir: str | None = None,
    ) -> None:
        check_stages(stages)
        self.job = Job()
        self.run_dir, self.settings, self.display = run_dir, settings, display
        self.log = log if self.job.main else (lambda _: None)
        self.record_dir = record_dir
        self.stages = {stage.name: stage for stage in stages}
        self._fingerprints: dict[str, str | None] = {}
        os.makedirs(run_dir, exist_ok=True)

    def add_stages(self, stages: Sequence[Stage]) -> None:
        """Adds stages after the ones defined (their upstream among them), e.g. once a choice is made."""
        check_stages([*self.stages.values(), *stages])
        self.stages.update((stage.name, stage) for stage in stages)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.stages)

    def folder(self, stage: str) -> str:
        return os.path.join(self.run_dir, stage)

    def value(self, stage: str, name: str) -> Any:
        own = self.stages[stage].values
        if own is not None and name in own:
            return own[name]
        return getattr(self.settings, name)

    def settings_of(self, stage: str) -> StageSettings:
        names = (*self.stages[stage].reads, *self.display)
        return StageSettings(stage, {name: self.value(stage, name) for name in names})

    def fingerprint(self, path: str | list[str] | None) -> str | None:
        """A digest of what a file setting names; a model named by a hub id (or a snapshot of the Hugging
        Face cache) by its resolved commit (stages check their files exist before they are planned)."""
        from maskkit.runs.hub import model_fingerprint

        key = str(path)  # each file is read once per job
        if key not in self._fingerprints:
            if isinstance(path, list):
                self._fingerprints[key] = files_digest(path)
            else:
                self._fingerprints[key] = (model_fingerprint(path) if path else None) or file_fingerprint(path)
        return self._fingerprints[key]

    def manifest(self, stage: str) -> dict[str, Any]:
        import torch
        import transformers

        from maskkit import __version__

        spec = self.stages[stage]
        settings = {name: self.value(stage, name) for name in spec.reads}
        inputs = {name: self.fingerprint(settings[name]) for name in spec.files}
        upstream = {u: self.read_manifest(u).get("digest") for u in spec.upstream}
        body = {"stage": stage, "settings": settings, "inputs": inputs, "upstream": upstream}
        digest = hashlib.blake2b(json.dumps(body, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()
        versions = {"maskkit": __version__, "transformers": transformers.__version__, "torch": torch.__version__}
        return {**body, "digest": digest, "versions": versions}

    def read_manifest(self, stage: str) -> dict[str, Any]:
        return read_json(os.path.join(self.folder(stage), "manifest.json")) or {}

    def done(self, stage: str) -> bool:
        return self.read_manifest(stage).get("digest") == self.manifest(stage)["digest"]

    def results(self, stage: str) -> dict[str, Any]:
        return read_json(os.path.join(self.folder(stage), "results.json"))

    def finish(self, stage: str, results: dict[str, Any]) -> None:
        write_json(os.path.join(self.folder(stage), "results.json"), results)
        write_json(os.path.join(self.folder(stage), "manifest.json"), self.manifest(stage))
        self.add_to_record(stage)

    # The record: finished stages' manifests and results kept apart from their artefacts.

    def record_file(self, stage: str, digest: str) -> str:
        assert self.record_dir is not None
        return os.path.join(self.record_dir, stage, f"{digest}.json")

    def restored(self, stage: str) -> bool:
        """Whether the stage's figures came from the record (its artefacts are not in the run folder)."""
        return os.path.isfile(os.path.join(self.folder(stage), RESTORED))

    def add_to_record(self, stage: str) -> bool:
        """Records a finished stage (run here, not restored) unless the record has its digest already: the
        first result under a manifest stays. Returns whether it was added."""
        if self.record_dir is None or self.restored(stage):
            return False
        manifest = self.read_manifest(stage)
        path = self.record_file(stage, manifest["digest"])
        if os.path.isfile(path):
            return False
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json(path, {"manifest": manifest, "results": self.results(stage)})
        return True

    def sync_record(self) -> tuple[int, int]:
        """Adds the run folder's finished stages to the record and restores, in definition order (an
        upstream stage's digest is part of its downstream manifests), the recorded stages the run folder
        lacks. A stage another process holds is running there (a recorded stage run again for its
        artefacts has no figures until it ends): it is left to that process, never restored under it,
        which would mark its fresh artefacts as restored and have them made once more. Returns (added,
        restored)."""
        if self.record_dir is None:
            return 0, 0
        added = restored = 0
        for stage in self.stages:
            if self.done(stage):
                added += self.add_to_record(stage)
                continue
            digest = self.manifest(stage)["digest"]
            entry = read_json(self.record_file(stage, digest))
            if entry is None:
                continue
            folder = self.folder(stage)
            try:
                with exclusive(folder, f"stage {stage}"):
                    if self.done(stage):  # finished by its holder just before the lock was free
                        continue
                    os.makedirs(folder, exist_ok=True)
                    write_json(os.path.join(folder, RESTORED), {"digest": digest, "record": self.record_dir})
                    write_json(os.path.join(folder, "results.json"), entry["results"])
                    write_json(os.path.join(folder, "manifest.json"), entry["manifest"])
            except RunConflict:
                continue
            restored += 1
        if added or restored:
            self.log(f"record {self.record_dir}: {added} stages added, {restored} restored")
        return added, restored

    def to_run(self) -> list[str]:
        """The stages to run, in order: those not done, and the restored stages whose artefacts one of them
        needs (through any chain of restored stages)."""
        needed = {name for name in self.stages if not self.done(name)}
        for name in reversed(self.names):  # downstream stages come later: one pass back covers chains
            if name in needed:
                needed.update(u for u in self.stages[name].upstream if self.restored(u))
        return [name for name in self.stages if name in needed]

    def prepare_folder(self, stage: str) -> None:
        """Keeps a stage's partial artefacts when they came from the same manifest (a resume), and clears
        them when they did not (a changed setting must not reuse stale checkpoints or seeds)."""
        folder, digest = self.folder(stage), self.manifest(stage)["digest"]
        marker = os.path.join(folder, "started.json")
        if os.path.isdir(folder) and (read_json(marker) or {}).get("digest") != digest:
            shutil.rmtree(folder)
        os.makedirs(folder, exist_ok=True)
        if not os.path.isfile(marker):
            write_json(marker, {"digest": digest})

    def check_order(self, names: Sequence[str]) -> None:
        unknown = sorted(set(names) - set(self.stages))
        if unknown:
            raise InputError(f"unknown stages {unknown}; stages: {list(self.stages)}")
        for name in names:
            missing = [u for u in self.stages[name].upstream if u not in names and not self.done(u)]
            if missing:
                raise JobFailed(f"stage {name} needs {missing} finished first (or run every stage)")

    def run_one(self, name: str, context: Any = None) -> dict[str, Any]:
        """Runs one stage whose upstream stages are done (or skips it when it is done itself)."""
        if self.job.agree(self.done(name) and not (self.restored(name) and name in self.to_run())):
            self.log(f"[{name}] finished earlier, skipped")
        else:
            self.log(f"[{name}] running" + (" again: a stage still to run needs its artefacts" if self.restored(name)
                                            else ""))  # fmt: skip
            if self.job.main:
                self.prepare_folder(name)  # a restored folder has no started.json: cleared, unless a resume
                for file in ("manifest.json", "results.json", RESTORED):  # (a partial run here of the recorded
                    remove(os.path.join(self.folder(name), file))  # stage): a kill now must not leave it "done"
            self.job.meet()
            started = time.time()
            results = self.stages[name].run(context if context is not None else self, self.settings_of(name))
            results["seconds"] = round(time.time() - started, 1)
            if self.job.main:
                self.finish(name, results)
            self.job.meet()
        return self.results(name)

    def run_shared(self, context: Any = None, wait_seconds: float = 2.0) -> dict[str, Any]:
        """Runs every stage, sharing the work with other processes on the same run folder (several on one
        machine, or the tasks of a cluster job array): each stage is claimed under its own lock, a stage
        another process holds or whose upstream is not done yet is passed over, and the loop comes back
        to it until every stage is done. After each stage the pass starts again from the first stage
        defined, so a stage waiting on the one just finished goes next: stages defined chain by chain
        (an arm's pre-training, then its fine-tuning runs) finish chain by chain, and a study stopped
        part-way holds whole arms rather than every arm's first stage. A process that finds nothing to
        claim waits `wait_seconds`. The processes of one torchrun job are one claimant: the main one
        claims, and all of them run what it claimed."""
        from contextlib import ExitStack

        said = None
        while True:
            with ExitStack() as held:
                name = self.job.agree(self.claim(held) if self.job.main else None)
                if name is None:
                    return {name: self.results(name) for name in self.stages}
                if name:
                    self.run_one(name, context)
                    self.log(f"{len(self.stages) - len(self.to_run())} of {len(self.stages)} stages done")
                    continue  # from the top again: what waited on this stage is ready now
            left = len(self.to_run())
            if said != left:  # said once per change, not every poll
                self.log(f"{left} stages left, held by other processes or waiting on them; waiting")
                said = left
            time.sleep(wait_seconds)

    def claim(self, held: Any) -> str | None:
        """The first stage still to run whose upstream is done and whose lock this process takes (the
        lock entered into the ExitStack `held`); "" when each of those is held by another process, None
        when no stage is left to run."""
        while True:
            pending = self.to_run()
            if not pending:
                return None
            for name in pending:
                if any(u in pending for u in self.stages[name].upstream):
                    continue
                try:
                    held.enter_context(exclusive(self.folder(name), f"stage {name}"))
                except RunConflict:
                    continue  # another process holds it
                if name in self.to_run():  # another process may have finished it meanwhile
                    return name
                held.close()
                break  # it had: look again from the top
            else:
                return ""

    def run_stages(self, names: Sequence[str] | None = None, context: Any = None) -> dict[str, Any]:
        """Runs (or skips, or resumes) the named stages in the order they were defined, holding the run
        folder's lock; `context` (default: the runner) is handed to each run function. Returns each stage's
        recorded figures."""
        chosen = [name for name in self.stages if names is None or name in names]
        self.check_order(list(names) if names is not None else chosen)
        figures = {}
        with exclusive(self.run_dir, "the run folder"):  # one job at a time per run folder
            for name in chosen:
                figures[name] = self.run_one(name, context)
        return figures
