"""The official selective-masking recipe piece by piece, each against a small reference written from
reading thunlp/SelectiveMasking's algorithm: sentence selection, classifier labels, the in-domain selection
per sentence and its random control, packing, pair tasks, the classifier's best epoch; and the recipes and
profiles (what fills a setting, what an explicit setting overrides)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from maskkit.selective.importance import ScoredSentences, Scorer, score_importance
from maskkit.selective.sentences import (
    add_unimportant,
    keep_top_sentences,
    official_selection,
    pack_document,
    random_control,  # fmt: skip
    union_by_text,
)
from tests.conftest import WORDS
from tests.test_importance import sensitive_bert  # noqa: F401  (a fixture)


def reference_selection(logits_2d: np.ndarray, n: int, rate: float) -> set[int]:
    """Read from ModelGen.forward: positions whose argmax is 1, sorted by their class-1 logit, highest
    first; keep int(max(1, rate * len(sentence)))."""
    picks = [(pos, row[1]) for pos, row in enumerate(logits_2d) if int(np.argmax(row)) == 1]
    picks.sort(key=lambda p: p[1], reverse=True)
    return {pos for pos, _ in picks[: int(max(1, rate * n))]}


def test_official_selection_equals_the_reference():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        logits = rng.normal(size=(n, 2))
        important = logits.argmax(axis=1) == 1
        logit1 = [float(v) if ok else float("-inf") for v, ok in zip(logits[:, 1], important)]
        rate = float(rng.choice([0.15, 0.3, 0.5]))
        assert set(official_selection(logit1, list(important), n, rate)) == reference_selection(logits, n, rate)
    # a 6-token sentence gets at least one target; a 20-token one int(0.15 * 20) = 3, not 15% rounded up
    assert len(official_selection([1.0] * 6, [True] * 6, 6, 0.15)) == 1
    assert len(official_selection([1.0] * 20, [True] * 20, 20, 0.15)) == 3
    assert official_selection([0.5, 2.0, 1.0], [True, True, True], 7, 0.3) == [1, 2]  # the two highest logits


def test_random_control_draws_over_every_token_or_the_allowed_ones():
    counts = np.zeros(10)
    rng = random.Random(0)
    for _ in range(4000):
        drawn = random_control(10, 3, None, rng)
        assert len(drawn) == 3 == len(set(drawn))
        counts[drawn] += 1
    # uniform: each position 1200 times expected, sd sqrt(4000 * 0.3 * 0.7) = 29; 5 sigma
    assert np.all(np.abs(counts - 1200) < 5 * 29)
    allowed = [i % 2 == 0 for i in range(10)]
    assert all(i % 2 == 0 for _ in range(200) for i in random_control(10, 3, allowed, rng))


def reference_pack(sentences, max_tokens, rng):
    """Read from create_instances_from_document (short_seq_prob 0): add sentences until the chunk reaches
    the target or the document ends, then drop tokens from the front or back at random."""
    rows, chunk = [], []
    for i, sentence in enumerate(sentences):
        chunk = chunk + list(sentence)
        if i == len(sentences) - 1 or len(chunk) >= max_tokens:
            while len(chunk) > max_tokens:
                if rng.random() < 0.5:
                    del chunk[0]
                else:
                    chunk.pop()
            rows.append(chunk)
            chunk = []
    return rows


def test_packing_equals_the_reference_and_keeps_flags_aligned():
    rng = np.random.default_rng(1)
    for trial in range(200):
        sentences = [list(rng.integers(0, 1000, size=int(rng.integers(1, 30)))) for _ in range(int(rng.integers(1, 9)))]
        flags = {"selected": [[float(t % 2) for t in s] for s in sentences]}
        max_tokens = int(rng.integers(4, 60))
        packed = pack_document(sentences, flags, max_tokens, 0.0, random.Random(trial))
        expected_rng = random.Random(trial)
        expected_rng.random()  # pack_document draws the short-sequence coin first
        assert packed.ids == reference_pack(sentences, max_tokens, expected_rng)
        for ids, row in zip(packed.ids, packed.flags["selected"]):
            assert len(ids) <= max_tokens and row == [float(t % 2) for t in ids]  # each flag stays on its token
    # nothing lost when nothing needs cutting: the rows concatenate to the document
    sentences = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]]
    packed = pack_document(sentences, {}, 5, 0.0, random.Random(0))
    assert packed.ids == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    # with short_seq_prob 1 every document gets a shorter target
    short = pack_document([[1] * 10] * 20, {}, 50, 1.0, random.Random(3))
    assert len(short.ids) > 4


def test_top_sentences_and_misclassified_rows_for_the_classifier():
    scored = ScoredSentences(token_ids=[[5, 6], [7], [8, 9]], scores=[[1.0, 0.0], [1.0], [0.0, 1.0]], rows=[0, 2, 3],
                             confidence=[0.9, 0.6, 0.8])  # fmt: skip
    document_of = [0, 0, 0, 0, 1]  # rows 0, 2, 3 are of document 0; row 1 was misclassified
    assert keep_top_sentences(scored, document_of, 0.5) == 2  # max(int(0.5 * 3), 1) = 1 sentence keeps its scores
    assert scored.scores == [[1.0, 0.0], [0.0], [0.0, 0.0]]
    added = add_unimportant(scored, [[5, 6], [3, 3, 3], [7], [8, 9], []])
    assert added == 1 and scored.rows == [0, 1, 2, 3] and scored.scores[1] == [0.0, 0.0, 0.0]


def test_stop_words_are_labelled_unimportant(wordpiece):
    from maskkit.selective.classifier import importance_examples

    vocab = wordpiece.get_vocab()
    ids = [vocab["the"], vocab["movie"], vocab["not"]]
    scored = ScoredSentences(token_ids=[ids], scores=[[1.0, 1.0, 1.0]], rows=[0], confidence=[1.0])
    assert importance_examples(scored, wordpiece, 0.5)["labels"][0][1:-1] == [1, 1, 1]
    labels = importance_examples(scored, wordpiece, 0.5, {vocab["the"], vocab["not"]})["labels"][0]
    assert labels == [-100, 0, 1, 0, -100]


def test_pairs_walk_the_sentence_with_the_aspect_fixed(sensitive_bert, wordpiece):  # noqa: F811
    """Read from ASC.forward: the buffer starts from the sentence's first token after [CLS] aspect [SEP];
    each step adds the next token and pops it when P(y | aspect, buffer) is within delta of the full pair's."""
    rng = np.random.default_rng(2)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 9)))) for _ in range(12)]
    aspects = [str(rng.choice(["food", "service", "price"])) for _ in texts]
    scorer = Scorer(sensitive_bert, wordpiece, batch_size=1)
    text_ids = [wordpiece(t, add_special_tokens=False)["input_ids"] for t in texts]
    aspect_ids = [wordpiece(a, add_special_tokens=False)["input_ids"] for a in aspects]
    full = scorer.probabilities(text_ids, aspect_ids)
    labels = [int(p.argmax()) for p in full]
    result = score_importance(sensitive_bert, wordpiece, texts, labels, delta=0.05, batch_size=5, aspects=aspects)
    assert result.rows == list(range(len(texts)))
    for row, scores in zip(result.rows, result.scores):
        buffer, expected = [], []
        for token in text_ids[row]:
            p = scorer.probabilities([[*buffer, token]], [aspect_ids[row]])[0][labels[row]]
            if full[row][labels[row]] - p < 0.05:
                expected.append(1.0)
            else:
                expected.append(0.0)
                buffer.append(token)
        assert scores == expected
    # the pair changes the prediction: scoring without the aspect is not the same walk
    alone = scorer.probabilities(text_ids)
    assert not np.allclose(alone, full)
    merged = union_by_text(result, [t if i % 2 else texts[0] for i, t in enumerate(texts)])
    assert len(merged.rows) == len(set(t if i % 2 else texts[0] for i, t in enumerate(texts)))


