"""nlpaug augmenters behind maskkit's protocol: keyed per (seed, text, k), batch-free, the caller's random
state untouched, composable with OneOf and augment_dataset."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasets import Dataset

from maskkit.augment import Nlpaug, OneOf, RandomSwap, augment_dataset
from tests.conftest import SENTENCES

nac = pytest.importorskip("nlpaug.augmenter.char")


def test_nlpaug_augmentations_are_keyed_not_batched():
    typos = Nlpaug(nac.KeyboardAug(), seed=1)
    together = typos(SENTENCES, k=2)
    alone = [typos([s], k=2)[0] for s in reversed(SENTENCES)][::-1]
    assert together == alone and sum(a != s for a, s in zip(together, SENTENCES)) >= len(SENTENCES) - 1
    assert typos(SENTENCES, k=3) != together  # another k, other typos
    assert Nlpaug(nac.KeyboardAug(), seed=2)(SENTENCES, k=2) != together  # another seed, other typos


def test_the_callers_random_state_is_left_alone():  # the global generators nlpaug draws from
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    expected = (random.random(), np.random.random())  # noqa: NPY002
    random.seed(7)
    np.random.seed(7)  # noqa: NPY002
    Nlpaug(nac.RandomCharAug(action="swap"))(SENTENCES)
    assert (random.random(), np.random.random()) == expected  # noqa: NPY002


def test_nlpaug_composes_with_maskkit_augmenters():
    data = Dataset.from_dict({"text": SENTENCES, "label": [i % 2 for i in range(len(SENTENCES))]})
    mixed = OneOf([Nlpaug(nac.KeyboardAug()), RandomSwap(alpha=0.3)], seed=0)
    out = augment_dataset(data, mixed, n_aug=2)
    again = augment_dataset(data, mixed, n_aug=2, batch_size=3)
    assert out["text"] == again["text"] and len(out) > len(data)


def test_only_nlpaug_augmenters_are_wrapped():
    with pytest.raises(TypeError, match="wraps an nlpaug augmenter"):
        Nlpaug(object())
