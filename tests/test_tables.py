"""Tables on disk: every text round-trips byte for byte in every format, files written the usual way (pandas)
read as they were meant, and bad input named by file, line and column."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from datasets import Dataset

from maskkit.errors import InputError
from maskkit.runs.tables import TableWriter, read_table, scan_table, write_table
from tests.conftest import DATA

TRICKY = [
    'he said "hi" \\ ok',
    '"starts with a quote" and goes on',
    "a tab\there",
    "a newline\nhere",
    "windows\r\nline end inside",
    "a lone\rcarriage return",
    "\ufeffa byte order mark first",
    "emoji 😀, accents é, 中文",
    "  spaces around  ",
    "comma, inside; semicolon",
    "backslash-n \\n literal, backslash-t \\t",
    "",
]
ONE_LINE = [t for t in TRICKY if not any(c in t for c in "\t\r\n")]
# pandas leaves a lone carriage return unquoted (its writer ends lines with "\n"), which no reader, its own
# included, can read back; maskkit quotes it (test above)
PANDAS_SAFE = [t for t in TRICKY if "\r" not in t.replace("\r\n", "")]


def table(texts):
    return Dataset.from_dict({"text": texts, "label": [str(i % 2) for i in range(len(texts))]})


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.jsonl", "folder"])
def test_every_format_round_trips_any_text(tmp_path, name):
    path = tmp_path / name
    write_table(table(TRICKY), path)
    back = read_table(path)
    assert back["text"] == TRICKY and back["label"] == table(TRICKY)["label"]
    if name != "folder":  # and what maskkit reads, it writes back to the same bytes
        again = tmp_path / f"again-{name}"
        write_table(back, again)
        assert again.read_bytes() == path.read_bytes()


def test_raw_tsv_is_a_named_option(tmp_path):
    path = tmp_path / "raw.tsv"
    write_table(table(ONE_LINE), path, tsv="raw")
    assert read_table(path, tsv="raw")["text"] == ONE_LINE
    assert '"starts with a quote" and goes on\t' in path.read_text(encoding="utf-8")  # no quoting at all
    with pytest.raises(InputError, match=r"row 2, column 'text': raw TSV cannot hold a tab"):
        write_table(table(TRICKY), tmp_path / "bad.tsv", tsv="raw")
    assert not (tmp_path / "bad.tsv").exists() and not list(tmp_path.glob("bad.tsv.tmp*"))


@pytest.mark.parametrize("sep", [",", "\t"])
def test_files_pandas_writes_read_as_written_and_back(tmp_path, sep):
    path = tmp_path / ("p.csv" if sep == "," else "p.tsv")
    pd.DataFrame({"text": PANDAS_SAFE, "label": list(range(len(PANDAS_SAFE)))}).to_csv(path, sep=sep, index=False)
    read = read_table(path)
    assert read["text"] == PANDAS_SAFE and read["label"] == [str(i) for i in range(len(PANDAS_SAFE))]
    ours = tmp_path / ("o.csv" if sep == "," else "o.tsv")
    write_table(read, ours)
    assert ours.read_bytes() == path.read_bytes()  # the same dialect, the same line ends
    back = pd.read_csv(ours, sep=sep, keep_default_na=False, dtype=str)
    assert list(back["text"]) == PANDAS_SAFE


def test_lines_end_as_the_platform_writes_them(tmp_path):
    write_table(table(ONE_LINE), tmp_path / "t.tsv")
    write_table(table(ONE_LINE), tmp_path / "t.jsonl")
    tsv, jsonl = (tmp_path / "t.tsv").read_bytes(), (tmp_path / "t.jsonl").read_bytes()
    assert tsv.count(os.linesep.encode()) == len(ONE_LINE) + 1
    assert b"\r" not in jsonl and jsonl.count(b"\n") == len(ONE_LINE)


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufefftext\tlabel\nfine\t1\n".encode())
    assert read_table(path).column_names == ["text", "label"]


def test_blank_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"}\n   \n')
    source = scan_table(path)
    assert source.num_rows == 2 and source.blank_lines == 2 and [r["text"] for r in source.rows()] == ["a", "b"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("dup.tsv", "text\tlabel\ttext\na\t1\tb\n", r"column 'text' appears twice in the header \(columns 1 and 3\)"),
        ("ragged.tsv", "text\tlabel\na\t1\nb\t0\textra\n", r"ragged.tsv, line 3: 3 fields where the header has 2"),
        ("short.csv", "text,label\na,1\nb\n", r"short.csv, line 3: 1 fields where the header has 2"),
        ("list.jsonl", '{"text": "a"}\n[1, 2]\n', r"list.jsonl, line 2: a JSON list, not an object"),
        ("broken.jsonl", '{"text": "a"}\n{"text": \n', r"broken.jsonl, line 2: not valid JSON"),
        ("twice.jsonl", '{"text": "a", "text": "b"}\n', r"twice.jsonl, line 1: key 'text' appears more than once"),
        (
            "mixed.jsonl",
            '{"text": "a"}\n{"text": null}\n{"text": 5}\n',
            r"column 'text' mixes str \(line 1\) and number",
        ),
        ("quote.csv", 'text,label\n"never closed,1\n', r"quote.csv, line \d+"),
        ("raw.tsv", 'text\tlabel\n"a quote" then text\t1\n', r"raw.tsv, line 2: .*read it with tsv='raw'"),
    ],
)
def test_bad_tables_name_the_file_line_and_column(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_other_unreadable_tables(tmp_path):
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("text\tlabel\ncaf\xe9\t1\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin.tsv, line 2, byte 4: not UTF-8"):
        read_table(latin)
    empty = tmp_path / "empty.tsv"
    empty.write_text("text\tlabel\n")
    with pytest.raises(InputError, match="holds no rows"):
        read_table(empty)
    with pytest.raises(InputError, match="cannot tell the format"):
        TableWriter(tmp_path / "out.txt", ["text"])


def test_a_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError), TableWriter(out, ["text"]) as writer:
        writer.write({"text": "half"})
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not (DATA / "mr" / "train.tsv").is_file(), reason="../shared/data is not beside the project")
def test_real_files_with_quotes_read_as_pandas_reads_them():
    """MR's training texts that hold a quote (written quoted, with doubled quotes) reach maskkit as pandas
    reads them, not with the quoting characters inside the text."""
    path = DATA / "mr" / "train.tsv"
    ours = read_table(path)["text"]
    theirs = list(pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str)["text"])
    assert ours == theirs
    quoted = [t for t in ours if '"' in t]
    assert len(quoted) > 100 and not any('""' in t for t in quoted)