@pytest.mark.slow
def test_classifier_keeps_its_best_dev_epoch(tiny_model_dir, wordpiece, tmp_path):
    from maskkit.selective.classifier import importance_examples, train_importance_classifier

    rng = np.random.default_rng(3)
    vocab = wordpiece.get_vocab()
    rows = [[vocab[w] for w in rng.choice(WORDS, size=8)] for _ in range(40)]
    scored = ScoredSentences(token_ids=rows, scores=[[float(i % 3 == 0) for i in range(8)] for _ in rows],
                             rows=list(range(40)), confidence=[1.0] * 40)  # fmt: skip
    examples = importance_examples(scored, wordpiece, 0.5)
    result = train_importance_classifier(tiny_model_dir, wordpiece, examples, str(tmp_path / "clf"), epochs=4,
                                         lr=3e-3, heldout=0.25, selection="best_f1", progress=False)  # fmt: skip
    assert len(result.epoch_f1) == 4
    assert result.heldout["f1"] == pytest.approx(max(result.epoch_f1))
    assert not (tmp_path / "clf" / "checkpoints").exists()


def test_recipes_fill_unset_settings_and_say_what_is_overridden(tmp_path):
    from maskkit.selective.config import SelectiveConfig
    from maskkit.selective.recipes import PROFILES, RECIPES

    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\na\t0\n")
    domain = tmp_path / "domain.txt"
    domain.write_text("a\n")
    embedded = SelectiveConfig()
    assert (embedded.recipe, embedded.profile) == ("maskkit", "demo") and not embedded.overrides
    assert embedded.scoring_limit == 400 and embedded.pack_length == 0 and embedded.random_control == "non_stop"
    own = SelectiveConfig(train=str(train), in_domain=str(domain))
    assert (own.recipe, own.profile) == ("official", "paper")
    for key, value in {**RECIPES["official"], **PROFILES["paper"]}.items():
        assert getattr(own, key) == value, key
    mixed = SelectiveConfig(train=str(train), in_domain=str(domain), classifier_lr=5e-5, scoring_limit=100)
    assert mixed.overrides == ("classifier_lr: 1e-05 (recipe official) -> 5e-05",
                               "scoring_limit: 0 (profile paper) -> 100")  # fmt: skip
    assert SelectiveConfig(recipe="maskkit", train=str(train), in_domain=str(domain)).misclassified == "drop"
    with pytest.raises(ValueError, match="recipe must be one of"):
        SelectiveConfig(recipe="paper")
    with pytest.raises(ValueError, match="random_control must be one of"):
        SelectiveConfig(random_control="some")
    with pytest.raises(ValueError, match="packs: give pack_length"):
        SelectiveConfig(in_domain_selection="official")


