"""Words from the tokenizer: vocabulary word-start tables (WordPiece, BPE, SentencePiece) and Chinese."""

from __future__ import annotations

import numpy as np
import pytest

from maskkit import MaskingCollator, Tokenize, VocabTables, WholeWordSelector, as_features, jieba_segmenter
from maskkit.masking.words import word_ids_from_offsets, word_spans
from tests.conftest import SENTENCES

CHINESE = [
    "这家酒店的服务态度非常好，房间也很干净。",
    "我们住了三天，早餐品种太少，不推荐。",
    "北京大学的图书馆藏书丰富，环境安静。",
]


def table_words(tables: VocabTables, ids: list[int]) -> list[int | None]:
    """Word index per token from the vocabulary table (None for specials)."""
    starts = tables.starts_word(np.asarray([ids]))[0]
    out, word = [], -1
    for pos, token_id in enumerate(ids):
        if tables.special[token_id]:
            out.append(None)
            continue
        if starts[pos] or pos == 0 or out[-1] is None:
            word += 1
        out.append(word)
    return out


def test_wordpiece_table_matches_the_tokenizers_own_words(minilm_tokenizer, real_sentences):
    tables = VocabTables.from_tokenizer(minilm_tokenizer)
    for text in real_sentences[:200]:
        enc = minilm_tokenizer(text)
        ours = table_words(tables, enc["input_ids"])
        theirs = enc.word_ids()
        # the same partition of tokens into words (word numbering may differ)
        assert [a is None for a in ours] == [b is None for b in theirs]
        pairs = {(a, b) for a, b in zip(ours, theirs) if a is not None}
        assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})


@pytest.mark.parametrize("name", ["bpe", "unigram"])
def test_bpe_and_sentencepiece_tables_group_whole_pretokenizer_words(name, request):
    tokenizer = request.getfixturevalue(name)
    tables = VocabTables.from_tokenizer(tokenizer)
    kind, _ = tables.word_table
    assert kind == "starts"
    for text in SENTENCES:
        enc = tokenizer(text)
        ours = table_words(tables, enc["input_ids"])
        theirs = enc.word_ids()
        # a table word is a whitespace word: it may join punctuation, but never splits a tokenizer word
        for b in theirs:
            if b is not None:
                assert len({x for x, y in zip(ours, theirs) if y == b}) == 1
        n_space_words = len(text.split())
        assert len({w for w in ours if w is not None}) == n_space_words


def test_word_ids_column_overrides_the_table(wordpiece):
    ids = wordpiece("quick brown fox")["input_ids"]
    one_word = [None, 0, 0, 0, None]  # declare the three tokens one word
    out = MaskingCollator(wordpiece, selector=WholeWordSelector(1.0), return_tensors="np")(
        [{"input_ids": ids, "word_ids": one_word}]
    )
    assert (out["labels"][0][1:4] != -100).all()
    vocab_only = MaskingCollator(wordpiece, selector=WholeWordSelector(0.3), word_source="vocab", return_tensors="np")
    assert "word_ids" not in vocab_only([{"input_ids": ids, "word_ids": one_word}])


def test_segmenter_word_ids_map_through_offsets():
    text = "我爱 北京 tokenization!"
    spans = word_spans(text, ["我", "爱", " ", "北京", " ", "tokenization", "!"])
    assert [text[a:b] for a, b in spans] == ["我", "爱", "北京", "tokenization", "!"]
    offsets = [(0, 0), (0, 1), (1, 2), (3, 4), (4, 5), (6, 11), (11, 18), (18, 19), (0, 0)]
    special = [True, False, False, False, False, False, False, False, True]
    assert word_ids_from_offsets(offsets, spans, special) == [None, 0, 1, 2, 2, 3, 3, 4, None]
    with pytest.raises(ValueError, match="not in the text"):
        word_spans("abc", ["x"])


def test_chinese_whole_word_masking_masks_jieba_words(chinese_tokenizer):
    stage = Tokenize(chinese_tokenizer, segmenter=jieba_segmenter)
    feats = as_features(stage({"text": CHINESE}))
    collator = MaskingCollator(
        chinese_tokenizer, selector=WholeWordSelector(0.3), word_source="column", return_tensors="np"
    )
    masked_words = 0
    for epoch in range(5):
        collator.set_epoch(epoch)
        out = collator(feats)
        for i, f in enumerate(feats):
            words = f["word_ids"]
            target = out["labels"][i] != -100
            for w in {w for w in words if w is not None}:
                positions = [p for p, x in enumerate(words) if x == w]
                assert len({bool(target[p]) for p in positions}) == 1
                masked_words += bool(target[positions[0]]) and len(positions) > 1
    assert masked_words > 0, "no multi-character word was ever masked"
    # a multi-character jieba word really is several tokens
    words = jieba_segmenter(CHINESE[2])
    assert "北京大学" in words or "北京" in words


def test_tokenize_segments_chinese_by_default_and_characters_only_on_request(chinese_tokenizer, minilm_tokenizer):
    auto = Tokenize(chinese_tokenizer)({"text": CHINESE[2:]})["word_ids"][0]
    jieba = Tokenize(chinese_tokenizer, segmenter=jieba_segmenter)({"text": CHINESE[2:]})["word_ids"][0]
    characters = Tokenize(chinese_tokenizer, segmenter=None)({"text": CHINESE[2:]})["word_ids"][0]
    assert auto == jieba and auto[1:5] == [0, 0, 0, 0]  # 北京大学 is one word
    assert characters[1:5] == [0, 1, 2, 3]
    english = "The movie's plot, unbelievably, works."
    assert Tokenize(minilm_tokenizer)({"text": [english]})["word_ids"] == [minilm_tokenizer(english).word_ids()]
    with pytest.raises(ValueError, match="segmenter must be"):
        Tokenize(chinese_tokenizer, segmenter="jieba")


def test_chinese_without_word_ids_is_refused_not_masked_by_character(chinese_tokenizer):
    feats = [{"input_ids": chinese_tokenizer(t)["input_ids"]} for t in CHINESE]
    with pytest.raises(ValueError, match="Chinese.*word_ids.*jieba"):
        MaskingCollator(chinese_tokenizer, selector=WholeWordSelector())(feats)
    MaskingCollator(chinese_tokenizer, selector=WholeWordSelector(), word_source="vocab")(feats)


def test_transformers_whole_word_masking_takes_whole_clauses(chinese_tokenizer):
    """The anchor's known flaw that maskkit avoids: a run of CJK characters is one 'word' there."""
    import warnings

    from transformers import DataCollatorForLanguageModeling

    warnings.filterwarnings("ignore", "Random token replacement is not supported", UserWarning)
    anchor = DataCollatorForLanguageModeling(chinese_tokenizer, whole_word_mask=True, mlm_probability=0.3, seed=0)
    longest = 0
    for _ in range(10):
        enc = chinese_tokenizer(CHINESE, padding=True, return_offsets_mapping=True)
        out = anchor([{"input_ids": i, "offset_mapping": o} for i, o in zip(enc["input_ids"], enc["offset_mapping"])])
        for row in (out["labels"] != -100).int().tolist():
            run = best = 0
            for x in row:
                run = run + 1 if x else 0
                best = max(best, run)
            longest = max(longest, best)
    assert longest >= 8  # a clause of 8+ characters masked together; no jieba word here is that long
