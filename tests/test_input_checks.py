"""Settings and labels that would build a broken model are refused with their name, never trained on."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from datasets import Dataset

from maskkit.training.data import label_names_from, label_values


def labels(*values):
    return label_values(Dataset.from_dict({"label": list(values)}), "label", "train")


@pytest.mark.parametrize("missing", ["NA", "N/A", "n/a", "null", "#N/A", "<NA>", " nan ", ""])
def test_missing_value_spellings_are_refused_like_nan(missing):
    with pytest.raises(ValueError, match="blank or NaN 'label' \\(first: row 1\\)"):
        labels("pos", missing, "neg")


def test_labels_are_names_unless_they_are_all_small_integers():
    assert labels("1_0", "2", "3") == ["1_0", "2", "3"]  # Python's int() reads "1_0" as 10; a label does not
    assert label_names_from(labels("1_0", "2", "3")) == ["1_0", "2", "3"]
    assert label_names_from(labels(0, 1_000_000_000)) == ["0", "1000000000"]  # two classes, not 10^9 outputs
    assert label_names_from(labels("-1", "1")) == ["-1", "1"]
    assert label_names_from(labels(1, 2)) == ["0", "1", "2"]  # small integers still name head outputs 0..max
    assert label_names_from(labels("0", "1.0", "2")) == ["0", "1", "2"]


def test_settings_that_make_a_broken_classifier_or_mask_are_refused():
    from maskkit.selective.config import SelectiveConfig
    from maskkit.training.classify import FinetuneConfig

    with pytest.raises(ValueError, match="head_hidden sizes must be >= 1"):
        FinetuneConfig(output_dir="x", head_hidden=(0,))
    with pytest.raises(ValueError, match="head_dropout must be in"):
        FinetuneConfig(output_dir="x", head_dropout=1.5)
    with pytest.raises(ValueError, match="rate \\(the share of tokens masked\\) must be in \\(0, 1\\]"):
        SelectiveConfig(rate=2.0)


def test_a_teacher_must_be_a_classifier_whose_label_order_can_be_checked(tiny_model_dir):
    from maskkit.distill.trainer import check_teacher, load_teacher

    with pytest.raises(ValueError, match="is not a fine-tuned classifier .*BertForMaskedLM"):
        load_teacher(tiny_model_dir)  # an MLM folder would get a random classification head
    generic = SimpleNamespace(config=SimpleNamespace(id2label={0: "LABEL_0", 1: "LABEL_1"}))
    with pytest.raises(ValueError, match="generic names"):
        check_teacher(generic, ["neg", "pos"])
    check_teacher(generic, ["0", "1"])  # numbered labels: generic names are in the same order
    named = SimpleNamespace(config=SimpleNamespace(id2label={0: "pos", 1: "neg"}))
    with pytest.raises(ValueError, match="differ from the student's"):
        check_teacher(named, ["neg", "pos"])


def test_a_fractional_token_id_is_refused_not_truncated(wordpiece):
    from maskkit import MaskingCollator, TokenSelector

    collator = MaskingCollator(wordpiece, TokenSelector(rate=0.15), seed=0)
    ids = wordpiece("a fine movie")["input_ids"]
    collator([{"input_ids": ids}])  # whole numbers (ints or floats equal to them) pass
    collator([{"input_ids": [float(i) for i in ids]}])
    with pytest.raises(ValueError, match="input_ids of example 1 hold 2204.5 at position 1"):
        collator([{"input_ids": ids}, {"input_ids": [ids[0], 2204.5, *ids[2:]]}])


def test_fewer_keys_than_texts_is_refused_by_every_augmenter(tmp_path):
    from maskkit.augment import EDA, OneOf, RandomDelete
    from maskkit.text.synonyms import DictionarySynonyms

    thesaurus = tmp_path / "syn.txt"
    thesaurus.write_text("movie film\n")
    texts = ["a fine movie", "a dull movie", "a third movie"]
    for augmenter in (EDA(n_aug=1, synonyms=DictionarySynonyms(thesaurus)), RandomDelete(0.3),
                      OneOf([RandomDelete(0.3), RandomDelete(0.5)])):  # fmt: skip
        with pytest.raises(ValueError, match="got 2 keys for 3 texts"):
            augmenter(texts, keys=[1, 2])
        assert len(augmenter(texts, keys=[1, 2, 3])) == 3


def test_eda_names_each_strength_as_given():
    from maskkit.augment import EDA

    with pytest.raises(ValueError, match="p_rd must be in \\[0, 1\\], got 2"):
        EDA(p_rd=2)
    with pytest.raises(ValueError, match="alpha_ri must be in"):
        EDA(alpha_ri=float("nan"))
