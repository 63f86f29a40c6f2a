"""MaskingCollator behaviour: padding, pass-through, epochs, keys, and clear errors on bad input."""

from __future__ import annotations

import argparse
import pickle

import numpy as np
import pytest
import torch

from maskkit import (
    MaskingCollator,
    MaskRandomKeep,
    MissingColumnError,
    ScoredSelector,
    SpanSelector,
    TokenSelector,
    UnitSelector,
    WholeWordSelector,
)
from tests.conftest import SENTENCES, features


def test_output_shapes_types_and_padding(wordpiece):
    feats = features(wordpiece, SENTENCES[:3])
    out = MaskingCollator(wordpiece, pad_to_multiple_of=8)(feats)
    assert set(out) == {"input_ids", "attention_mask", "labels"}
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.int64 for v in out.values())
    width = out["input_ids"].shape[1]
    assert width % 8 == 0 and width >= max(len(f["input_ids"]) for f in feats)
    for i, f in enumerate(feats):
        n = len(f["input_ids"])
        assert out["attention_mask"][i].tolist() == [1] * n + [0] * (width - n)
        assert (out["input_ids"][i, n:] == wordpiece.pad_token_id).all()
        assert (out["labels"][i, n:] == -100).all()


def test_passes_through_other_keys(wordpiece):
    enc = wordpiece(SENTENCES[:2], SENTENCES[2:4], return_token_type_ids=True)
    feats = [
        {"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i], "label": i, "text": s}
        for i, s in enumerate(SENTENCES[:2])
    ]
    out = MaskingCollator(wordpiece)(feats)
    assert out["label"].tolist() == [0, 1]
    assert out["text"] == SENTENCES[:2]
    n0 = len(feats[0]["token_type_ids"])
    assert out["token_type_ids"].shape == out["input_ids"].shape
    assert out["token_type_ids"][0, :n0].tolist() == feats[0]["token_type_ids"]


def test_numpy_and_tensor_inputs_give_the_same_masks(wordpiece):
    feats = features(wordpiece, SENTENCES)
    collator = MaskingCollator(wordpiece, return_tensors="np")
    lists = collator(feats)
    arrays = collator([{"input_ids": np.asarray(f["input_ids"])} for f in feats])
    tensors = collator([{"input_ids": torch.tensor(f["input_ids"])} for f in feats])
    for other in (arrays, tensors):
        assert (lists["input_ids"] == other["input_ids"]).all()


def test_epochs_seeds_and_salts_change_masks_reproducibly(wordpiece):
    feats = features(wordpiece, SENTENCES * 4)
    collator = MaskingCollator(wordpiece, selector=WholeWordSelector(0.3), seed=5, return_tensors="np")
    first = collator(feats)["labels"]
    collator.set_epoch(1)
    second = collator(feats)["labels"]
    assert not (first == second).all()
    collator.set_epoch(0)
    assert (collator(feats)["labels"] == first).all()
    other_seed = MaskingCollator(wordpiece, selector=WholeWordSelector(0.3), seed=6, return_tensors="np")
    assert not (other_seed(feats)["labels"] == first).all()
    salted = MaskingCollator(wordpiece, selector=WholeWordSelector(0.3), seed=5, salt="b", return_tensors="np")
    assert not (salted(feats)["labels"] == first).all()


def test_key_column_keys_identical_texts_apart(wordpiece):
    same = features(wordpiece, [SENTENCES[0]] * 8)
    by_content = MaskingCollator(wordpiece, return_tensors="np")(same)["labels"]
    assert all((row == by_content[0]).all() for row in by_content)
    keyed = MaskingCollator(wordpiece, key_column="id", return_tensors="np")(
        [{**f, "id": f"row-{i}"} for i, f in enumerate(same)]
    )
    assert len({tuple(row) for row in keyed["labels"].tolist()}) > 1
    assert "id" in keyed


def test_pickle_round_trip_keeps_epoch_and_masks(wordpiece):
    collator = MaskingCollator(wordpiece, selector=SpanSelector(0.3), seed=9, return_tensors="np")
    collator.set_epoch(4)
    clone = pickle.loads(pickle.dumps(collator))
    assert clone.epoch == 4
    feats = features(wordpiece, SENTENCES)
    assert (clone(feats)["input_ids"] == collator(feats)["input_ids"]).all()
    assert "SpanSelector" in repr(clone) and "epoch=4" in repr(clone)


def test_special_only_and_empty_sequences_get_no_targets(wordpiece):
    feats = [{"input_ids": []}, {"input_ids": [wordpiece.cls_token_id, wordpiece.sep_token_id]}]
    for selector in (TokenSelector(), WholeWordSelector(), SpanSelector(), ScoredSelector()):
        out = MaskingCollator(wordpiece, selector=selector, return_tensors="np")(
            [{**f, "importance": [0.5] * len(f["input_ids"])} for f in feats]
        )
        assert (out["labels"] == -100).all()
    out = MaskingCollator(wordpiece, return_tensors="np")([{"input_ids": []}])
    assert out["input_ids"].shape == (1, 0)


def test_special_tokens_mask_column_is_respected(wordpiece):
    ids = wordpiece(SENTENCES[0])["input_ids"]
    protect = [1] * len(ids)
    out = MaskingCollator(wordpiece, selector=TokenSelector(1.0), return_tensors="np")(
        [{"input_ids": ids, "special_tokens_mask": protect}]
    )
    assert (out["labels"] == -100).all() and "special_tokens_mask" not in out


def test_scored_selector_takes_the_top_scores_and_skips_excluded_words(wordpiece):
    ids = wordpiece("the movie was great and the plot boring")["input_ids"]
    tokens = wordpiece.convert_ids_to_tokens(ids)
    scores = [{"great": 0.9, "boring": 0.8, "the": 1.0}.get(t, 0.1) for t in tokens]
    selector = ScoredSelector(rate=0.25, exclude_words=("the",))
    out = MaskingCollator(wordpiece, selector=selector, return_tensors="np")([{"input_ids": ids, "importance": scores}])
    chosen = {tokens[p] for p in np.flatnonzero(out["labels"][0] != -100)}
    assert chosen == {
        "great",
        "boring",
    }  # 25% of 8 candidates = 2 targets; "the" scores highest but is excluded
    assert "importance" not in out
    only_important = ScoredSelector(rate=1.0, min_score=0.5)
    out = MaskingCollator(wordpiece, selector=only_important, return_tensors="np")(
        [{"input_ids": ids, "importance": scores}]
    )
    assert {tokens[p] for p in np.flatnonzero(out["labels"][0] != -100)} == {"great", "boring", "the"}


def test_matched_random_control_takes_as_many_targets_as_top_scores(wordpiece):
    rows = []
    for i, text in enumerate(SENTENCES):
        ids = wordpiece(text)["input_ids"]
        rows.append({"input_ids": ids, "importance": [float((i + j) % 4 == 0) for j in range(len(ids))]})
    counts = {}
    for mode in ("top", "matched_random"):
        selector = ScoredSelector(rate=0.4, min_score=0.5, mode=mode, exclude_words=("the",))
        out = MaskingCollator(wordpiece, selector=selector, return_tensors="np", seed=1)(rows)
        counts[mode] = (out["labels"] != -100).sum(axis=1)
        if mode == "matched_random":
            picked = [int(score) for row, labels in zip(rows, out["labels"]) for score, lab in
                      zip(row["importance"], labels) if lab != -100]  # fmt: skip
            assert 0 < sum(picked) < len(picked)  # important and unimportant tokens alike
    assert counts["top"].sum() > 0 and np.array_equal(counts["top"], counts["matched_random"])


def test_unit_selector_masks_lexicon_phrases_and_column_units_whole(wordpiece):
    ids = wordpiece("the quick brown fox jumps over the lazy dog")["input_ids"]
    selector = UnitSelector(rate=1.0, column=None, lexicon=("quick brown fox",), others="none")
    out = MaskingCollator(wordpiece, selector=selector, return_tensors="np")([{"input_ids": ids}])
    tokens = wordpiece.convert_ids_to_tokens(ids)
    assert [tokens[p] for p in np.flatnonzero(out["labels"][0] != -100)] == ["quick", "brown", "fox"]
    units = [None, -1, -1, -1, -1, -1, None, 7, 7, 7, None]  # "the lazy dog" as one unit; None: no unit
    column = UnitSelector(rate=1.0, others="none")
    out = MaskingCollator(wordpiece, selector=column, return_tensors="np")([{"input_ids": ids, "unit_ids": units}])
    assert [tokens[p] for p in np.flatnonzero(out["labels"][0] != -100)] == ["the", "lazy", "dog"]


def test_bad_parameters_name_the_problem():
    for make, word in [
        (lambda: TokenSelector(rate=0.0), "rate"),
        (lambda: TokenSelector(rate=1.5), "rate"),
        (lambda: TokenSelector(budget="sometimes"), "budget"),
        (lambda: SpanSelector(length_range=(3, 1)), "length_range"),
        (lambda: SpanSelector(p_geometric=0), "p_geometric"),
        (lambda: MaskRandomKeep(0.8, 0.1, 0.2), "sum to 1"),
        (lambda: MaskRandomKeep(per="word"), "per"),
        (lambda: ScoredSelector(mode="best"), "mode"),
        (lambda: UnitSelector(column=None), "units"),
    ]:
        with pytest.raises(ValueError, match=word):
            make()


def test_bad_input_gets_clear_errors(wordpiece):
    collator = MaskingCollator(wordpiece)
    feats = features(wordpiece, SENTENCES[:2])
    with pytest.raises(KeyError, match="no 'input_ids'.*Tokenize"):
        collator([{"text": "hello"}])
    with pytest.raises(ValueError, match="empty list"):
        collator([])
    with pytest.raises(TypeError, match="list of examples"):
        collator({"input_ids": [[1, 2]]})
    with pytest.raises(ValueError, match="already hold 'labels'"):
        collator([{**feats[0], "labels": 1}])
    with pytest.raises(ValueError, match="outside the tokenizer's vocabulary"):
        collator([{"input_ids": [2, 10**6, 3]}])
    with pytest.raises(ValueError, match="nested"):
        collator([{"input_ids": [[2, 3]]}])
    with pytest.raises(ValueError, match="at most 512.*truncat"):
        collator([{"input_ids": [5] * 600}])
    scored = MaskingCollator(wordpiece, selector=ScoredSelector())
    with pytest.raises(MissingColumnError, match="remove_unused_columns=False"):
        scored(feats)
    with pytest.raises(ValueError, match="'importance' has 3 values but input_ids has"):
        scored([{**feats[0], "importance": [0.1, 0.2, 0.3]}])
    n = len(feats[0]["input_ids"])
    with pytest.raises(ValueError, match="NaN"):
        scored([{**feats[0], "importance": [float("nan")] * n}])
    with pytest.raises(ValueError, match="None"):
        scored([{**feats[0], "importance": [0.5, None] + [0.5] * (n - 2)}])
    with pytest.raises(ValueError, match="infinity"):
        scored([{**feats[0], "importance": [0.5, float("inf")] + [0.5] * (n - 2)}])
    with pytest.raises(MissingColumnError, match="word_ids"):
        MaskingCollator(wordpiece, selector=WholeWordSelector(), word_source="column")(feats)


def test_tokenizer_without_mask_token_is_refused(wordpiece):
    from copy import deepcopy

    broken = deepcopy(wordpiece)
    broken.mask_token = None
    with pytest.raises(ValueError, match="no mask token"):
        MaskingCollator(broken)


def test_slow_tokenizer_needs_word_ids_for_words(tmp_path, wordpiece):
    from transformers import BertTokenizerLegacy as BertTokenizer  # transformers 5's slow (Python) tokenizer

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(wordpiece.convert_ids_to_tokens(list(range(len(wordpiece))))) + "\n")
    slow = BertTokenizer(str(vocab))
    feats = features(slow, SENTENCES[:2])
    MaskingCollator(slow)(feats)  # token masking needs no words
    with pytest.raises(ValueError, match="fast tokenizer"):
        MaskingCollator(slow, selector=WholeWordSelector())(feats)
    with_words = [{**f, "word_ids": list(range(len(f["input_ids"])))} for f in feats]
    MaskingCollator(slow, selector=WholeWordSelector())(with_words)


