"""The runs layer: stages as objects, manifests built from their declared settings, skip, rerun, resume."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest

from maskkit.runs.stages import Stage, StageRunner, UndeclaredSetting


@dataclass(frozen=True)
class Settings:
    corpus: str
    size: int = 3
    scale: int = 10
    seed: int = 1
    progress: bool = False


def make_stages(calls: list[str]) -> tuple[Stage, ...]:
    def count(run, c):
        calls.append("count")
        words = open(c.corpus, encoding="utf-8").read().split()[: c.size]
        with open(f"{run.folder('count')}/words.json", "w", encoding="utf-8") as f:
            json.dump(words, f)
        return {"words": len(words)}

    def scaled(run, c):
        calls.append("scaled")
        return {"value": run.results("count")["words"] * c.scale}

    return (
        Stage("count", ("corpus", "size"), count, files=("corpus",)),
        Stage("scaled", ("scale",), scaled, upstream=("count",)),
    )


def runner(tmp_path, settings, calls):
    return StageRunner(str(tmp_path / "run"), settings, make_stages(calls), log=lambda _: None)


def test_stages_skip_when_their_manifest_matches_and_rerun_downstream_of_a_change(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e\n")
    calls: list[str] = []
    settings = Settings(str(corpus))
    assert runner(tmp_path, settings, calls).run_stages()["scaled"]["value"] == 30
    assert runner(tmp_path, settings, calls).run_stages()["scaled"]["value"] == 30
    assert calls == ["count", "scaled"]  # the second run skipped both
    # a setting only the second stage reads reruns it alone
    assert runner(tmp_path, replace(settings, scale=2), calls).run_stages()["scaled"]["value"] == 6
    assert calls == ["count", "scaled", "scaled"]
    # an undeclared setting changes nothing (no stage reads it)
    runner(tmp_path, replace(settings, scale=2, seed=9), calls).run_stages()
    assert calls == ["count", "scaled", "scaled"]
    # the file's contents count: a changed corpus reruns the first stage and, through its digest, the second
    corpus.write_text("a b\n")
    assert runner(tmp_path, replace(settings, scale=2), calls).run_stages()["scaled"]["value"] == 4
    assert calls[-2:] == ["count", "scaled"]


def test_a_stage_reading_an_undeclared_setting_fails_at_once(tmp_path):
    def sloppy(run, c):
        return {"seed": c.seed}  # not among its reads: the manifest would miss it

    stage = Stage("sloppy", ("size",), sloppy)
    run = StageRunner(str(tmp_path / "run"), Settings("x"), [stage], log=lambda _: None)
    with pytest.raises(UndeclaredSetting, match=r"'sloppy' read the setting 'seed'"):
        run.run_stages()
    assert run.settings_of("sloppy").progress is False  # display settings are handed to every stage


def test_a_stage_needing_an_unfinished_upstream_stage_is_refused(tmp_path):
    from maskkit.errors import JobFailed

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b\n")
    with pytest.raises(JobFailed, match=r"scaled needs \['count'\]"):
        runner(tmp_path, Settings(str(corpus)), []).run_stages(["scaled"])


def test_a_died_stage_resumes_its_artefacts_only_under_the_same_manifest(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c\n")
    run = runner(tmp_path, Settings(str(corpus)), [])
    run.prepare_folder("count")
    partial = tmp_path / "run" / "count" / "partial.bin"
    partial.write_bytes(b"half")
    run.prepare_folder("count")  # same settings: a resume keeps it
    assert partial.exists()
    runner(tmp_path, Settings(str(corpus), size=2), []).prepare_folder("count")  # other settings: cleared
    assert not partial.exists()


def test_stage_definitions_are_checked():
    def noop(run, c):
        return {}

    with pytest.raises(ValueError, match="needs"):
        StageRunner("unused", Settings("x"), [Stage("b", (), noop, upstream=("a",))])
    with pytest.raises(ValueError, match="among its reads"):
        Stage("a", ("size",), noop, files=("corpus",))


def test_the_old_import_paths_are_gone():
    """The deprecation aliases of 0.3's moves were removed before any release was tagged (CHANGELOG.md)."""
    import importlib

    for old in ("maskkit.finetune", "maskkit.trainer", "maskkit.runfiles", "maskkit.tables", "maskkit.stages",
                "maskkit.checkpoints", "maskkit.moved"):  # fmt: skip
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)


