"""A study's [base]: one general-corpus pre-training stage that every arm, the baseline included, starts
from; recorded and restored like any stage, and a new stage when its corpus changes."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from maskkit.cli.main import main
from tests.conftest import SENTENCES
from tests.test_study import ARMS, study_file


def with_base(path, tmp_path, steps=2):
    general = tmp_path / "general"
    general.mkdir(exist_ok=True)
    (general / "train-00.txt").write_text("\n\n".join(" ".join(SENTENCES[i : i + 3]) for i in range(0, 12, 3)) + "\n")
    (tmp_path / "heldout.txt").write_text(" ".join(SENTENCES[-4:]) + "\n")
    held_out = tmp_path / "heldout.txt"
    table = ["[base]", f'texts = ["{general}/train-*.txt"]', f'eval_texts = "{held_out}"',
             f'domain_eval_texts = "{tmp_path / "domain.txt"}"', f"steps = {steps}", "curve = [1]",
             "batch_size = 2", "max_length = 32", "head_warmup_steps = 1", "save_steps = 1",
             "eval_blocks = 4"]  # fmt: skip
    text = path.read_text()
    head, arms = text.split("[[arms]]", 1)
    path.write_text(head + "\n".join(table) + "\n[[arms]]" + arms)
    return general / "train-00.txt"


@pytest.mark.slow
def test_every_arm_starts_from_the_one_recorded_base_and_a_changed_corpus_is_a_new_base(
    tiny_model_dir, tmp_path, capsys
):
    record = tmp_path / "record"
    path = study_file(tmp_path, tiny_model_dir, [ARMS[0], '[[arms]]\nname = "token"\npretrain = { scheme = "token" }'])
    path.write_text(f'record = "{record}"\n' + path.read_text())
    corpus = with_base(path, tmp_path)
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.count("[base] running") == 1
    study = tmp_path / "study"
    base = json.loads((study / "base" / "results.json").read_text())
    assert base["steps"] == 2 and set(base["curve"]) == {"0", "1", "2"}
    # each curve point is measured and logged as the run reaches it, so a stopped run keeps its points
    measured = json.loads((study / "base" / "curve.json").read_text())
    assert set(measured) == {"0", "1"} and measured["1"] == base["curve"]["1"]
    assert re.search(r"base: step 1 held-out fixed-mask loss general \d+\.\d{3}", out)
    assert set(base["loss_before"]) == {"general", "domain"} and base["loss_after"] == base["curve"]["2"]
    assert len(base["fill_mask"]) == 10 and all(len(top) == 5 for top in base["fill_mask"].values())
    digest = json.loads((study / "base" / "manifest.json").read_text())["digest"]
    for run in ("finetune/none/seed-1", "finetune/token/seed-2", "pretrain/token"):
        manifest = json.loads((study / run / "manifest.json").read_text())
        assert manifest["settings"]["start_model"] == "base" and manifest["upstream"]["base"] == digest
    sample = json.loads((study / "data" / "seed-1" / "manifest.json").read_text())
    assert "base" not in sample["upstream"]  # the sample reads no model
    # a new checkout restores the base from the record; an edited corpus is a new base, and new runs
    shutil.rmtree(study)
    assert main(["study", "plan", str(path)]) == 0
    total, done = map(int, re.search(r"(\d+) stages in all, (\d+) done", capsys.readouterr().out).groups())
    assert done == total  # every stage, the base included, restored from the record
    corpus.write_text(corpus.read_text() + "\nA new document in the general corpus.\n")
    assert main(["study", "plan", str(path)]) == 0
    total, done = map(int, re.search(r"(\d+) stages in all, (\d+) done", capsys.readouterr().out).groups())
    assert done == total - 1  # the base is new (what starts from it names its digest: it follows when it has run)
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    ran = re.findall(r"\[(\S+)\] running", capsys.readouterr().out)
    assert "base" in ran and "pretrain/token" in ran and "finetune/none/seed-1" in ran


def test_a_base_table_with_a_misspelt_key_or_no_corpus_is_refused(tiny_model_dir, tmp_path, capsys):
    path = study_file(tmp_path, tiny_model_dir, [ARMS[0]])
    with_base(path, tmp_path)
    path.write_text(path.read_text().replace("curve = [1]", "curv = [1]"))
    assert main(["study", "plan", str(path)]) == 2
    assert "[base]: unknown key 'curv' (did you mean 'curve'?)" in capsys.readouterr().err
    path.write_text(path.read_text().replace("curv = [1]", "curve = [5]"))
    assert main(["study", "plan", str(path)]) == 2
    assert "curve must list steps between 0 and its 2 steps" in capsys.readouterr().err


@pytest.mark.slow
def test_an_out_of_domain_arm_reads_only_its_own_corpus_sampled_and_packed_like_the_domain_arm(
    tiny_model_dir, tmp_path
):
    general = tmp_path / "general.txt"
    general.write_text("".join(f"General line number {i} about rivers and mountains.\n" for i in range(40)))
    arms = [ARMS[0], '[[arms]]\nname = "dapt"\npretrain = { scheme = "word" }',
            f'[[arms]]\nname = "mlm-general"\npretrain = {{ scheme = "word", corpus = "{general}" }}']  # fmt: skip
    path = study_file(tmp_path, tiny_model_dir, arms, top=["in_domain_limit = 6"], pretrain=['packing = "full"'])
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    study = tmp_path / "study"
    own = (study / "data" / "corpus-general" / "lines.txt").read_text().splitlines()
    domain = (study / "data" / "in-domain" / "lines.txt").read_text().splitlines()
    assert len(own) == len(domain) == 6
    assert set(own) <= set(general.read_text().splitlines()) and not set(own) & set(domain)
    manifest = json.loads((study / "pretrain" / "mlm-general" / "manifest.json").read_text())
    assert manifest["settings"]["in_domain"] == str(general) and manifest["settings"]["settings"]["packing"] == "full"
    assert manifest["upstream"].keys() == {"data/corpus-general"}
    dapt = json.loads((study / "pretrain" / "dapt" / "results.json").read_text())
    assert dapt["texts"][0] < 6  # six short lines packed into fewer full blocks
