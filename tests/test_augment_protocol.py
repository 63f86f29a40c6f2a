"""One protocol over every registered augmenter: `augment(text or texts, n=)` as nlpaug and TextAttack users
call it, one strength knob for EDA, and provenance that names the branch a combinator took."""

from __future__ import annotations

import re

import pytest
from datasets import Dataset

from maskkit.augment import (
    EDA,
    BackTranslate,
    Compose,
    Nlpaug,
    OneOf,
    RandomDelete,
    RandomInsert,
    RandomSwap,
    SomeOf,
    Sometimes,
    SynonymReplace,
    augment_dataset,
)
from maskkit.registry import REGISTRY, catalogue, entry_of
from tests.conftest import SENTENCES

TEXT = "The acting is good and the story is clever, but the ending drags on far too long."


class Thesaurus:
    """A small synonym source (maskkit's SynonymSource protocol), so the test needs no WordNet."""

    GROUPS = (("good", "fine", "decent"), ("clever", "smart", "witty"), ("story", "tale", "plot"),
              ("long", "lengthy"), ("movie", "film"), ("acting", "performance"))  # fmt: skip

    def synonyms(self, word):
        return next((tuple(w for w in g if w != word.lower()) for g in self.GROUPS if word.lower() in g), ())


THESAURUS = Thesaurus()


class Pivot:
    """A fake deterministic translator: there, upper case; back, 'good' becomes 'fine'."""

    deterministic = True

    def __repr__(self) -> str:
        return "Pivot()"

    def translate(self, texts, src, tgt):
        return [t.upper() for t in texts] if tgt != "en" else [t.lower().replace("good", "fine") for t in texts]


class Typos:
    """An nlpaug-like augmenter (augment(text) -> list), drawing from the global generators nlpaug uses."""

    def augment(self, text):
        import random

        words = text.split()
        i = random.randrange(len(words))
        words[i] = words[i][::-1]
        return [" ".join(words)]


def every_augmenter():
    ops = (SynonymReplace(0.3, synonyms=THESAURUS), RandomSwap(0.3))
    built = {
        "maskkit.synonym_replace.v1": SynonymReplace(0.3, synonyms=THESAURUS),
        "maskkit.random_insert.v1": RandomInsert(0.3, synonyms=THESAURUS),
        "maskkit.random_swap.v1": RandomSwap(0.3),
        "maskkit.random_delete.v1": RandomDelete(0.3),
        "maskkit.eda.v1": EDA(aug_p=0.3, synonyms=THESAURUS),
        "maskkit.augment.compose.v1": Compose(ops),
        "maskkit.augment.one_of.v1": OneOf(ops, seed=1),
        "maskkit.augment.some_of.v1": SomeOf(ops, n=1),
        "maskkit.augment.sometimes.v1": Sometimes(ops, p=0.9),
        "maskkit.backtranslate.v1": BackTranslate(Pivot(), pivot=("es", "de")),
        "maskkit.nlpaug.v1": Nlpaug(Typos()),
    }
    assert set(built) == set(catalogue("augmenter")), "a registered augmenter is missing from this test"
    return built


@pytest.mark.parametrize("name", sorted(every_augmenter()))
def test_every_augmenter_takes_a_text_or_texts_and_n(name):
    augmenter = every_augmenter()[name]
    assert entry_of(augmenter) is REGISTRY[name]
    one = augmenter.augment(TEXT, n=3)
    assert isinstance(one, list) and 1 <= len(one) <= 3 and all(isinstance(t, str) for t in one)
    assert TEXT not in one and len(set(one)) == len(one)
    expected, seen = [], {" ".join(TEXT.split())}  # the batch call's k = 0, 1, 2: declined and repeats left out
    for k in range(3):
        variant = augmenter([TEXT], k=k)[0]
        if variant is not None and " ".join(variant.split()) not in seen:
            seen.add(" ".join(variant.split()))
            expected.append(variant)
    assert one == expected
    many = augmenter.augment([SENTENCES[0], TEXT], n=3)
    assert len(many) == 2 and many[1] == one  # keyed by content: alone or in a batch, the same
    assert augmenter.augment(TEXT) == one[:1]
    with pytest.raises(ValueError, match="n must be"):
        augmenter.augment(TEXT, n=0)
    with pytest.raises(TypeError, match="wrap a single text"):
        augmenter(TEXT)


def test_eda_aug_p_sets_the_four_strengths_and_refuses_a_conflict():
    eda = EDA(aug_p=0.25, synonyms=THESAURUS)
    assert (eda.alpha_sr, eda.alpha_ri, eda.alpha_rs, eda.p_rd) == (0.25,) * 4
    assert eda == EDA(0.25, 0.25, 0.25, 0.25, synonyms=THESAURUS)
    assert EDA(alpha_sr=0.25, aug_p=0.25, synonyms=THESAURUS) == eda
    with pytest.raises(ValueError, match="aug_p.*not both"):
        EDA(alpha_ri=0.3, aug_p=0.25)
    with pytest.raises(ValueError, match="aug_p must be in"):
        EDA(aug_p=1.5)


def test_provenance_names_the_branch_a_combinator_took():
    data = Dataset.from_dict({"text": SENTENCES, "label": [i % 2 for i in range(len(SENTENCES))]})
    branches = OneOf((RandomSwap(0.3), RandomDelete(0.3)), seed=2)
    nested = Compose((OneOf((RandomSwap(0.3), RandomDelete(0.3)), seed=2), RandomDelete(0.2)))
    for augmenter in (branches, nested):
        out = augment_dataset(data, augmenter, n_aug=3).filter(lambda r: r["aug_method"] != "original")
        methods = set(out["aug_method"])
        assert methods <= {"OneOf[RandomSwap]", "OneOf[RandomDelete]"} if augmenter is branches else methods <= {
            "Compose[OneOf[RandomSwap]+RandomDelete]", "Compose[OneOf[RandomDelete]+RandomDelete]"
        }  # fmt: skip
        assert len(methods) == 2  # both branches were taken, and each row says which
    out = augment_dataset(data, branches, n_aug=3).filter(lambda r: r["aug_method"] == "OneOf[RandomSwap]")
    assert len(out) > 0
    for row in out:  # a row the swap branch made holds its source's words, in another order
        assert sorted(re.findall(r"\w+", row["text"].lower())) == sorted(
            re.findall(r"\w+", SENTENCES[row["source_row"]].lower())
        )
