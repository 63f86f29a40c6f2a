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
    assert unit_texts(FindUnits(tokenizer, "phrase"), "北京大学的图书馆藏书丰富") == ["图书馆藏书"]
    assert unit_texts(FindUnits(tokenizer, "entity"), "张伟在上海交通大学读书") == ["张伟", "上海交通大学"]


def test_ernie_schedule_pretrains_basic_then_phrase_then_entity(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from maskkit.training.pretrain import PretrainConfig, further_pretrain_stages
    from maskkit.units import ernie_stages

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    texts = [TEXT, "The big dog saw the small cat .", "A funny movie about New York ."] * 4
    stages = ernie_stages(tokenizer, texts, rate=0.3, nltk_data=str(NLTK_DATA), log=lambda _: None)
    assert [name for name, _, _ in stages] == ["basic", "phrase", "entity"]
    assert "unit_ids" in stages[1][1].column_names and "unit_ids" in stages[2][1].column_names
    config = PretrainConfig(str(tmp_path), max_steps=1, batch_size=4, progress=False)
    results = further_pretrain_stages(tiny_model_dir, tokenizer, stages, None, config)
    assert [r.steps for r in results] == [1, 1, 1]
    assert results[0].extra["selector"]["@component"] == "maskkit.whole_word.v1"
    assert results[2].extra["selector"]["@component"] == "maskkit.unit.v1"
