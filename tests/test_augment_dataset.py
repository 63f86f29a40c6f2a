"""Augmented datasets and combinators: more rows out, every column kept, provenance, keyed results."""

from __future__ import annotations

import pytest
from datasets import Dataset

from maskkit.augment import (
    EDA,
    Compose,
    DictionarySynonyms,
    OneOf,
    RandomDelete,
    RandomSwap,
    SomeOf,
    Sometimes,
    SynonymReplace,
    augment_dataset,
)

TEXTS = [
    "The movie was not good, and the plot was boring.",
    "A great film with great actors.",
    "I never liked the ending.",
    "Boring, boring, boring!",
]


@pytest.fixture(scope="module")
def thesaurus(tmp_path_factory):
    path = tmp_path_factory.mktemp("syn") / "synonyms.txt"
    path.write_text("movie film picture\ngood fine decent\ngreat terrific\nboring dull tedious\n")
    return DictionarySynonyms(path)


@pytest.fixture()
def data():
    return Dataset.from_dict({"text": TEXTS, "label": [0, 1, 0, 0], "id": ["a", "b", "c", "d"]})


@pytest.mark.parametrize("num_proc", [None, 2])
def test_augment_dataset_keeps_columns_and_adds_provenance(data, thesaurus, num_proc):
    recipe = EDA(n_aug=3, synonyms=thesaurus, seed=1)
    out = augment_dataset(data, recipe, n_aug=3, num_proc=num_proc, batch_size=3)
    # every augmentation differs from its source and from the row's other augmentations (repeats are dropped)
    for i, text in enumerate(TEXTS):
        mine = [r["text"] for r in out if r["source_row"] == i and r["aug_method"] == "EDA"]
        assert text not in mine and len(set(mine)) == len(mine)
    assert len(data) * 2 <= len(out) <= len(data) * 4
    assert set(out.column_names) == {"text", "label", "id", "source_row", "aug_method", "aug_index"}
    for row in out:
        assert row["label"] == data[row["source_row"]]["label"] and row["id"] == data[row["source_row"]]["id"]
    originals = out.filter(lambda r: r["aug_method"] == "original")
    assert originals["text"] == TEXTS and set(originals["aug_index"]) == {-1}
    augmented = out.filter(lambda r: r["aug_method"] == "EDA")
    assert set(augmented["aug_index"]) <= {0, 1, 2} and len(set(augmented["aug_index"])) >= 2
    # keyed by row and k: the same with any batch size or process count
    again = augment_dataset(data, recipe, n_aug=3, batch_size=1)
    assert sorted(zip(again["source_row"], again["aug_index"], again["text"])) == sorted(
        zip(out["source_row"], out["aug_index"], out["text"])
    )


def test_augment_dataset_rejects_bad_input(data, thesaurus):
    with pytest.raises(KeyError, match="no 'sentence' column"):
        augment_dataset(data, RandomSwap(), text_column="sentence")
    broken = Dataset.from_dict({"text": ["fine", None], "label": [0, 1]})
    with pytest.raises(TypeError, match="row 1 of 'text' is NoneType"):
        augment_dataset(broken, RandomSwap())
    with pytest.raises(ValueError, match="n_aug"):
        augment_dataset(data, RandomSwap(), n_aug=-1)
    once = augment_dataset(data, RandomSwap())
    with pytest.raises(ValueError, match="provenance"):
        augment_dataset(once, RandomSwap())


def test_label_consistency_drops_augmentations_a_classifier_relabels(data, thesaurus):
    from maskkit.augment import LabelConsistency

    def classify(texts):  # a stand-in classifier: positive exactly when it sees "great"
        return [int("great" in t.lower().split()) for t in texts]

    data = data.map(lambda r: {"label": classify([r["text"]])[0]})
    recipe = EDA(alpha_sr=0.9, alpha_ri=0.0, alpha_rs=0.0, p_rd=0.0, n_aug=4, synonyms=thesaurus)
    out = augment_dataset(data, recipe, n_aug=4, consistency=LabelConsistency(classify, "label"))
    augmented = out.filter(lambda r: r["aug_method"] != "original")
    assert all(classify([r["text"]])[0] == r["label"] for r in augmented)
    assert len(augmented) < 4 * len(data)  # "great" replaced by "terrific" relabels, so those were dropped
    with pytest.raises(KeyError, match="no 'sentiment' column"):
        augment_dataset(data, recipe, consistency=LabelConsistency(classify, "sentiment"))


def test_combinators_are_keyed_and_do_what_they_say(thesaurus):
    sr, rs, rd = SynonymReplace(0.5, synonyms=thesaurus), RandomSwap(0.5), RandomDelete(0.3)
    for combinator in (
        Compose([sr, rs]),
        OneOf([sr, rs], weights=[1, 3]),
        SomeOf([sr, rs, rd], n=2),
        Sometimes([rd], p=0.5),
    ):
        out = combinator(TEXTS, k=1)
        assert out == [combinator([t], k=1)[0] for t in TEXTS] and len(out) == len(TEXTS)
    assert Compose([sr])(TEXTS) == sr(TEXTS)
    assert Sometimes([rd], p=0.0)(TEXTS) == TEXTS
    assert Sometimes([rd], p=1.0)(TEXTS) == rd(TEXTS)
    picks = [OneOf([sr, rs], weights=[0, 1])(TEXTS, k=k) == rs(TEXTS, k=k) for k in range(5)]
    assert all(picks)
    with pytest.raises(ValueError, match="n must be"):
        SomeOf([sr], n=2)


def test_combinators_call_each_augmenter_once_per_batch(thesaurus):
    calls = []

    class Counting:
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, texts, keys=None, k=0):
            calls.append(len(texts))
            return self.inner(texts, keys, k)

    sr, rs = Counting(SynonymReplace(0.5, synonyms=thesaurus)), Counting(RandomSwap(0.5))
    texts = [f"{t} ({i})" for i, t in enumerate(TEXTS * 10)]  # distinct, so choices vary
    out = OneOf([sr, rs])(texts, k=2)
    assert len(calls) == 2 and sum(calls) == len(texts)  # one call per augmenter, not per text
    calls.clear()
    assert out == [OneOf([sr, rs])([t], k=2)[0] for t in texts]
    with pytest.raises(ValueError, match="weights"):
        OneOf([sr, rs], weights=[1])
