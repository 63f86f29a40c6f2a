"""Whole words across tokenizer families: maskkit's words never cut a word of the tokenizer's own.

Each family is built here (WordPiece, byte-level BPE with and without a prefix space, SentencePiece
Unigram and BPE with `<unk>` pieces, suffix-marked BPE) and checked against its own `word_ids()` on text
that mixes Latin (accented), Cyrillic and Chinese: Chinese runs become jieba's words, every other word
stays the tokenizer's, an `<unk>` piece inside a word does not cut it, no content token loses its word.
"""

from __future__ import annotations

import re

import jieba
import pytest

from maskkit import MaskingCollator, SpanSelector, Tokenize, VocabTables, WholeWordSelector, as_features
from maskkit.augment.text import split_tokens
from tests.conftest import SENTENCES, WORDS

MIXED = [
    "东京 antidisestablishmentarianism and tokenization",
    "a naïve word from São Paulo, Ångström and Привет мир",
    "Molière loved 北京大学的图书馆 unbelievably",
    "这家酒店的服务 tokenization 非常好，unbelievably 干净。",
]
LATIN = [t for t in MIXED if not re.search("[\u4e00-\u9fff]", t)] + SENTENCES[:4]
CORPUS = SENTENCES * 20 + [" ".join(WORDS)] * 5 + ["and a word from the movie loved"] * 5
SPECIALS = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>"]
IDEOGRAPH = re.compile("[\u4e00-\u9fff]")


def _wrap(tok):
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok.post_processor = processors.TemplateProcessing(
        single="<cls> $A <sep>",
        special_tokens=[("<cls>", tok.token_to_id("<cls>")), ("<sep>", tok.token_to_id("<sep>"))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, cls_token="<cls>", sep_token="<sep>", unk_token="<unk>", pad_token="<pad>",
        mask_token="<mask>", model_max_length=512,
    )  # fmt: skip


def build(family: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if family.startswith("byte-level"):
        tok = Tokenizer(models.BPE(unk_token=None))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=family.endswith("prefix-space"))
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=420, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )  # fmt: skip
    elif family == "sentencepiece-unigram":
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(
            vocab_size=200, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False
        )
    elif family == "sentencepiece-bpe":
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=SPECIALS, show_progress=False)
    else:  # suffix-marked BPE (CLIP, the original subword-nmt)
        tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.decoder = decoders.BPEDecoder(suffix="</w>")
        trainer = trainers.BpeTrainer(
            vocab_size=200, special_tokens=SPECIALS, end_of_word_suffix="</w>", show_progress=False
        )
    tok.train_from_iterator(CORPUS, trainer)
    return _wrap(tok)


FAMILIES = ["byte-level", "byte-level-prefix-space", "sentencepiece-unigram", "sentencepiece-bpe", "suffix-bpe"]


@pytest.fixture(scope="module", params=[*FAMILIES, "wordpiece"])
def family(request, minilm_tokenizer):
    return minilm_tokenizer if request.param == "wordpiece" else build(request.param)


def token_facts(tokenizer, text):
    """Per token: its tokenizer word, whether it shows a Chinese character, the jieba word holding it."""
    enc = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
    jieba_words = []  # (start, end) of each jieba word inside each run of ideographs
    for run in re.finditer("[\u4e00-\u9fff]+", text):
        at = run.start()
        for word in jieba.lcut(run.group()):
            jieba_words.append((at, at + len(word)))
            at += len(word)
    facts = []
    chinese_seen = 0  # a tokenizer word interrupted by Chinese (byte-level "abc东京def") is two stretches
    for (begin, end), word, special in zip(enc["offset_mapping"], enc.word_ids(), enc["special_tokens_mask"]):
        piece = text[begin:end]
        first = begin + len(piece) - len(piece.lstrip()) if piece.strip() else end  # "▁" goes with what follows
        chinese = bool(IDEOGRAPH.match(text[first : first + 1])) if end > begin else False
        holder = next((k for k, (a, b) in enumerate(jieba_words) if a <= first < b), None) if chinese else None
        chinese_seen += chinese
        facts.append(((word, chinese_seen), chinese, holder, bool(special)))
    return enc["input_ids"], facts


def test_the_families_hold_the_cases_under_test():
    """The families really produce what the other tests are about: multi-piece words, `<unk>` inside a
    word, and offsets that start at the space before a word."""
    unigram, byte_level = build("sentencepiece-unigram"), build("byte-level")
    pieces = unigram.convert_ids_to_tokens(unigram("naïve")["input_ids"])
    assert "<unk>" in pieces and pieces.index("<unk>") < len(pieces) - 2  # a piece follows the <unk>
    enc = byte_level(MIXED[0], return_offsets_mapping=True)
    assert any(MIXED[0][a] == " " and b - a > 1 for a, b in enc["offset_mapping"])
    assert len(byte_level(" antidisestablishmentarianism")["input_ids"]) > 4


