"""Property tests (hypothesis): the invariants every selector and corruption must keep."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maskkit import (
    MaskingCollator,
    MaskRandomKeep,
    OneOfSelectors,
    ScoredSelector,
    SpanSelector,
    TokenSelector,
    UnitSelector,
    WholeWordSelector,
)
from maskkit.masking import functional as F
from maskkit.masking.schemes import make_selector
from tests.conftest import build_bpe_tokenizer, build_wordpiece_tokenizer

WORDPIECE = build_wordpiece_tokenizer()
BPE = build_bpe_tokenizer()
SELECTORS = {
    "token": TokenSelector(0.3),
    "token-bernoulli": TokenSelector(0.3, budget="bernoulli"),
    "word": WholeWordSelector(0.3),
    "span": SpanSelector(0.3),
    "unit": UnitSelector(0.3, column=None, lexicon=("quick brown fox", "lazy dog", "the movie")),
    "scored": ScoredSelector(0.3, exclude_words=("the", "a")),
    "scored-sample": ScoredSelector(0.3, mode="sample"),
    "oneof": OneOfSelectors([WholeWordSelector(0.2), SpanSelector(0.2)], weights=[1, 2]),
    "ngram": make_selector("ngram", rate=0.3),
}
WORD_LEVEL = {"word", "span", "unit", "oneof", "ngram"}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def examples(draw, tokenizer=WORDPIECE):
    """Lists of tokenised sentences (single and paired) with importance scores, some empty of words."""
    vocab_words = [
        "the",
        "quick",
        "brown",
        "fox",
        "lazy",
        "dog",
        "movie",
        "jumps",
        "unbelievably",
        "great",
        ",",
        ".",
    ]
    n = draw(st.integers(1, 6))
    out = []
    for _ in range(n):
        words = draw(st.lists(st.sampled_from(vocab_words), min_size=0, max_size=30))
        text = " ".join(words)
        if draw(st.booleans()):
            pair = " ".join(draw(st.lists(st.sampled_from(vocab_words), min_size=0, max_size=10)))
            ids = tokenizer(text, pair)["input_ids"]
        else:
            ids = tokenizer(text)["input_ids"]
        scores = draw(st.lists(st.floats(0, 1), min_size=len(ids), max_size=len(ids)))
        out.append({"input_ids": ids, "importance": scores, "idx": len(out)})
    return out


def word_groups(tokenizer, ids):
    """Yields lists of positions forming one word (by the vocabulary's word-start table)."""
    specials = set(tokenizer.all_special_ids)
    group: list[int] = []
    for pos, token in enumerate(tokenizer.convert_ids_to_tokens(ids)):
        is_special = ids[pos] in specials
        starts = not token.startswith("##")
        if group and (is_special or starts):
            yield group
            group = []
        if not is_special:
            group.append(pos)
    if group:
        yield group


@pytest.mark.parametrize("name", sorted(SELECTORS))
@SETTINGS
@given(batch=examples())
def test_masking_invariants(name, batch):
    collator = MaskingCollator(WORDPIECE, selector=SELECTORS[name], seed=7, return_tensors="np")
    before = copy.deepcopy(batch)
    out = collator(batch)
    assert batch == before, "the collator mutated its input"
    specials = set(WORDPIECE.all_special_ids)
    for i, example in enumerate(batch):
        original = np.asarray(example["input_ids"])
        n = len(original)
        ids, labels = out["input_ids"][i], out["labels"][i]
        target = labels != -100
        # labels hold the original ids exactly at targets; ids are unchanged off target
        assert (labels[:n][target[:n]] == original[target[:n]]).all()
        assert (ids[:n][~target[:n]] == original[~target[:n]]).all()
        # padding is never a target, and the attention mask covers exactly the real tokens
        assert not target[n:].any()
        assert out["attention_mask"][i].sum() == n
        # special tokens are never selected, and never emitted at targets except [MASK]
        assert not any(original[p] in specials for p in np.flatnonzero(target[:n]))
        emitted = set(ids[:n][target[:n]].tolist()) - {WORDPIECE.mask_token_id}
        assert not emitted & specials
        if name in WORD_LEVEL:
            for group in word_groups(WORDPIECE, original.tolist()):
                assert len({bool(target[p]) for p in group}) == 1, "a word was split"


@pytest.mark.parametrize("name", sorted(SELECTORS))
@SETTINGS
@given(batch=examples(), data=st.data())
def test_alone_equals_batched_in_any_order(name, batch, data):
    collator = MaskingCollator(WORDPIECE, selector=SELECTORS[name], seed=3, return_tensors="np")
    together = collator(batch)
    order = data.draw(st.permutations(range(len(batch))))
    shuffled = collator([batch[i] for i in order])
    for j, i in enumerate(order):
        alone = collator([batch[i]])
        n = len(batch[i]["input_ids"])
        for out, row in ((together, i), (shuffled, j)):
            assert (out["input_ids"][row][:n] == alone["input_ids"][0][:n]).all()
            assert (out["labels"][row][:n] == alone["labels"][0][:n]).all()
        assert shuffled["idx"][j] == i


@SETTINGS
@given(batch=examples(), rate=st.floats(0.01, 1.0))
def test_token_budget_is_exact(batch, rate):
    collator = MaskingCollator(WORDPIECE, selector=TokenSelector(rate), return_tensors="np")
    out = collator(batch)
    specials = set(WORDPIECE.all_special_ids)
    for i, example in enumerate(batch):
        n_candidates = sum(t not in specials for t in example["input_ids"])
        count = int((out["labels"][i] != -100).sum())
        assert np.floor(rate * n_candidates) <= count <= np.ceil(rate * n_candidates)


@SETTINGS
@given(batch=examples(BPE))
def test_bpe_words_stay_whole(batch):
    collator = MaskingCollator(BPE, selector=WholeWordSelector(0.4), return_tensors="np")
    out = collator(batch)
    for i, example in enumerate(batch):
        tokens = BPE.convert_ids_to_tokens(example["input_ids"])
        target = out["labels"][i] != -100
        # a token without the byte-level word marker continues the previous word (unless that is special)
        for pos in range(2, len(tokens) - 1):
            if not tokens[pos].startswith("Ġ") and example["input_ids"][pos - 1] not in BPE.all_special_ids:
                assert target[pos] == target[pos - 1]


@SETTINGS
@given(
    word_lengths=st.lists(st.integers(1, 3), min_size=0, max_size=30),
    segment_break=st.integers(0, 30),
    budget=st.integers(0, 40),
    draws=st.lists(st.tuples(st.floats(0, 0.999), st.integers(1, 10)), min_size=1, max_size=60),
)
def test_spans_are_whole_words_within_a_segment(word_lengths, segment_break, budget, draws):
    """[CLS] words... [SEP] words... [SEP]: spans cover whole words, stay in a segment, meet the budget."""
    cut = min(segment_break, len(word_lengths))
    layout = [None, *range(cut), None, *range(cut, len(word_lengths)), None]
    positions, word_of = [], []
    for w in layout:
        for _ in range(1 if w is None else word_lengths[w]):
            positions.append(w is not None)
            word_of.append(w)
    candidates = np.array([positions])
    starts = candidates & np.array([[w is not None and (i == 0 or word_of[i - 1] != w) for i, w in enumerate(word_of)]])
    anchors = np.array([[d[0] for d in draws]])
    lengths = np.array([[d[1] for d in draws]])
    hit = F.span_targets(candidates, starts, np.array([budget]), np.array([len(draws)]), fixed(anchors, lengths))[0]
    assert not (hit & ~candidates[0]).any()
    for w in range(len(word_lengths)):
        assert len({bool(hit[i]) for i, x in enumerate(word_of) if x == w}) == 1, "a word was split"
    total = int(hit.sum())
    assert total < budget + 3  # whole words: the budget is passed by less than one word (<= 3 tokens)
    # the first round's anchor is never already masked, so a positive budget always gets targets
    assert (total > 0) == (budget > 0 and bool(word_lengths))


def fixed(anchors, lengths):
    """Round draws from fixed arrays, padded with repeats past their end."""
    anchors, lengths = np.asarray(anchors, dtype=float), np.asarray(lengths)

    def draw(start, count):
        idx = np.minimum(np.arange(start, start + count), anchors.shape[1] - 1)
        return anchors[:, idx], lengths[:, idx]

    return draw


def test_span_never_crosses_a_special_token():
    candidates = np.array([[False, True, True, True, False, True, True, True, False]])
    one = F.span_targets(candidates, candidates.copy(), np.array([10]), np.array([1]), fixed([[0.5]], [[10]]))
    assert one[0].astype(int).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 0]  # anchor word 3 of 6 (position 5)