def target_runs(labels_row):
    """(start, end) of each contiguous run of targets in one row."""
    runs, start = [], None
    for i, label in enumerate([*labels_row, -100]):
        if label != -100 and start is None:
            start = i
        elif label == -100 and start is not None:
            runs.append((start, i))
            start = None
    return runs


def test_span_replacement_draws_one_fate_per_span(wordpiece):
    """SpanBERT's --replacement-method span: every token of a merged span is [MASK], or none is."""
    from maskkit import MaskRandomKeep, SpanSelector
    from maskkit.cli.common import corruption_from_args

    batch = features(wordpiece, SENTENCES * 4)
    mixed = {"unit": 0, "token": 0}
    multi = 0
    for per in mixed:
        collator = MaskingCollator(wordpiece, SpanSelector(rate=0.4), MaskRandomKeep(0.5, 0.25, 0.25, per=per),
                                   seed=3, return_tensors="np")  # fmt: skip
        for epoch in range(5):
            collator.set_epoch(epoch)
            out = collator(batch)
            for ids, labels in zip(out["input_ids"], out["labels"]):
                for start, end in target_runs(labels):
                    masked = {bool(ids[i] == wordpiece.mask_token_id) for i in range(start, end)}
                    mixed[per] += len(masked) > 1
                    multi += per == "unit" and end - start > 1
    assert multi > 50 and mixed["unit"] == 0 and mixed["token"] > 10
    options = argparse.Namespace(mask=0.8, random=0.1, keep=0.1, per=None)
    assert corruption_from_args("span", options).per == "unit" and corruption_from_args("word", options).per == "token"


def test_bare_rows_of_token_ids_are_examples(wordpiece):
    """transformers' collator takes lists of ids (its own tests check it); so does maskkit's."""
    rows = [f["input_ids"] for f in features(wordpiece, SENTENCES[:3])]
    collator = MaskingCollator(wordpiece, TokenSelector(rate=0.3), seed=1, return_tensors="np")
    expected = collator([{"input_ids": r} for r in rows])
    for given in (rows, [torch.tensor(r) for r in rows], [np.array(r) for r in rows]):
        out = collator(given)
        assert (out["labels"] == expected["labels"]).all() and (out["input_ids"] == expected["input_ids"]).all()


def test_a_tokenizer_without_a_pad_token_is_refused(wordpiece):
    import copy

    unpadded = copy.deepcopy(wordpiece)
    unpadded.pad_token = None
    with pytest.raises(ValueError, match="has no pad token"):
        MaskingCollator(unpadded)