def test_word_ids_keep_each_tokenizer_word_and_take_jiebas_words_for_chinese(family):
    for text in MIXED:
        ids, facts = token_facts(family, text)
        ours = Tokenize(family)({"text": [text]})["word_ids"][0]
        assert len(ours) == len(ids)
        for mine, fact in zip(ours, facts):
            assert (mine is None) == fact[3], f"a content token lost its word in {text!r}: {ours}"
        latin = {}  # tokenizer word -> our ids of its non-Chinese tokens
        chinese_words = {}  # jieba word -> our ids
        for mine, (word, chinese, holder, special) in zip(ours, facts):
            if special:
                continue
            if chinese:
                chinese_words.setdefault(holder, set()).add(mine)
            else:
                latin.setdefault(word, set()).add(mine)
        groups = [*latin.values(), *chinese_words.values()]
        assert all(len(g) == 1 for g in groups), f"a word is cut in {text!r}: {latin} {chinese_words}"
        assert len({next(iter(g)) for g in groups}) == len(groups), f"two words share an id in {text!r}"


def assert_whole_words(tokenizer, texts, collator, rounds=12):
    """Every tokenizer word (outside Chinese runs) is masked whole or not at all; returns how many
    multi-piece words were masked."""
    masked_multi = 0
    for epoch in range(rounds):
        collator.set_epoch(epoch)
        feats = (
            as_features(Tokenize(tokenizer)({"text": texts}))
            if collator.word_source != "vocab"
            else [{"input_ids": tokenizer(t)["input_ids"]} for t in texts]
        )
        out = collator(feats)
        for row, text in enumerate(texts):
            ids, facts = token_facts(tokenizer, text)
            targets = out["labels"][row][: len(ids)] != -100
            words: dict[int, list[bool]] = {}
            for position, (word, chinese, _, special) in enumerate(facts):
                if not special and not chinese and ids[position] != tokenizer.unk_token_id:
                    words.setdefault(word, []).append(bool(targets[position]))
            for word, fates in words.items():
                assert len(set(fates)) == 1, f"word {word} of {text!r} partly masked: {fates}"
                masked_multi += fates[0] and len(fates) > 1
    return masked_multi


@pytest.mark.parametrize("selector", [WholeWordSelector(0.4), SpanSelector(0.4)], ids=["whole-word", "span"])
def test_masking_never_cuts_a_word_with_a_word_ids_column(family, selector):
    collator = MaskingCollator(family, selector=selector, return_tensors="np", seed=3)
    assert assert_whole_words(family, MIXED, collator) > 0


def test_masking_never_cuts_a_word_from_the_vocabulary_alone(family):
    collator = MaskingCollator(family, selector=WholeWordSelector(0.4), word_source="vocab", return_tensors="np")
    assert assert_whole_words(family, LATIN, collator) > 0


@pytest.mark.parametrize("name", ["byte-level", "byte-level-prefix-space"])
def test_chinese_in_a_byte_level_vocabulary_without_word_ids_is_refused(name):
    """A byte-level vocabulary writes ideographs as byte symbols: without word ids a whole clause would be
    one word, so it is refused as for WordPiece."""
    tokenizer = build(name)
    tables = VocabTables.from_tokenizer(tokenizer)
    ids = tokenizer(MIXED[3])["input_ids"]
    assert tables.cjk[ids].any() and not tables.cjk[tokenizer("tokenization unbelievably")["input_ids"]].any()
    with pytest.raises(ValueError, match="Chinese.*word_ids"):
        MaskingCollator(tokenizer, selector=WholeWordSelector())([{"input_ids": ids}])
    kana_and_marks = ["He said 「yes」", "100〜200", "wait・what", "すし and 。"]  # E3 bytes that are not Chinese
    feats = [{"input_ids": tokenizer(t)["input_ids"]} for t in kana_and_marks]
    assert not any(tables.cjk[f["input_ids"]].any() for f in feats)
    MaskingCollator(tokenizer, selector=WholeWordSelector())(feats)  # not refused


def test_augmentation_words_keep_accented_words_whole_in_mixed_text():
    _, tokens = split_tokens("Molière a visité 北京大学的图书馆 hier")
    words = [t.text for t in tokens]
    assert "Molière" in words and "visité" in words and "北京大学" in words
    assert "moli" not in [w.lower() for w in words]
