"""`maskkit augment`: formats, refusing to overwrite, counted skips, and a kill-and-resume run."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from maskkit.cli.main import main
from maskkit.runs.tables import read_table
from tests.conftest import ROOT

ROWS = [("The movie was not good.", 0), ("A great film with great actors!", 1), ("", 0), ("Boring, boring plot.", 0)]


@pytest.fixture()
def files(tmp_path):
    thesaurus = tmp_path / "syn.txt"
    thesaurus.write_text("movie film picture\ngood fine decent\ngreat terrific\nboring dull tedious\n")
    tsv = tmp_path / "in.tsv"
    tsv.write_text("text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in ROWS * 5))
    return tmp_path, thesaurus, tsv


def args(*extra, synonyms):
    return ["augment", *extra, "--synonyms", str(synonyms), "--quiet"]


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".jsonl", ""])
def test_augment_writes_every_format_with_provenance(files, suffix, capsys):
    tmp, thesaurus, tsv = files
    out = tmp / f"out{suffix}"
    assert main(args(str(tsv), str(out), "--n-aug", "2", "--shard-size", "7", synonyms=thesaurus)) == 0
    table = read_table(out)
    assert set(table.column_names) == {"text", "label", "source_row", "aug_method", "aug_index"}
    report = capsys.readouterr().out
    augmented = int(re.search(r"\((\d+) augmented\)", report).group(1))
    repeats = int(re.search(r"identical to their source or an earlier one: (\d+)", report).group(1))
    assert augmented + repeats == 15 * 2 and augmented >= 15  # two asked of each of the 15 rows with text
    assert len(table) == 20 + augmented  # every original, and each augmentation that is one
    assert "rows without text, not augmented: 5" in report and "rows in: 20" in report
    assert not (tmp / f"out{suffix}.parts").exists()
    assert main(args(str(tsv), str(out), synonyms=thesaurus)) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_back_translation_with_local_seq2seq_models(files, tmp_path):
    from tests.test_neural_translate import tiny_marian_folder

    tmp, _, tsv = files
    model = tiny_marian_folder(tmp_path / "marian")
    out = tmp / "bt.jsonl"
    assert main(["augment", str(tsv), str(out), "--method", "bt", "--n-aug", "2", "--pivot", "de",
                 "--bt-models", model, model, "--quiet"]) == 0  # fmt: skip
    table = read_table(out)
    assert set(table["aug_method"]) <= {"original", "backtranslate", "no text"}
    assert (tmp / "bt.jsonl.translations.sqlite").exists()


def test_bad_input_gets_one_clear_line(files, capsys):
    tmp, thesaurus, tsv = files
    assert main(args(str(tmp / "missing.tsv"), str(tmp / "o.tsv"), synonyms=thesaurus)) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(args(str(tsv), str(tmp / "o.tsv"), "--text-column", "sentence", synonyms=thesaurus)) == 2
    assert "no 'sentence' column" in capsys.readouterr().err
    assert main(args(str(tsv), str(tmp / "nowhere" / "o.tsv"), synonyms=thesaurus)) == 2
    assert "nowhere' does not exist: create it first" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_run_resumes_without_loss_or_duplicates(files):
    tmp, thesaurus, tsv = files
    options = args(str(tsv), "", synonyms=thesaurus)[3:]  # what follows IN and OUT

    def run(out, kill=0, extra=()):  # the fault injection lives in the tests (tests/fault_worker.py)
        cmd = [sys.executable, "-m", "tests.fault_worker", "augment_cli", str(kill), str(tsv), str(out), *options,
               "--shard-size", "3", *extra]  # fmt: skip
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)

    whole = run(tmp / "whole.jsonl")
    assert whole.returncode == 0, whole.stderr
    killed = run(tmp / "resumed.jsonl", kill=2)
    assert killed.returncode == 137 and not (tmp / "resumed.jsonl").exists()
    assert len(list((tmp / "resumed.jsonl.parts").glob("shard-*.jsonl"))) == 2
    other = run(tmp / "resumed.jsonl", extra=["--seed", "5"])
    assert other.returncode == 2 and "unfinished job" in other.stderr
    resumed = run(tmp / "resumed.jsonl")
    assert resumed.returncode == 0 and "(2 resumed from an earlier run)" in resumed.stdout
    lines = lambda p: [json.loads(x) for x in p.read_text().splitlines()]  # noqa: E731
    assert lines(tmp / "resumed.jsonl") == lines(tmp / "whole.jsonl")


def test_augment_takes_any_registered_augmenter_as_a_spec(files, capsys):
    """--augmenter names a component spec (here a keyed choice of two EDA operations): the job writes what
    the same augmenter built in code writes."""
    from maskkit.augment import OneOf, RandomDelete, RandomSwap
    from maskkit.augment.job import run_augment_job
    from maskkit.cli.config import toml_value
    from maskkit.registry import to_dict

    tmp, _, tsv = files
    augmenter = OneOf([RandomSwap(0.3, seed=1), RandomDelete(0.3, seed=2)], weights=[1, 2], seed=3)
    spec_file = tmp / "augmenter.toml"
    spec_file.write_text(f"augmenter = {toml_value(to_dict(augmenter))}\n")
    out, in_code = tmp / "out.jsonl", tmp / "in_code.jsonl"
    assert main(["augment", str(tsv), str(out), "--augmenter", str(spec_file), "--n-aug", "2", "--quiet"]) == 0
    run_augment_job(str(tsv), augmenter, in_code, {"method": "code"}, n_aug=2, progress=False)
    got, expected = read_table(out).to_list(), read_table(in_code).to_list()
    assert got == expected and any(r["aug_index"] >= 0 for r in got)
    assert main(["augment", str(tsv), str(tmp / "x.jsonl"), "--augmenter", str(tsv)]) == 2  # not TOML
    assert "config file" in capsys.readouterr().err


def test_aug_p_is_the_four_eda_strengths_and_help_maps_textattack_and_nlpaug(files, capsys):
    tmp, thesaurus, tsv = files
    one, four = tmp / "one.jsonl", tmp / "four.jsonl"
    assert main(args(str(tsv), str(one), "--aug-p", "0.3", "--n-aug", "2", synonyms=thesaurus)) == 0
    strengths = [f"--{n}" for n in ("alpha-sr", "alpha-ri", "alpha-rs", "p-rd")]
    assert main(args(str(tsv), str(four), *[x for s in strengths for x in (s, "0.3")], "--n-aug", "2",
                     synonyms=thesaurus)) == 0  # fmt: skip
    assert one.read_bytes() == four.read_bytes()
    assert main(args(str(tsv), str(tmp / "rd.jsonl"), "--method", "rd", "--aug-p", "0.3", synonyms=thesaurus)) == 2
    assert "--aug-p sets EDA's four strengths" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["augment", "--help"])
    shown = capsys.readouterr().out
    assert "--transformations-per-example N" in shown and "naw.SynonymAug" in shown and ".augment(text" in shown
