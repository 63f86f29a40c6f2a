"""Fault injection: jobs killed with SIGKILL at random points (inside the job, including while a checkpoint is
being written) and rerun end with outputs identical to uninterrupted runs; two jobs on one output never mix.

Kill times are drawn from a seeded generator, so a failure can be replayed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from datasets import load_from_disk

from maskkit.cli.main import main
from tests.conftest import ROOT, SENTENCES, assert_same_weights, model_folder

pytestmark = pytest.mark.slow
WORKER = [sys.executable, "-m", "tests.fault_worker"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def run_to_end(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*WORKER, *arguments], cwd=ROOT, env=env or ENV, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    return done


def kill_after(delay: float, *arguments: str) -> int:
    """Starts a job, waits until its imports are done, kills it with SIGKILL `delay` seconds later."""
    job = subprocess.Popen([*WORKER, *arguments], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    assert job.stdout is not None and job.stdout.readline().strip() == "ready"
    time.sleep(delay)
    if job.poll() is None:
        job.send_signal(signal.SIGKILL)
    return job.wait(timeout=300)


def kill_until_done(delays, *arguments: str) -> list[int]:
    """Kills reruns of a job after each delay until one finishes first (exit 0); returns the exit codes. The
    first delay lands inside the job (each worker job takes over a second after its imports)."""
    codes = []
    for delay in delays:
        codes.append(kill_after(delay, *arguments))
        assert codes[-1] in (0, -signal.SIGKILL), codes
        if codes[-1] == 0:
            break
    assert codes[0] == -signal.SIGKILL
    return codes


def test_augment_killed_at_random_points_resumes_to_the_same_bytes(tmp_path):
    source = tmp_path / "in.tsv"
    rows = [f'{s} "take {i}"\t{i % 2}' for i, s in enumerate(SENTENCES * 5)]
    source.write_text("text\tlabel\n" + "\n".join(rows) + "\n")
    whole = tmp_path / "whole.jsonl"
    assert run_to_end("augment", str(source), str(whole), "2").returncode == 0
    out = tmp_path / "out.jsonl"
    draws = random.Random(0)
    codes = kill_until_done([draws.uniform(0.1, 0.8) for _ in range(4)], "augment", str(source), str(out), "2")
    if codes[-1] != 0:
        assert run_to_end("augment", str(source), str(out), "2").returncode == 0
    assert out.read_bytes() == whole.read_bytes() and not (tmp_path / "out.jsonl.parts").exists()


def test_in_domain_scoring_killed_at_random_points_resumes_to_the_same_scores(tiny_model_dir, tmp_path):
    from transformers import AutoModelForTokenClassification

    classifier = model_folder(AutoModelForTokenClassification, tiny_model_dir, tmp_path / "clf", num_labels=2)
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps([f"{s} ({i})" for i, s in enumerate(SENTENCES * 4)]))
    assert run_to_end("in_domain", str(classifier), str(texts), str(tmp_path / "whole")).returncode == 0
    draws = random.Random(1)
    kill_until_done([draws.uniform(0.05, 0.5) for _ in range(2)], "in_domain", str(classifier), str(texts),
                    str(tmp_path / "out"))  # fmt: skip
    assert run_to_end("in_domain", str(classifier), str(texts), str(tmp_path / "out")).returncode == 0
    whole, resumed = (load_from_disk(str(tmp_path / name / "dataset")) for name in ("whole", "out"))
    assert resumed["input_ids"] == whole["input_ids"] and resumed["importance"] == whole["importance"]


def test_pretraining_killed_while_writing_a_checkpoint_resumes_to_the_same_model(tiny_model_dir, tmp_path):
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps(SENTENCES * 2))
    assert run_to_end("pretrain", tiny_model_dir, str(texts), str(tmp_path / "whole")).returncode == 0
    out = tmp_path / "out"
    killed = run_to_end("pretrain", tiny_model_dir, str(texts), str(out), env={**ENV, "FAULT_KILL_IN_SAVE": "3"})
    assert killed.returncode == 137 and (out / "checkpoints" / "checkpoint-3").is_dir()  # half written
    kill_after(random.Random(2).uniform(0.5, 2.0), "pretrain", tiny_model_dir, str(texts), str(out))
    resumed = run_to_end("pretrain", tiny_model_dir, str(texts), str(out))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_weights(tmp_path / "whole", out, tiny_model_dir)


def test_two_jobs_on_one_output_never_mix(tmp_path):
    source = tmp_path / "in.tsv"
    source.write_text("text\tlabel\n" + "".join(f"{s} number {i}\t{i % 2}\n" for i, s in enumerate(SENTENCES * 25)))

    def command(seed: int, out: str) -> list[str]:
        return ["augment", str(source), out, "--method", "rd", "--p-rd", "0.3", "--seed", str(seed), "--n-aug", "2",
                "--shard-size", "1", "--overwrite", "--quiet"]  # fmt: skip

    references = []
    for seed in (1, 2):
        reference = tmp_path / f"ref{seed}.jsonl"
        assert main(command(seed, str(reference))) == 0
        references.append(reference.read_bytes())
    out = tmp_path / "out.jsonl"
    jobs = [subprocess.Popen([sys.executable, "-m", "maskkit.cli.main", *command(seed, str(out))], cwd=ROOT, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]  # fmt: skip
    results = [(job.wait(timeout=300), job.stderr.read() if job.stderr else "") for job in jobs]
    for code, err in results:
        assert code == 0 or (code == 2 and "in use by another maskkit job" in err), err
    assert any(code == 0 for code, _ in results)
    assert out.read_bytes() in references  # one job's whole output, never a mix of both
    assert not (tmp_path / "out.jsonl.parts").exists() and not (tmp_path / "out.jsonl.lock").exists()