def test_renamed_selector_combinator_warns_and_is_the_same_class():
    import maskkit
    from maskkit.masking.compose import OneOfSelectors

    with pytest.warns(DeprecationWarning, match="OneOfSelectors"):
        assert maskkit.OneOf is OneOfSelectors


def test_a_record_restores_finished_stages_in_a_new_folder_and_reruns_only_what_a_stage_to_run_needs(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e\n")
    settings, calls = Settings(str(corpus)), []
    record = str(tmp_path / "record")

    def fresh(folder, settings=settings):
        return StageRunner(str(tmp_path / folder), settings, make_stages(calls), log=lambda _: None, record_dir=record)

    assert fresh("first").run_shared()["scaled"]["value"] == 30
    files = sorted(p.relative_to(tmp_path / "record").parts[0] for p in (tmp_path / "record").rglob("*.json"))
    assert files == ["count", "scaled"]  # one file per stage and digest, no artefacts
    # a new checkout: nothing runs, the figures come back
    second = fresh("second")
    assert second.sync_record() == (0, 2)
    assert second.to_run() == [] and second.restored("count")
    assert second.run_shared()["scaled"]["value"] == 30
    assert calls == ["count", "scaled"]
    # a changed setting downstream is a new digest: it runs, and its restored upstream runs again for its files
    third = fresh("third", replace(settings, scale=2))
    assert third.sync_record() == (0, 1)
    assert third.to_run() == ["count", "scaled"]
    assert third.run_shared()["scaled"]["value"] == 6
    assert calls == ["count", "scaled", "count", "scaled"]
    assert (tmp_path / "third" / "count" / "words.json").is_file() and not third.restored("count")
    # the older result is kept beside the new one, never overwritten
    assert len(list((tmp_path / "record" / "scaled").glob("*.json"))) == 2
    assert fresh("fourth").sync_record() == (0, 2)
    # a folder holding a partial run of a recorded stage resumes it when needed, and is then its own
    fifth = fresh("fifth", replace(settings, scale=3))
    fifth.prepare_folder("count")
    assert fifth.sync_record() == (0, 1) and fifth.restored("count")
    assert fifth.run_shared()["scaled"]["value"] == 9
    assert not fifth.restored("count") and fifth.to_run() == []


class Killed(Exception):
    pass


def test_a_rerun_of_a_recorded_stage_killed_twice_is_never_taken_for_finished(tmp_path):
    """A recorded stage run again for its artefacts and killed part-way, then restored and resumed and
    killed again, runs once more: its restored figures never make a partial folder look finished."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e\n")
    settings, calls = Settings(str(corpus)), []
    record = str(tmp_path / "record")
    kills = [0]
    count, scaled = make_stages(calls)

    def killable(run, c):
        if kills[0]:
            kills[0] -= 1
            with open(f"{run.folder('count')}/partial.bin", "w", encoding="utf-8") as f:
                f.write("half")
            raise Killed
        return count.run(run, c)

    stages = (replace(count, run=killable), scaled)

    def fresh(folder, settings=settings):  # a new process: it restores what the record holds first
        runner = StageRunner(str(tmp_path / folder), settings, stages, log=lambda _: None, record_dir=record)
        runner.sync_record()
        return runner

    assert fresh("first").run_shared()["scaled"]["value"] == 30
    changed = replace(settings, scale=2)  # the downstream stage runs: its recorded upstream runs again
    for _ in range(2):  # the first kill, then a restore, a resume and a second kill
        kills[0] = 1
        with pytest.raises(Killed):
            fresh("second", changed).run_shared()
        assert fresh("second", changed).to_run() == ["count", "scaled"]
    resumed = fresh("second", changed)
    assert resumed.run_shared()["scaled"]["value"] == 6
    assert (tmp_path / "second" / "count" / "words.json").is_file() and not resumed.restored("count")
    assert calls == ["count", "scaled", "count", "scaled"]


def test_a_process_started_while_another_reruns_a_recorded_stage_leaves_that_stage_to_it(tmp_path):
    """A second process joining the folder while the first runs a recorded stage again (for its
    artefacts, its figures removed until it ends) must not restore the record's figures under it: the
    fresh artefacts would count as restored, and be made once more for the stage downstream."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c d e\n")
    settings, calls, joined = Settings(str(corpus)), [], []
    record = str(tmp_path / "record")
    count, scaled = make_stages(calls)

    def with_a_process_joining(run, c):
        if not joined and "second" in run.run_dir:  # one process joins the new checkout, once
            joiner = StageRunner(run.run_dir, run.settings, stages, log=lambda _: None, record_dir=record)
            joined.append(joiner.sync_record())
        return count.run(run, c)

    stages = (replace(count, run=with_a_process_joining), scaled)

    def fresh(folder, settings):
        return StageRunner(str(tmp_path / folder), settings, stages, log=lambda _: None, record_dir=record)

    assert fresh("first", settings).run_shared()["scaled"]["value"] == 30
    second = fresh("second", replace(settings, scale=2))  # a new checkout, the downstream stage changed
    assert second.sync_record() == (0, 1) and second.to_run() == ["count", "scaled"]
    assert second.run_shared()["scaled"]["value"] == 6
    assert joined == [(0, 0)]  # the joining process restored nothing while count was running
    assert not second.restored("count") and second.to_run() == []
    assert calls == ["count", "scaled", "count", "scaled"]  # count made once for the new checkout, not twice


