"""Bad input and a refusing machine give one clear line naming the file, line, key or path (exit 2), never a
traceback from deep inside: the hostile sweep's tracebacks and unclear errors, one case each."""

from __future__ import annotations

import errno
import json

import pytest

from maskkit.cli.main import main
from tests.conftest import REVIEWS as SENTENCES


def error_of(argv, capsys) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_inputs_that_are_no_table_are_named(review_table, tmp_path, capsys):
    raw = tmp_path / "stdin"  # a path without a suffix that is a file, as /dev/stdin is
    raw.write_text("text\nhello\n")
    assert "cannot tell the format of the input" in error_of(["augment", str(raw), str(tmp_path / "o.tsv")], capsys)
    folder = tmp_path / "notadataset"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    assert "not a datasets save_to_disk folder" in error_of(["augment", str(folder), str(tmp_path / "o.tsv")], capsys)
    assert "must name a file or folder" in error_of(["augment", str(review_table), "."], capsys)


def test_text_that_is_not_utf8_is_named_by_line(review_table, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"first line\nsecond caf\xe9 line\n")
    assert "bad.txt, line 2, byte 11: not UTF-8" in error_of(["pmi", str(bad), str(tmp_path / "lex.txt")], capsys)
    assert "line 2, byte 11: not UTF-8" in error_of(["preview", "--file", str(bad)], capsys)
    err = error_of(
        ["augment", str(review_table), str(tmp_path / "o.tsv"), "--method", "sr", "--synonyms", str(bad)], capsys
    )
    assert "synonym dictionary" in err and "line 2" in err
    rows = tmp_path / "rows.tsv"
    rows.write_bytes(b"text\tlabel\nfine\t1\nalso fine\t0\nsmart \x93quotes\x94\t1\n")
    assert "rows.tsv, line 4, byte 7: not UTF-8" in error_of(["augment", str(rows), str(tmp_path / "o.tsv")], capsys)


def test_a_lone_surrogate_in_jsonl_is_refused_with_its_line(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "fine"}) + "\n" + '{"text": "bad \\ud800 here"}\n')
    assert "in.jsonl, line 2: a lone surrogate" in error_of(["augment", str(source), str(tmp_path / "o.jsonl")], capsys)
    assert not (tmp_path / "o.jsonl.parts").exists()


def test_a_strength_is_named_as_the_user_gave_it(review_table, tmp_path, capsys):
    err = error_of(["augment", str(review_table), str(tmp_path / "o.tsv"), "--method", "rd", "--p-rd", "2"], capsys)
    assert "--p-rd must be in [0, 1], got 2.0" in err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--optim", "fastest"], "optim 'fastest' is not an optimizer transformers knows"),
        (["--max-length", "200"], "max_length 200 is longer than the model takes (128 positions)"),
        (["--pooling", "concat_cls", "--last-k", "10"], "last_k 10 asks for more layers than the encoder's 2"),
    ],
)
def test_settings_the_model_cannot_take_are_named(tiny_model_dir, tmp_path, capsys, option, message):
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\n" + "".join(f"{s}\t{i % 2}\n" for i, s in enumerate(SENTENCES * 4)))
    argv = ["finetune", "--model", tiny_model_dir, "--train", str(train), "--max-steps", "1",
            "--run-dir", str(tmp_path / "run"), *option]  # fmt: skip
    assert message in error_of(argv, capsys)