def test_spans_match_a_sequential_reference():
    """The batched rounds equal SpanBERT's one-span-at-a-time loop on random rows."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        candidates = np.ones((1, n + 2), dtype=bool)
        candidates[0, [0, -1]] = False
        starts = candidates & (rng.random((1, n + 2)) < 0.7)
        starts[0, 1] = True
        budget = int(rng.integers(0, n + 1))
        anchors, lengths = rng.random((1, 30)), rng.integers(1, 6, (1, 30))
        got = F.span_targets(candidates, starts, np.array([budget]), np.array([30]), fixed(anchors, lengths), block=7)[
            0
        ]
        # reference: plain Python, one span at a time
        word_starts = [i for i in range(n + 2) if starts[0, i]]
        word_ends = [*word_starts[1:], n + 1]
        masked, total = set(), 0
        for a, length in zip(anchors[0], lengths[0]):
            if total >= budget:
                break
            w = int(a * len(word_starts))
            if w in masked:
                continue
            for v in range(w, min(w + int(length), len(word_starts))):
                if total >= budget:
                    break
                if v not in masked:
                    masked.add(v)
                    total += word_ends[v] - word_starts[v]
        expected = np.zeros(n + 2, dtype=bool)
        for v in masked:
            expected[word_starts[v] : word_ends[v]] = True
        assert (got == expected).all()


SHARES = ((0.5, 0.0, 0.5), (0.6, 0.2, 0.2), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))


@SETTINGS
@given(batch=examples(), per=st.sampled_from(["token", "unit"]), shares=st.sampled_from(SHARES))
def test_corruption_fates_keep_to_their_shares_and_units_share_a_fate(batch, per, shares):
    """Every target becomes [MASK], a random non-special token or itself, and only the fates whose share is
    above 0 occur; its label is the original; nothing else changes; with per="unit" all tokens of a word
    get the same fate ([MASK] or not)."""
    mask, random, keep = shares
    collator = MaskingCollator(
        WORDPIECE, selector=WholeWordSelector(0.5), corruption=MaskRandomKeep(mask, random, keep, per=per),
        return_tensors="np",
    )  # fmt: skip
    out = collator(batch)
    specials = set(WORDPIECE.all_special_ids)
    for i, example in enumerate(batch):
        original = np.asarray(example["input_ids"])
        n = len(original)
        target = out["labels"][i][:n] != -100
        ids, labels = out["input_ids"][i][:n], out["labels"][i][:n]
        assert (labels[target] == original[target]).all()
        assert (ids[~target] == original[~target]).all()
        masked = target & (ids == WORDPIECE.mask_token_id)
        replaced = target & ~masked & (ids != original)
        kept = target & (ids == original)
        assert (masked | replaced | kept)[target].all()
        if mask == 0:
            assert not masked.any()
        if random == 0:
            assert not replaced.any()
        if keep == 0 and random == 0:  # every target masked
            assert (masked == target).all()
        if mask == 0 and random == 0:
            assert not (ids != original).any()
        assert not ({int(v) for v in ids[replaced]} & specials), "a random replacement drew a special token"
        if per == "unit":
            for group in word_groups(WORDPIECE, example["input_ids"]):
                if target[group[0]]:
                    assert len({bool(masked[p]) for p in group}) == 1, "tokens of one word got different fates"


def test_fate_shares_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        MaskRandomKeep(0.5, 0.2, 0.2)


@SETTINGS
@given(data=st.data(), rows=st.integers(1, 5), width=st.integers(1, 12), ties=st.booleans())
def test_choose_smallest_matches_a_sorting_reference(data, rows, width, ties):
    """Per row: the k eligible positions with the smallest order (ties by tiebreak), or all eligible ones
    when k exceeds them; nothing when k = 0."""
    values = st.integers(0, 3) if ties else st.integers(0, 2**64 - 1)
    # without a tiebreak, choose_smallest's contract is an order with no ties in a row (uniform draws)
    row = st.lists(values, min_size=width, max_size=width, unique=not ties)
    order = np.array(data.draw(st.lists(row, min_size=rows, max_size=rows)), dtype=np.uint64)
    eligible = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=width, max_size=width),
                                           min_size=rows, max_size=rows)))  # fmt: skip
    k = np.array(data.draw(st.lists(st.integers(0, width), min_size=rows, max_size=rows)), dtype=np.int64)
    tiebreak = np.arange(rows * width, dtype=np.uint64).reshape(rows, width)[:, ::-1].copy() if ties else None
    got = F.choose_smallest(order, eligible, k, tiebreak=tiebreak)
    for r in range(rows):
        candidates = [p for p in range(width) if eligible[r, p]]
        ranked = sorted(candidates, key=lambda p: (int(order[r, p]), 0 if tiebreak is None else int(tiebreak[r, p])))
        expected = set(ranked[: k[r]])
        assert set(np.flatnonzero(got[r]).tolist()) == expected
    assert not got[~eligible].any()


@SETTINGS
@given(keys=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6), width=st.integers(1, 40),
       stream=st.integers(0, 100), data=st.data())  # fmt: skip
def test_draws_at_positions_equal_the_grid(keys, width, stream, data):
    from maskkit.rng import KeyedUniforms

    draws = KeyedUniforms.create(np.array(keys, dtype=np.uint64), seed=3, salt="", epoch=1)
    n = data.draw(st.integers(0, 30))
    rows = np.array(data.draw(st.lists(st.integers(0, len(keys) - 1), min_size=n, max_size=n)), dtype=np.int64)
    positions = np.array(data.draw(st.lists(st.integers(0, width - 1), min_size=n, max_size=n)), dtype=np.int64)
    grid = draws.grid_bits(stream, width)
    assert (draws.bits_at(stream, rows, positions) == grid[rows, positions]).all()
    assert (draws.bits_at(stream, rows, positions, width=width) == grid[rows, positions]).all()
    ordered, _ = draws.ordered(stream, width)
    assert (ordered == grid).all()


def test_corruption_leaves_a_batch_it_does_not_own_alone():
    """`apply` writes into the ids only when the batch says they are the collator's own copy."""
    masks_all = MaskRandomKeep(1.0, 0.0, 0.0)
    collator = MaskingCollator(WORDPIECE, selector=TokenSelector(0.5), corruption=masks_all, return_tensors="np")
    features = [{"input_ids": WORDPIECE("the quick brown fox jumps over the lazy dog")["input_ids"]}]
    ids = np.array([features[0]["input_ids"]], dtype=np.int64)
    from maskkit.masking.batch import MaskingBatch
    from maskkit.rng import KeyedUniforms, content_keys

    lengths = np.array([ids.shape[1]])
    draws = KeyedUniforms.create(content_keys(ids, lengths, collator.vocab.pad_id), 0, "", 0)
    batch = MaskingBatch(ids=ids, lengths=lengths, candidates=collator.vocab.ordinary[ids], draws=draws,
                         vocab=collator.vocab)  # fmt: skip
    before = ids.copy()
    corrupted, labels = masks_all.apply(batch, TokenSelector(0.5).select(batch))
    assert (ids == before).all() and (corrupted != before).any()
    assert ((labels != -100) == (corrupted == WORDPIECE.mask_token_id)).all()
    assert (collator(features)["input_ids"] == corrupted).all()


def test_every_registered_selector_is_under_these_properties():
    from maskkit.registry import catalogue

    registered = {e.cls for e in catalogue("selector").values() if e.cls is not None}
    assert registered <= {type(s) for s in SELECTORS.values()}, "add the new selector to SELECTORS"