def test_shared_running_finishes_stages_chain_by_chain_in_the_order_they_are_defined(tmp_path):
    order: list[str] = []

    def step(run, c):
        order.append(c.stage_name)
        return {}

    stages = [Stage("pretrain/a", (), step), Stage("finetune/a", (), step, upstream=("pretrain/a",)),
              Stage("pretrain/b", (), step), Stage("finetune/b", (), step, upstream=("pretrain/b",))]  # fmt: skip
    said: list[str] = []
    StageRunner(str(tmp_path / "run"), Settings("unused"), stages, log=said.append).run_shared()
    assert order == ["pretrain/a", "finetune/a", "pretrain/b", "finetune/b"]
    assert [line for line in said if "stages done" in line] == [f"{k} of 4 stages done" for k in range(1, 5)]


def test_only_a_specs_own_parameters_are_user_errors_a_bug_while_building_keeps_its_traceback():
    from maskkit.errors import UserError
    from maskkit.registry import REGISTRY, from_dict, register

    @register("maskkit.test_broken_builder.v1", "augmenter")
    def broken(alpha: float = 0.1) -> None:
        return len(alpha)  # a bug: TypeError from inside the builder

    try:
        with pytest.raises(UserError, match="unexpected keyword argument 'alpah'.*its parameters: alpha"):
            from_dict({"@component": "maskkit.test_broken_builder.v1", "alpah": 0.2})
        with pytest.raises(TypeError) as raised:
            from_dict({"@component": "maskkit.test_broken_builder.v1", "alpha": 0.2})
        assert not isinstance(raised.value, UserError)
    finally:
        del REGISTRY["maskkit.test_broken_builder.v1"]


def test_progress_lines_time_what_is_left_from_this_process_steps(monkeypatch, capsys):
    """A resumed run starts at step 2000 of 3000: what is left comes from the steps this process ran."""
    from maskkit import progress

    clock = iter([0.0, 0.0, 100.0, 100.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    monkeypatch.setenv(progress.INTERVAL_VARIABLE, "0")
    lines = progress.ProgressLines(3000, "training", "steps", initial=2000)
    lines.update(10)  # 10 steps in 100 s: 990 left take 9,900 s
    assert "2010/3000 steps (67%), 100 s, about 9900 s left" in capsys.readouterr().err