def test_a_run_folder_that_is_a_file_and_two_corpora_with_one_name(tiny_model_dir, tmp_path, capsys):
    corpus_a, corpus_b = tmp_path / "a", tmp_path / "b"
    for folder in (corpus_a, corpus_b):
        folder.mkdir()
        (folder / "domain.txt").write_text("\n".join(SENTENCES * 3) + "\n")
    afile = tmp_path / "afile"
    afile.write_text("mine")
    base = ["pretrain", "--model", tiny_model_dir, "--max-steps", "1", "--batch-size", "2", "--no-progress"]
    err = error_of([*base, "--texts", str(corpus_a / "domain.txt"), "--run-dir", str(afile)], capsys)
    assert "a file is in the way" in err and "afile" in err and afile.read_text() == "mine"
    err = error_of([*base, "--texts", str(corpus_a / "domain.txt"), str(corpus_b / "domain.txt"),
                    "--run-dir", str(tmp_path / "pt")], capsys)  # fmt: skip
    assert "would both be the stage 'domain'" in err


def test_a_truncated_metrics_file_is_named_by_report(tmp_path, capsys):
    run = tmp_path / "run" / "seed-1"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text('{"dev": {"accuracy": 0.5')
    assert "metrics.json is not valid JSON" in error_of(["report", str(tmp_path / "run")], capsys)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "out/full.tsv"),
            "no space left on the device at 'out/full.tsv'",
        ),
        (PermissionError(errno.EROFS, "Read-only file system", "rodir/pt.lock"), "the file system is read-only"),
        (RuntimeError("basic_ios::clear: iostream error"), "no space left on the device (or the write failed)"),
    ],
)
def test_the_machines_refusals_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys, error, message):
    import maskkit.cli.preview as preview

    def refused(args):
        raise error

    monkeypatch.setattr(preview, "run", refused)
    assert main(["preview", "--text", "x"]) == 2
    err = capsys.readouterr().err
    assert message in err and "run the same command again" in err and "Traceback" not in err

    def bug(args):
        raise RuntimeError("an index went wrong")

    monkeypatch.setattr(preview, "run", bug)
    with pytest.raises(RuntimeError, match="an index went wrong"):
        main(["preview", "--text", "x"])


def test_a_stray_rank_without_a_torchrun_job_still_takes_the_lock(monkeypatch, tmp_path):
    from maskkit.errors import RunConflict
    from maskkit.runs.files import exclusive

    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with exclusive(tmp_path / "out", "the output"):
        with pytest.raises(RunConflict):
            with exclusive(tmp_path / "out", "the output"):
                pass


def test_a_full_disk_during_a_table_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    from maskkit.runs.tables import TableWriter

    writer = TableWriter(tmp_path / "out.tsv", ["text"])
    writer.write({"text": "a row"})

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer._file, "close", full)
    writer.abort()
    assert not list(tmp_path.iterdir())


def test_settings_files_read_back_whatever_they_hold(tiny_model_dir, tmp_path):
    """A run folder's config.toml with a path of any characters reads back (JSON's surrogate escapes were
    not TOML), so the same command resumes and --config RUN_DIR/config.toml repeats the run."""
    folder = tmp_path / "ünï cödé 😀 dir"
    folder.mkdir()
    corpus = folder / "small file.txt"
    corpus.write_text("\n".join(SENTENCES * 3) + "\n")
    run = tmp_path / "run 😀"
    argv = ["pretrain", "--model", tiny_model_dir, "--texts", str(corpus), "--run-dir", str(run), "--max-steps", "1",
            "--batch-size", "2", "--no-progress"]  # fmt: skip
    assert main(argv) == 0 and main(argv) == 0
    assert main(["pretrain", "--config", str(run / "config.toml"), "--no-progress"]) == 0


def test_a_model_folder_without_weights_or_with_truncated_ones_is_named(tiny_model_dir, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES * 3) + "\n")
    base = ["pretrain", "--texts", str(corpus), "--max-steps", "1", "--batch-size", "2", "--no-progress"]
    err = error_of([*base, "--model", str(broken), "--run-dir", str(tmp_path / "a")], capsys)
    assert "holds a truncated or corrupt weights file" in err and "broken-model" in err
    weights.unlink()
    err = error_of([*base, "--model", str(broken), "--run-dir", str(tmp_path / "b")], capsys)
    assert "cannot be loaded" in err and "broken-model" in err
