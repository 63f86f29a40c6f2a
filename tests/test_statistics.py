"""Seeded statistical tests with wide (5 sigma) tolerances: budgets, 80/10/10 shares, span lengths."""

from __future__ import annotations

import numpy as np
import pytest

from maskkit import MaskingCollator, MaskRandomKeep, SpanSelector, TokenSelector, WholeWordSelector
from maskkit.masking import functional as F
from maskkit.rng import KeyedUniforms


def long_features(tokenizer, n_examples=200, n_words=120, seed=0):
    rng = np.random.default_rng(seed)
    words = ["the", "quick", "brown", "fox", "movie", "unbelievably", "great", "boring", "dog", ","]
    return [{"input_ids": tokenizer(" ".join(rng.choice(words, n_words)))["input_ids"]} for _ in range(n_examples)]


def within_5_sigma(observed, p, n):
    return abs(observed - p) <= 5 * np.sqrt(p * (1 - p) / n)


def test_uniforms_are_uniform_and_streams_independent():
    draws = KeyedUniforms.create(np.arange(500, dtype=np.uint64), seed=1, salt="", epoch=0)
    a, b = draws.grid(1, 400), draws.grid(2, 400)
    assert abs(a.mean() - 0.5) < 5 * np.sqrt(1 / 12 / a.size)
    hist = np.histogram(a, bins=10, range=(0, 1))[0] / a.size
    assert np.all(np.abs(hist - 0.1) < 5 * np.sqrt(0.1 * 0.9 / a.size))
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 5 / np.sqrt(a.size)
    assert abs(np.corrcoef(a[:, :-1].ravel(), a[:, 1:].ravel())[0, 1]) < 5 / np.sqrt(a.size)


def test_bernoulli_rate(wordpiece):
    feats = long_features(wordpiece)
    out = MaskingCollator(wordpiece, selector=TokenSelector(0.15, budget="bernoulli"), return_tensors="np")(feats)
    candidates = out["attention_mask"].sum() - 2 * len(feats)
    share = (out["labels"] != -100).sum() / candidates
    assert within_5_sigma(share, 0.15, candidates)


def test_exact_budget_has_the_right_mean_with_probabilistic_rounding(wordpiece):
    feats = [{"input_ids": wordpiece("the dog")["input_ids"]}] * 1  # 2 candidates: 0.3 expected targets
    collator = MaskingCollator(wordpiece, selector=TokenSelector(0.15), return_tensors="np", key_column="k")
    counts = [(collator([{**feats[0], "k": i}])["labels"] != -100).sum() for i in range(3000)]
    assert set(counts) <= {0, 1}
    assert within_5_sigma(np.mean(counts), 0.3, 3000)


def test_whole_word_rate_counts_words(wordpiece):
    feats = long_features(wordpiece, n_examples=100)
    collator = MaskingCollator(wordpiece, selector=WholeWordSelector(0.2, budget="bernoulli"), return_tensors="np")
    out = collator(feats)
    starts = [sum(not t.startswith("##") for t in wordpiece.convert_ids_to_tokens(f["input_ids"][1:-1])) for f in feats]
    chosen = sum(
        sum(
            1
            for pos, tok in enumerate(wordpiece.convert_ids_to_tokens(f["input_ids"]))
            if out["labels"][i][pos] != -100 and not tok.startswith("##")
        )
        for i, f in enumerate(feats)
    )
    assert within_5_sigma(chosen / sum(starts), 0.2, sum(starts))


@pytest.mark.parametrize("per", ["token", "unit"])
def test_80_10_10_shares(wordpiece, per):
    feats = long_features(wordpiece, n_examples=300)
    collator = MaskingCollator(
        wordpiece, selector=TokenSelector(0.15), corruption=MaskRandomKeep(per=per), return_tensors="np"
    )
    out = collator(feats)
    target = out["labels"] != -100
    ids, labels = out["input_ids"][target], out["labels"][target]
    n = target.sum()
    masked = (ids == wordpiece.mask_token_id).mean()
    kept = (ids == labels).mean()
    swapped = 1 - masked - kept
    assert within_5_sigma(masked, 0.8, n)
    assert within_5_sigma(swapped, 0.1, n)
    # a random replacement equals the original with probability 1/|vocab|, which lands in "kept"
    assert within_5_sigma(kept, 0.1, n)
    assert not np.isin(ids, wordpiece.all_special_ids).sum() - (ids == wordpiece.mask_token_id).sum()


def test_random_replacement_follows_unigram_weights(wordpiece):
    feats = long_features(wordpiece, n_examples=200)
    weights = np.zeros(len(wordpiece))
    favourite = wordpiece.convert_tokens_to_ids("movie")
    weights[favourite] = 9.0
    weights[wordpiece.convert_tokens_to_ids("dog")] = 1.0
    weights[wordpiece.mask_token_id] = 1000.0  # specials are never drawn, whatever their weight
    corruption = MaskRandomKeep(0.0, 1.0, 0.0, random_weights=tuple(weights))
    out = MaskingCollator(wordpiece, corruption=corruption, return_tensors="np")(feats)
    drawn = out["input_ids"][out["labels"] != -100]
    assert set(np.unique(drawn)) <= {favourite, wordpiece.convert_tokens_to_ids("dog")}
    assert within_5_sigma((drawn == favourite).mean(), 0.9, drawn.size)