def test_scored_selector_official_control_and_cap(wordpiece):
    from maskkit.collate import MaskingCollator
    from maskkit.masking.selectors import ScoredSelector

    vocab = wordpiece.get_vocab()
    words = ["the", "movie", "was", "not", "great", "and", "the", "plot", "is", "long"]
    ids = [vocab["[CLS]"], *[vocab[w] for w in words], vocab["[SEP]"]]
    scores = [0.0, 0.9, 0.9, 0.1, 0.9, 0.9, 0.1, 0.9, 0.9, 0.1, 0.9, 0.0]
    rows = [{"input_ids": ids, "importance": scores, "id": i} for i in range(400)]
    stop = ("the", "not", "and", "is", "was")
    drawn_stop = {}
    for over in ("unexcluded", "all"):
        selector = ScoredSelector(rate=0.3, mode="matched_random", min_score=0.5, exclude_words=stop, random_over=over)
        labels = MaskingCollator(wordpiece, selector, seed=0, key_column="id")(rows)["labels"].numpy()
        targets = labels != -100
        stop_ids = {vocab[w] for w in stop}
        drawn_stop[over] = sum(int(ids[j] in stop_ids) for row in targets for j in np.flatnonzero(row))
        assert (targets.sum(axis=1) == 3).all()  # as many as "top" takes: round(0.3 * 10)
    assert drawn_stop["unexcluded"] == 0 and drawn_stop["all"] > 0.3 * 1200 - 5 * np.sqrt(1200 * 0.25)
    capped = ScoredSelector(rate=1.0, mode="top", min_score=0.5, max_predictions=2)
    labels = MaskingCollator(wordpiece, capped, seed=0, key_column="id")(rows[:50])["labels"].numpy()
    assert ((labels != -100).sum(axis=1) == 2).all()
    assert torch.is_tensor(torch.as_tensor(labels))
