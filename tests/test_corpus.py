"""Corpora at scale: files and globs read byte for byte, memory-mapped or streamed to the same blocks, cached
tokenisation, shards that split a corpus between processes, and bad input counted instead of crashing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskkit.errors import InputError, MissingFile, MissingKey
from maskkit.training.corpus import corpus_blocks, load_corpus
from tests.conftest import SENTENCES

LINES = [
    "plain words",
    "  leading and trailing spaces kept  ",
    "tabs\tinside",
    "unicode: café, naïve, 東京, emoji 🙂",
    "a final backslash \\",
]


def texts(corpus):
    return [row["text"] for row in corpus.dataset]


def quiet(*_):
    return None


def test_every_line_round_trips_byte_for_byte_apart_from_its_ending(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes("\n".join(LINES[:2]).encode() + b"\r\n" + "\n".join(LINES[2:]).encode() + b"\n")
    corpus = load_corpus([str(path)], cache_dir=str(tmp_path / "cache"), log=quiet)
    assert texts(corpus) == LINES
    assert corpus.report.documents == len(LINES) and not corpus.report.skipped


def test_bad_lines_are_counted_with_the_first_place_and_never_crash(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good one\n\n   \n\xff\xfe latin junk\nnul\x00inside\ngood two\nno newline at the end")
    (tmp_path / "empty.txt").write_bytes(b"")
    said = []
    corpus = load_corpus([str(tmp_path / "*.txt")], cache_dir=str(tmp_path / "cache"), log=said.append)
    assert texts(corpus) == ["good one", "good two", "no newline at the end"]
    report = corpus.report
    assert report.skipped == {"empty": 2, "not-utf8": 1, "binary": 1}
    assert report.first == {"empty": f"{path}, line 2", "not-utf8": f"{path}, line 4", "binary": f"{path}, line 5"}
    assert report.unterminated == [str(path)] and report.empty_files == [str(tmp_path / "empty.txt")]
    text = "\n".join(said)
    assert "skipped 2 empty" in text and "no newline at its end" in text and "empty.txt is empty" in text


def test_a_corpus_with_nothing_to_read_is_refused_by_name(tmp_path):
    with pytest.raises(MissingFile, match="nothing-\\*"):
        load_corpus([str(tmp_path / "nothing-*.txt")], log=quiet)
    with pytest.raises(MissingFile, match="absent.txt"):
        load_corpus([str(tmp_path / "absent.txt")], log=quiet)
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(InputError, match="no document"):
        load_corpus([str(tmp_path / "blank.txt")], cache_dir=str(tmp_path / "cache"), log=quiet)


def test_chunks_read_every_line_once_with_its_number(tmp_path):
    path = tmp_path / "c.txt"
    lines = [f"line {i} " + "x" * (i % 7) for i in range(1, 301)]
    path.write_bytes(("\n".join(lines[:150]) + "\n\n" + "\n".join(lines[150:]) + "\n").encode())
    whole = load_corpus([str(path)], cache_dir=str(tmp_path / "a"), log=quiet)
    chunked = load_corpus([str(path)], cache_dir=str(tmp_path / "b"), log=quiet, chunk_bytes=100)
    assert texts(chunked) == texts(whole) == lines
    assert chunked.report.first == {"empty": f"{path}, line 151"}
    stream = load_corpus([str(path)], streaming=True, chunk_bytes=100, log=quiet)
    assert stream.dataset.n_shards > 20


def test_blank_line_documents(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("first doc, line one\nline two\n\n\nsecond doc\n\xa0\nthird\n")
    corpus = load_corpus([str(path)], documents="blank-line", cache_dir=str(tmp_path / "cache"), log=quiet)
    assert texts(corpus) == ["first doc, line one\nline two", "second doc", "third"]


def test_table_files_give_their_text_column_and_count_bad_rows(tmp_path):
    import pandas as pd

    jsonl = [{"body": "json one"}, {"body": ""}, {"body": 7}, {"body": "json two"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in jsonl))
    pd.DataFrame({"body": ["csv one", None, "csv two"]}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"body": ["tsv, with a comma"]}).to_csv(tmp_path / "c.tsv", sep="\t", index=False)
    pd.DataFrame({"body": ["parquet one"]}).to_parquet(tmp_path / "d.parquet")
    (tmp_path / "e.txt").write_text("text line\n")
    files = [str(tmp_path / name) for name in ("a.jsonl", "b.csv", "c.tsv", "d.parquet", "e.txt")]
    corpus = load_corpus(files, text_column="body", cache_dir=str(tmp_path / "cache"), log=quiet)
    assert texts(corpus) == ["json one", "json two", "csv one", "csv two", "tsv, with a comma", "parquet one",
                             "text line"]  # fmt: skip
    assert corpus.report.skipped == {"empty": 2, "not-text": 1}
    assert corpus.report.first["not-text"] == f"{files[0]}, row 2"
    with pytest.raises(MissingKey, match=r"a\.jsonl.*'body'"):
        load_corpus(files[:1], text_column="text", cache_dir=str(tmp_path / "cache"), log=quiet)


def corpus_file(tmp_path, copies=4):
    path = tmp_path / "domain.txt"
    documents = [" ".join(SENTENCES[i : i + 1 + i % 3]) for i in range(len(SENTENCES))] * copies
    long_line = " ".join(SENTENCES)  # longer than a block of 32 tokens
    path.write_text("\n".join([*documents, long_line, "", "tail"]) + "\n")
    return path


def rows(blocks):
    return [(row["input_ids"], row["word_ids"]) for row in blocks]


@pytest.mark.parametrize("packing", ["full", "document"])
def test_streaming_gives_the_blocks_memory_mapping_gives(tmp_path, wordpiece, packing):
    path = corpus_file(tmp_path)
    mapped = corpus_blocks(load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet), wordpiece, 32, packing)
    streamed = corpus_blocks(load_corpus([str(path)], streaming=True, chunk_bytes=200, log=quiet), wordpiece, 32,
                             packing)  # fmt: skip
    assert rows(streamed) == rows(mapped) and len(mapped) > 10
    assert all(len(ids) <= 32 for ids, _ in rows(mapped))


def test_blocks_hold_every_document_token_in_order(tmp_path, wordpiece):
    path = corpus_file(tmp_path)
    corpus = load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet)
    blocks = corpus_blocks(corpus, wordpiece, 32)
    content = [t for ids, _ in rows(blocks) for t in ids if t not in wordpiece.all_special_ids]
    expected = [t for text in texts(corpus) for t in wordpiece(text, add_special_tokens=False)["input_ids"]]
    assert content == expected
    document = corpus_blocks(corpus, wordpiece, 32, packing="document")
    assert len(document) > len(texts(corpus)) > len(blocks)  # the long line continues, never cut off


def test_a_rerun_reads_the_cache_instead_of_tokenising_again(tmp_path, wordpiece, monkeypatch):
    from maskkit.dataset_stages import Tokenize

    path = corpus_file(tmp_path)
    first = corpus_blocks(load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet), wordpiece, 32)
    calls = []
    original = Tokenize.__call__
    monkeypatch.setattr(Tokenize, "__call__", lambda self, batch: calls.append(1) or original(self, batch))
    again = corpus_blocks(load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet), wordpiece, 32)
    assert rows(again) == rows(first) and calls == []
    assert again.cache_files and again.cache_files[0]["filename"] == first.cache_files[0]["filename"]
    with open(path, "a") as f:  # a changed file is read and tokenised again
        f.write("one more line\n")
    changed = corpus_blocks(load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet), wordpiece, 32)
    assert calls and rows(changed) != rows(first)


def test_two_processes_read_disjoint_shards_that_cover_the_corpus(tmp_path):
    from datasets.distributed import split_dataset_by_node

    path = corpus_file(tmp_path)
    stream = load_corpus([str(path)], streaming=True, chunk_bytes=150, log=quiet).dataset
    assert stream.n_shards >= 4
    parts = [[r["text"] for r in split_dataset_by_node(stream, rank, 2)] for rank in (0, 1)]
    assert parts[0] and parts[1]
    assert sorted(parts[0] + parts[1]) == sorted(r["text"] for r in stream)
    mapped = load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet).dataset
    assert sorted(parts[0] + parts[1]) == sorted(mapped["text"])


def test_parallel_tokenising_equals_one_process(tmp_path, wordpiece):
    path = corpus_file(tmp_path, copies=40)
    corpus = load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet)
    one = corpus_blocks(corpus, wordpiece, 32, packing="document")
    two = corpus_blocks(corpus, wordpiece, 32, packing="document", num_proc=2)
    assert rows(two) == rows(one)


def test_chinese_words_stay_whole_across_block_joins(tmp_path, chinese_tokenizer):
    import jieba

    path = tmp_path / "zh.txt"
    lines = ["我们在北京大学学习自然语言处理", "今天天气很好，我们去公园散步吧", "机器学习模型需要大量的训练数据"] * 5
    path.write_text("\n".join(lines) + "\n")
    blocks = corpus_blocks(load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet), chinese_tokenizer, 16)
    words = {w for line in lines for w in jieba.lcut(line)}
    for ids, word_ids in rows(blocks):
        pieces: dict[int, list[int]] = {}
        for token, word in zip(ids, word_ids):
            if word is not None:
                pieces.setdefault(word, []).append(token)
        for tokens in pieces.values():
            assert chinese_tokenizer.decode(tokens).replace(" ", "") in words


def test_pretraining_on_a_stream_needs_a_step_count(tmp_path, wordpiece):
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    blocks = corpus_blocks(load_corpus([str(corpus_file(tmp_path))], streaming=True, log=quiet), wordpiece, 32)
    with pytest.raises(InputError, match="max_steps"):
        further_pretrain(None, wordpiece, blocks, None, PretrainConfig(output_dir=str(tmp_path / "run")))


def test_in_domain_scoring_and_label_free_selection_read_a_corpus_shard_by_shard(tmp_path, tiny_model_dir, monkeypatch):
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    from maskkit.selective.in_domain import score_in_domain
    from maskkit.selective.label_free import LabelFreeSelection, label_free_importance

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    path = tmp_path / "domain.txt"
    path.write_text("\n".join([*SENTENCES, "", *SENTENCES[:3]]) + "\n")
    corpus = load_corpus([str(path)], cache_dir=str(tmp_path / "c"), log=quiet).dataset
    lines = path.read_text().splitlines()
    classifier = AutoModelForTokenClassification.from_pretrained(tiny_model_dir, num_labels=2)
    listed = score_in_domain(classifier, tokenizer, lines, str(tmp_path / "a"), 32, shard_size=4, progress=False)
    mapped = score_in_domain(classifier, tokenizer, corpus, str(tmp_path / "b"), 32, shard_size=4, progress=False)
    assert mapped.dataset["input_ids"] == listed.dataset["input_ids"] and mapped.rows == len(lines) - 1
    flat = [np.concatenate(result.dataset["importance"]) for result in (mapped, listed)]
    assert np.allclose(flat[0], flat[1], atol=1e-6)

    task = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    whole = label_free_importance(task, tokenizer, corpus, 32, log=quiet)
    sharded = label_free_importance(task, tokenizer, corpus, 32, log=quiet, output_dir=str(tmp_path / "lf"),
                                    shard_size=3, progress=False)  # fmt: skip
    assert sharded["input_ids"] == whole["input_ids"] and len(whole) == len(lines) - 1
    assert np.allclose(np.concatenate(sharded["importance"]), np.concatenate(whole["importance"]), atol=1e-5)
    monkeypatch.setattr(LabelFreeSelection, "__call__", lambda *a: pytest.fail("a finished shard was scored again"))
    again = label_free_importance(task, tokenizer, corpus, 32, log=quiet, output_dir=str(tmp_path / "lf"),
                                  shard_size=3, progress=False)  # fmt: skip
    assert again["input_ids"] == sharded["input_ids"]


def test_soft_labels_a_chunk_at_a_time_equal_all_at_once(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from maskkit.distill.soft_labels import generate_soft_labels
    from maskkit.training.classify import FinetuneConfig
    from maskkit.training.data import prepare_classification
    from tests.conftest import LABELLED

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    splits, _ = prepare_classification({"train": LABELLED}, tokenizer, FinetuneConfig(output_dir="unused"), log=quiet)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)
    whole = generate_soft_labels(model, splits["train"], tokenizer, progress=False)
    chunked = generate_soft_labels(model, splits["train"], tokenizer, progress=False, chunk_rows=3)
    assert np.allclose(chunked["soft_labels"], whole["soft_labels"], atol=1e-5)