def test_truncated_geometric_span_lengths_have_spanbert_mean():
    cdf = F.truncated_geometric_cdf(0.2, 1, 10)
    u = KeyedUniforms.create(np.arange(200, dtype=np.uint64), 0, "", 0).grid(0, 200).ravel()
    lengths = F.sample_lengths(cdf, 1, u)
    assert lengths.min() >= 1 and lengths.max() <= 10
    pmf = np.diff(np.concatenate([[0], cdf]))
    mean = (np.arange(1, 11) * pmf).sum()
    sd = np.sqrt(((np.arange(1, 11) - mean) ** 2 * pmf).sum())
    assert 3.75 <= mean <= 3.85  # SpanBERT: "mean span length 3.8"
    assert abs(lengths.mean() - mean) < 5 * sd / np.sqrt(lengths.size)
    observed = np.bincount(lengths, minlength=11)[1:] / lengths.size
    assert np.all(np.abs(observed - pmf) < 5 * np.sqrt(pmf * (1 - pmf) / lengths.size))


def test_span_selector_budget_and_run_lengths(wordpiece):
    # single-token words: the budget is met to the token and runs average near SpanBERT's 3.8 words
    feats = [{"input_ids": wordpiece(" ".join(["dog"] * 400))["input_ids"], "k": i} for i in range(60)]
    collator = MaskingCollator(wordpiece, selector=SpanSelector(0.1), key_column="k", return_tensors="np")
    out = collator(feats)
    target = out["labels"] != -100
    assert set(target.sum(axis=1).tolist()) == {40}
    runs = []
    for row in target.astype(np.int8):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row, [0]])))
        runs.extend(edges[1::2] - edges[::2])
    # merged neighbouring spans lengthen runs a little; truncation at the budget shortens the last
    assert 3.0 <= np.mean(runs) <= 5.5
    assert max(runs) <= 40


def test_one_of_follows_its_weights(wordpiece):
    from maskkit import OneOfSelectors

    feats = [{"input_ids": wordpiece(" ".join(["dog"] * 60))["input_ids"], "k": i} for i in range(800)]
    mixed = OneOfSelectors([TokenSelector(0.1), TokenSelector(0.9)], weights=[1, 3])
    out = MaskingCollator(wordpiece, selector=mixed, key_column="k", return_tensors="np")(feats)
    heavy = ((out["labels"] != -100).sum(axis=1) > 30).mean()
    assert within_5_sigma(heavy, 0.75, len(feats))


def test_unigram_counts_feed_frequency_weighted_replacement(wordpiece):
    from maskkit import unigram_counts

    rows = [wordpiece("the dog the dog the movie")["input_ids"]] * 10
    counts = unigram_counts(rows, len(wordpiece))
    assert len(counts) == len(wordpiece)
    assert counts[wordpiece.convert_tokens_to_ids("the")] == 30
    assert counts[wordpiece.convert_tokens_to_ids("movie")] == 10
    MaskRandomKeep(random_weights=counts)  # accepted as one weight per vocabulary id


def test_ngram_masking_draws_macbert_shares_of_1_to_4_grams(wordpiece):
    """MacBERT: n-grams of 1, 2, 3 and 4 words with probabilities 0.4, 0.3, 0.2 and 0.1."""
    from maskkit.masking.schemes import make_selector

    selector = make_selector("ngram", rate=0.1)
    shortest, cdf = selector.length_cdf
    u = KeyedUniforms.create(np.arange(300, dtype=np.uint64), 0, "", 0).grid(0, 200).ravel()
    lengths = F.sample_lengths(cdf, shortest, u)
    observed = np.bincount(lengths, minlength=5)[1:] / lengths.size
    pmf = np.array([0.4, 0.3, 0.2, 0.1])
    assert np.all(np.abs(observed - pmf) < 5 * np.sqrt(pmf * (1 - pmf) / lengths.size))
    feats = [{"input_ids": wordpiece(" ".join(["dog"] * 400))["input_ids"], "k": i} for i in range(20)]
    out = MaskingCollator(wordpiece, selector=selector, key_column="k", return_tensors="np")(feats)
    runs = []
    for row in (out["labels"] != -100).astype(np.int8):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row, [0]])))
        runs.extend(edges[1::2] - edges[::2])
    assert set((out["labels"] != -100).sum(axis=1).tolist()) == {40} and 1.5 <= np.mean(runs) <= 3.0
    with pytest.raises(ValueError, match="leave p_geometric and length_range unset"):
        SpanSelector(length_weights=(0.5, 0.5), length_range=(1, 4))
