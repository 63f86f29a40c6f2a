"""The one output-ownership rule: a command replaces an existing output only with --overwrite and only when
maskkit wrote it; an output is never one of the inputs; and what a table format cannot hold is refused or
written as JSON text, never converted lossily in silence."""

from __future__ import annotations

import json

import pytest

from maskkit.cli.main import main
from maskkit.runs.files import OUTPUT_MARKER, check_output
from maskkit.runs.tables import read_table
from tests.conftest import REVIEWS as SENTENCES


def augment(source, out, *extra):
    return main(["augment", str(source), str(out), "--method", "rd", "--n-aug", "1", "--quiet", *extra])


def test_overwrite_never_replaces_a_folder_of_the_users(review_table, tmp_path, capsys):
    keep = tmp_path / "keep"
    (keep / "sub").mkdir(parents=True)
    (keep / "precious.txt").write_text("mine")
    (keep / "sub" / "notes.txt").write_text("also mine")
    assert augment(review_table, keep, "--overwrite") == 2
    assert "maskkit did not write" in capsys.readouterr().err
    assert (keep / "precious.txt").read_text() == "mine" and (keep / "sub" / "notes.txt").read_text() == "also mine"
    assert not (tmp_path / "keep.parts").exists()


def test_overwrite_replaces_an_output_maskkit_wrote_and_nothing_else(review_table, tmp_path, capsys):
    folder, tsv = tmp_path / "augmented", tmp_path / "augmented.tsv"
    assert augment(review_table, folder) == 0 and (folder / OUTPUT_MARKER).is_file()
    assert augment(review_table, tsv) == 0
    assert augment(review_table, folder, "--seed", "3") == 2 and "pass --overwrite" in capsys.readouterr().err
    assert augment(review_table, folder, "--seed", "3", "--overwrite") == 0  # its own output: replaced
    assert augment(review_table, tsv, "--seed", "3", "--overwrite") == 0
    mine = tmp_path / "mine.tsv"
    mine.write_text("text\tlabel\nmy own table\t1\n")
    assert augment(review_table, mine, "--overwrite") == 2  # a table without maskkit's provenance columns
    assert mine.read_text() == "text\tlabel\nmy own table\t1\n"


def test_an_output_is_never_an_input(review_table, tmp_path, capsys):
    before = review_table.read_bytes()
    assert augment(review_table, review_table, "--overwrite") == 2
    assert "is also an input" in capsys.readouterr().err and review_table.read_bytes() == before


