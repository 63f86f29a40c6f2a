"""Named budgets against references written from the papers' code as read: BERT rounds with a minimum of
one and a cap, SpanBERT takes the ceiling, fairseq rounds probabilistically."""

from __future__ import annotations

import math

import numpy as np
import pytest

from maskkit import MaskingCollator, SpanSelector, TokenSelector, WholeWordSelector
from tests.conftest import WORDS


def rows(wordpiece, lengths):
    """One example of each length in words (single-token words), with [CLS] and [SEP]."""
    return [{"input_ids": wordpiece(" ".join(WORDS[:n]))["input_ids"]} for n in lengths]


def counts(wordpiece, selector, batch, epoch=0):
    collator = MaskingCollator(wordpiece, selector, seed=5, return_tensors="np")
    collator.set_epoch(epoch)
    return (collator(batch)["labels"] != -100).sum(axis=1)


def test_bert_budget_rounds_with_a_minimum_of_one_and_a_cap(wordpiece):
    lengths = list(range(1, 60))
    batch = rows(wordpiece, lengths)
    for cap in (None, 5):
        got = counts(wordpiece, TokenSelector(rate=0.15, budget="bert", max_predictions=cap), batch)
        for n, k in zip(lengths, got):
            expected = max(1, round((n + 2) * 0.15))  # BERT counts [CLS] and [SEP]
            assert k == min(expected, n, cap or expected), n


def test_spanbert_budget_takes_the_ceiling(wordpiece):
    lengths = list(range(1, 60))
    batch = rows(wordpiece, lengths)
    got = counts(wordpiece, TokenSelector(rate=0.15, budget="spanbert"), batch)
    assert [int(k) for k in got] == [math.ceil(n * 0.15) for n in lengths]
    spans = counts(wordpiece, SpanSelector(rate=0.15, budget="spanbert"), batch)
    assert all(k >= math.ceil(n * 0.15) for n, k in zip(lengths, spans))  # the last word is completed


def test_exact_budget_keeps_the_expectation(wordpiece):
    # 7 * 0.15 = 1.05: one target, two 5% of the time (distinct texts: identical ones share their draws)
    batch = [{"input_ids": wordpiece(" ".join(WORDS[i : i + 7]))["input_ids"]} for i in range(len(WORDS) - 7)]
    got = np.concatenate([counts(wordpiece, TokenSelector(rate=0.15), batch, epoch) for epoch in range(20)])
    assert set(got.tolist()) <= {1, 2} and abs(got.mean() - 1.05) < 5 * math.sqrt(0.05 * 0.95 / len(got))


def test_caps_apply_to_words_and_spans(wordpiece):
    batch = rows(wordpiece, [50] * 20)
    assert counts(wordpiece, WholeWordSelector(rate=0.5, max_predictions=4), batch).max() == 4
    assert counts(wordpiece, SpanSelector(rate=0.5, max_predictions=4), batch).max() <= 4 + 9  # + a span's words


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TokenSelector(budget="bernoulli", max_predictions=20), "caps a counted budget"),
        (lambda: TokenSelector(max_predictions=0), "max_predictions must be a positive integer"),
        (lambda: SpanSelector(budget="bernoulli"), "span masking counts a budget of tokens"),
        (lambda: WholeWordSelector(budget="ceil"), "budget must be one of"),
    ],
)
def test_bad_budgets_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()
