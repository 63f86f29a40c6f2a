"""Packing documents into full blocks: nothing lost, words whole across joins, documents apart on request."""

from __future__ import annotations

import pytest
from datasets import Dataset

from maskkit import Tokenize
from maskkit.training.packing import PackBlocks, document_words, pack_blocks
from tests.conftest import SENTENCES

DOCUMENTS = [" ".join(SENTENCES[i : i + k]) for i, k in ((0, 3), (3, 1), (4, 4), (1, 2), (6, 2))] * 3


def tokenised(tokenizer, texts=DOCUMENTS):
    return Dataset.from_dict({"text": texts}).map(Tokenize(tokenizer), batched=True, remove_columns=["text"])


@pytest.mark.parametrize("cross", [True, False])
@pytest.mark.parametrize("block_size", [8, 16, 64])
def test_blocks_hold_every_token_in_order_with_words_whole(wordpiece, cross, block_size):
    data = tokenised(wordpiece)
    blocks = pack_blocks(data, PackBlocks(wordpiece, block_size, cross_documents=cross), batch_size=7)
    specials = set(wordpiece.all_special_ids)
    documents = [document_words(i, w) for i, w in zip(data["input_ids"], data["word_ids"])]
    # the round trip: the blocks' words, separators aside, are the documents' words in order
    packed = []
    for ids, words in zip(blocks["input_ids"], blocks["word_ids"]):
        assert len(ids) <= block_size and ids[0] == wordpiece.cls_token_id and ids[-1] == wordpiece.sep_token_id
        assert len(words) == len(ids)
        packed.extend(document_words(ids, words))
        content = [t for t, w in zip(ids, words) if w is not None]
        assert not set(content) & specials
    expected = [unit for doc in documents for unit in doc]
    long_words = [u for u in expected if len(u) > block_size - 2]
    if not long_words:  # no word is cut: each block holds whole words
        assert packed == expected
        assert sum(blocks["split_words"]) == 0
    assert [t for u in packed for t in u] == [t for u in expected for t in u]
    if not cross and not long_words:  # each block is a run of one document's words
        document, position = 0, 0
        for ids, words in zip(blocks["input_ids"], blocks["word_ids"]):
            units = document_words(ids, words)
            if position == len(documents[document]):
                document, position = document + 1, 0
            assert units == documents[document][position : position + len(units)]
            position += len(units)
    elif cross:  # full blocks: all but each batch's last are nearly full
        lengths = [len(ids) for ids in blocks["input_ids"]]
        assert sum(lengths) / len(lengths) > 0.6 * block_size or len(lengths) <= 4


def test_whole_word_masking_of_packed_blocks_keeps_words_whole(wordpiece):
    import numpy as np

    from maskkit import MaskingCollator, WholeWordSelector

    blocks = pack_blocks(tokenised(wordpiece), PackBlocks(wordpiece, 24))
    rows = [{"input_ids": i, "word_ids": w} for i, w in zip(blocks["input_ids"], blocks["word_ids"])]
    out = MaskingCollator(wordpiece, WholeWordSelector(0.4), return_tensors="np")(rows)
    for k, row in enumerate(rows):
        targets = out["labels"][k][: len(row["input_ids"])] != -100
        for word in set(w for w in row["word_ids"] if w is not None):
            chosen = {bool(targets[p]) for p, w in enumerate(row["word_ids"]) if w == word}
            assert len(chosen) == 1, "a word was masked in part"
        assert not targets[np.array([w is None for w in row["word_ids"]])].any()


def test_a_word_longer_than_a_block_is_cut_and_counted(wordpiece):
    data = Dataset.from_dict({"input_ids": [[2, *range(10, 30), 3]], "word_ids": [[None, *[0] * 20, None]]})
    blocks = pack_blocks(data, PackBlocks(wordpiece, 8))
    assert sum(blocks["split_words"]) >= 1
    assert [t for ids in blocks["input_ids"] for t in ids[1:-1]] == list(range(10, 30))


def test_bad_input_is_named(wordpiece):
    with pytest.raises(KeyError, match="word_ids"):
        PackBlocks(wordpiece, 16)({"input_ids": [[1, 2]]})
    with pytest.raises(ValueError, match="no room"):
        PackBlocks(wordpiece, 3)({"input_ids": [[1]], "word_ids": [[0]]})


def test_packing_reads_arrow_columns_and_slices_of_them_as_python_lists(wordpiece):
    """The packer reads a batch's list columns through arrow: Python lists, arrow arrays and a slice of
    one (whose offsets do not start at 0) give the same blocks."""
    import pyarrow as pa

    data = Tokenize(wordpiece)({"text": SENTENCES})
    stage = PackBlocks(wordpiece, 32)
    ids = pa.array(data["input_ids"], type=pa.list_(pa.int32()))
    words = pa.array(data["word_ids"], type=pa.list_(pa.int32()))
    sliced = stage({"input_ids": ids.slice(2), "word_ids": words.slice(2)})
    assert sliced == stage({"input_ids": data["input_ids"][2:], "word_ids": data["word_ids"][2:]})
    assert stage({"input_ids": ids, "word_ids": words}) == stage(data)
