"""MLM as correction (MacBERT): targets become one-token synonyms, a random token where none, or stay."""

from __future__ import annotations

import numpy as np
import pytest

from maskkit import MaskingCollator, TokenSelector, WholeWordSelector
from maskkit.masking.correction import SimilarWordReplace
from maskkit.text.synonyms import DictionarySynonyms
from tests.conftest import SENTENCES, features


@pytest.fixture(scope="module")
def thesaurus(tmp_path_factory):
    path = tmp_path_factory.mktemp("syn") / "syn.txt"
    path.write_text("movie film\ngood great\nbad awful\nboring sad\nhappy funny\n")
    return DictionarySynonyms(path)


def test_targets_become_similar_words_never_mask(wordpiece, thesaurus):
    batch = features(wordpiece, SENTENCES * 6)
    pairs = [("movie", "film"), ("good", "great"), ("bad", "awful"), ("boring", "sad"), ("happy", "funny")]
    similar_of = {a: {b} for a, b in pairs} | {b: {a} for a, b in pairs}
    collator = MaskingCollator(wordpiece, TokenSelector(rate=0.5), SimilarWordReplace(1.0, 0.0, 0.0, thesaurus),
                               return_tensors="np")  # fmt: skip
    replaced = 0
    for epoch in range(5):
        collator.set_epoch(epoch)
        out = collator(batch)
        assert not (out["input_ids"] == wordpiece.mask_token_id).any()
        for ids, labels in zip(out["input_ids"], out["labels"]):
            for new, old in zip(ids, labels):
                if old == -100:
                    continue
                before, after = wordpiece.convert_ids_to_tokens([int(old), int(new)])
                if before in similar_of:
                    assert after in similar_of[before]  # a word with one-token synonyms gets one of them
                    replaced += 1
                else:
                    assert new != wordpiece.unk_token_id  # no synonym: a random ordinary token
    assert replaced > 30


def test_fate_shares_follow_the_paper(wordpiece, thesaurus):
    """80/10/10 of similar word, random token, unchanged, within 5 sigma (synonym-less words count as random)."""
    batch = features(wordpiece, SENTENCES * 30)
    collator = MaskingCollator(wordpiece, WholeWordSelector(rate=0.5), SimilarWordReplace(synonyms=thesaurus),
                               return_tensors="np")  # fmt: skip
    kept = total = 0
    for epoch in range(4):
        collator.set_epoch(epoch)
        out = collator(batch)
        target = out["labels"] != -100
        kept += int((out["input_ids"][target] == out["labels"][target]).sum())
        total += int(target.sum())
    share = kept / total  # keep, plus the rare random draw of the original
    assert abs(share - 0.1) < 5 * np.sqrt(0.1 * 0.9 / total) + 0.01


def test_bad_shares_are_refused(thesaurus):
    with pytest.raises(ValueError, match="sum to 1"):
        SimilarWordReplace(0.8, 0.3, 0.1, thesaurus)