def test_pmi_never_writes_over_its_input_nor_a_forgotten_out(tmp_path, capsys):
    corpus, other = tmp_path / "corpus.txt", tmp_path / "b.txt"
    corpus.write_text("new york city is big\n" * 20)
    other.write_text("los angeles is far\n" * 20)
    before = corpus.read_bytes(), other.read_bytes()
    assert main(["pmi", str(corpus), str(corpus), "--min-count", "2"]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert main(["pmi", str(corpus), str(other), "--min-count", "2"]) == 2  # OUT forgotten: b.txt is no lexicon
    assert main(["pmi", str(corpus), str(other), "--min-count", "2", "--overwrite"]) == 2
    assert "maskkit did not write" in capsys.readouterr().err
    assert (corpus.read_bytes(), other.read_bytes()) == before
    lexicon = tmp_path / "lexicon.txt"
    assert main(["pmi", str(corpus), str(other), str(lexicon), "--min-count", "2"]) == 0
    assert main(["pmi", str(corpus), str(lexicon), "--min-count", "2"]) == 2  # exists: --overwrite needed
    assert main(["pmi", str(corpus), str(lexicon), "--min-count", "2", "--overwrite"]) == 0


def test_the_demo_never_deletes_a_folder_it_did_not_write(tmp_path, capsys):
    pretrained = tmp_path / "pretrained"
    pretrained.mkdir()
    (pretrained / "thesis.tex").write_text("years of work")
    assert main(["demo", "--output-dir", str(tmp_path), "--steps", "1", "--finetune-epochs", "0"]) == 2
    assert "maskkit did not write" in capsys.readouterr().err
    assert (pretrained / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize("out", [".", "..", "dir/"])
def test_an_output_must_name_something_to_write(tmp_path, out, capsys):
    with pytest.raises(ValueError, match="must name a file or folder"):
        check_output(out, overwrite=True)


def test_jsonl_to_csv_writes_json_text_and_refuses_null_beside_empty(tmp_path, capsys):
    rows = [
        {"text": "one fine movie", "meta": {"a": 1, "b": [1, 2]}, "flag": True, "note": None},
        {"text": "two dull movies", "meta": {"a": 2, "b": []}, "flag": False, "note": None},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.csv"
    assert augment(source, out) == 0
    written = read_table(out)
    originals = [r for r in written.to_list() if r["aug_method"] == "original"]
    assert [json.loads(r["meta"]) for r in originals] == [r["meta"] for r in rows]  # JSON text, not a repr
    assert [r["flag"] for r in originals] == ["true", "false"]
    rows[1]["note"] = ""  # a null and an empty text in one column: CSV cannot tell them apart
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert augment(mixed, tmp_path / "mixed.csv") == 2
    assert "column 'note' holds null (row 0) and an empty text" in capsys.readouterr().err
    assert not (tmp_path / "mixed.csv").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--weight-decay", "inf"], "weight_decay must be a finite number >= 0"),
        (["--lr", "nan"], "lr must be a finite number > 0"),
        (["--seeds", "-1"], "seed must be a whole number from 0 to 4294967295"),
        (["--seeds", "4294967296"], "seed must be a whole number from 0 to 4294967295"),
    ],
)
def test_settings_that_would_break_a_model_are_refused(tiny_model_dir, tmp_path, capsys, option, message):
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\n" + "".join(f"{s}\t{i % 2}\n" for i, s in enumerate(SENTENCES * 4)))
    command = ["finetune", "--model", str(tiny_model_dir), "--train", str(train), "--dev", str(train),
               "--max-steps", "1", "--run-dir", str(tmp_path / "run"), *option]  # fmt: skip
    assert main(command) == 2
    assert message in capsys.readouterr().err


def test_an_edited_corpus_or_table_is_a_changed_setting_never_the_old_result(tiny_model_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES * 3) + "\n")
    command = ["pretrain", "--model", str(tiny_model_dir), "--texts", str(corpus), "--run-dir", str(tmp_path / "pt"),
               "--max-steps", "1", "--batch-size", "2", "--max-length", "16", "--no-progress"]  # fmt: skip
    assert main(command) == 0
    weights = (tmp_path / "pt" / "corpus" / "model.safetensors").read_bytes()
    assert main(command) == 0  # the same corpus: the finished run stands
    corpus.write_text("\n".join(reversed(SENTENCES * 5)) + "\n")
    capsys.readouterr()
    assert main(command) == 2
    assert "the content of texts" in capsys.readouterr().err
    assert (tmp_path / "pt" / "corpus" / "model.safetensors").read_bytes() == weights  # nothing relabelled
    assert main([*command, "--rerun"]) == 0
    assert "discarding the earlier run" in capsys.readouterr().out


def test_a_refused_setting_leaves_nothing_that_blocks_the_corrected_rerun(review_table, tmp_path, capsys):
    out = tmp_path / "out.tsv"
    assert main(["augment", str(review_table), str(out), "--method", "sr", "--alpha-sr", "-0.5", "--quiet"]) == 2
    assert main(["augment", str(review_table), str(out), "--method", "rd", "--n-aug", "100000000", "--quiet"]) == 2
    assert "--n-aug must be from 1 to 1000" in capsys.readouterr().err
    assert augment(review_table, out) == 0  # no stale OUT.parts refuses the corrected command
    parts = tmp_path / "other.tsv.parts"
    parts.mkdir()
    (parts / "mine.txt").write_text("not maskkit's")
    assert augment(review_table, tmp_path / "other.tsv") == 2 and (parts / "mine.txt").is_file()


def test_an_input_inside_the_output_folder_is_never_deleted_with_it(review_table, tmp_path, capsys):
    out = tmp_path / "augmented"
    assert augment(review_table, out) == 0
    inside = out / "my-input.tsv"
    inside.write_bytes(review_table.read_bytes())
    assert augment(inside, out, "--overwrite") == 2
    assert "is inside the output" in capsys.readouterr().err and inside.is_file()
