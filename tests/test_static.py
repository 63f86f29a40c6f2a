"""Static masking is dynamic masking with the epoch pinned, written into the dataset."""

from __future__ import annotations

import pytest
from datasets import Dataset

from maskkit import MaskingCollator, SpanSelector, Tokenize, static_mask
from tests.conftest import SENTENCES


@pytest.mark.parametrize("num_proc", [None, 2])
def test_static_copies_equal_dynamic_masks_at_pinned_epochs(wordpiece, num_proc):
    data = Dataset.from_dict({"text": SENTENCES * 3, "label": list(range(len(SENTENCES) * 3))})
    data = data.map(Tokenize(wordpiece), batched=True, remove_columns=["text"])
    collator = MaskingCollator(wordpiece, selector=SpanSelector(0.3), seed=2, return_tensors="np")
    fixed = static_mask(data, collator, copies=3, num_proc=num_proc)
    assert len(fixed) == 3 * len(data)
    assert set(fixed.column_names) >= {
        "input_ids",
        "labels",
        "label",
        "word_ids",
        "mask_copy",
        "attention_mask",
    }
    for row in fixed:
        original = data[row["label"]]
        collator.set_epoch(row["mask_copy"])
        dynamic = collator([original])
        n = len(original["input_ids"])
        assert row["input_ids"] == dynamic["input_ids"][0][:n].tolist()
        assert row["labels"] == dynamic["labels"][0][:n].tolist()
    copies = {}
    for row in fixed:
        copies.setdefault(row["label"], set()).add(tuple(row["labels"]))
    assert sum(len(v) > 1 for v in copies.values()) > len(copies) // 2  # copies differ


def test_static_mask_rejects_bad_arguments(wordpiece):
    data = Dataset.from_dict({"input_ids": [[2, 5, 3]], "labels": [0]})
    collator = MaskingCollator(wordpiece)
    with pytest.raises(ValueError, match="copies"):
        static_mask(data, collator, copies=0)
    with pytest.raises(ValueError, match="'labels'"):
        static_mask(data, collator)
