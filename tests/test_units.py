"""Phrase and entity units found automatically (ERNIE): chunks and proper-noun runs from NLTK's tagger,
a gazetteer, jieba's tags for Chinese; UnitSelector masks each unit whole; texts without units counted."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from maskkit import MaskingCollator, UnitSelector
from maskkit.units import FindUnits, find_units
from tests.conftest import CHINESE_VOCAB, ROOT

NLTK_DATA = ROOT.parent / "shared" / "nltk_data"
pytestmark = pytest.mark.skipif(not (NLTK_DATA / "taggers").is_dir(), reason="NLTK's tagger is not in ../shared")
TEXT = "The quick brown fox met the New York Times editor in Central Park ."


def unit_texts(stage, text):
    return [text[a:b] for a, b in stage.spans(text)]


def test_phrases_and_entities_from_the_tagger_and_a_gazetteer(wordpiece):
    phrases = FindUnits(wordpiece, "phrase", nltk_data=str(NLTK_DATA))
    assert unit_texts(phrases, TEXT) == ["quick brown fox", "New York Times editor", "Central Park"]
    entities = FindUnits(wordpiece, "entity", nltk_data=str(NLTK_DATA))
    assert unit_texts(entities, TEXT) == ["New York Times", "Central Park"]
    listed = FindUnits(wordpiece, "entity", gazetteer=("times editor",), nltk_data=str(NLTK_DATA))
    assert unit_texts(listed, TEXT) == ["Times editor", "Central Park"]  # the gazetteer wins an overlap


def test_unit_selector_masks_found_units_whole(wordpiece):
    data = Dataset.from_dict({"text": [TEXT, "good ."] * 4})
    messages = []
    units = find_units(data, FindUnits(wordpiece, "phrase", nltk_data=str(NLTK_DATA)), log=messages.append)
    assert messages == ["4 of 8 texts have no phrase unit: their words are masked as words"]
    row = units[0]
    ids = np.array(row["unit_ids"])
    assert (ids[[0, -1]] == -1).all() and len(set(ids[ids >= 0])) == 3
    collator = MaskingCollator(wordpiece, UnitSelector(rate=0.5), return_tensors="np")
    for epoch in range(10):
        collator.set_epoch(epoch)
        target = collator([{"input_ids": row["input_ids"], "unit_ids": row["unit_ids"]}])["labels"][0] != -100
        for unit in set(ids[ids >= 0]):
            assert len(set(target[ids == unit])) == 1  # a unit is masked whole or not at all


@pytest.mark.skipif(not CHINESE_VOCAB.is_dir(), reason="Chinese vocabulary not in ../shared")
def test_chinese_units_from_jieba_tags():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(CHINESE_VOCAB)
    text = "北京大学的图书馆藏书丰富"
    entities = unit_texts(FindUnits(tokenizer, "entity"), text)
    phrases = unit_texts(FindUnits(tokenizer, "phrase"), text)
    assert all(u in text for u in entities + phrases) and phrases
