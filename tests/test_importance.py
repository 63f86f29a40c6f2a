"""Token importance: the buffer method by hand and against the sequential reference, leave-one-out scores,
and the counted exclusions (wrong predictions, empty and over-long sentences)."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import BertConfig, BertForSequenceClassification

from maskkit.selective.importance import Scorer, buffer_importance_sequential, content_ids, score_importance
from tests.conftest import SENTENCES, WORDS


class BagOfWords(torch.nn.Module):
    """P(label 1) = sigmoid(sum of the tokens' weights): importance can be worked out by hand."""

    def __init__(self, weights: dict[int, float], vocab: int) -> None:
        super().__init__()
        self.weight = torch.nn.Embedding(vocab, 1)
        torch.nn.init.zeros_(self.weight.weight)
        with torch.no_grad():
            for token, w in weights.items():
                self.weight.weight[token, 0] = w
        self.config = types.SimpleNamespace(num_labels=2)

    @property
    def device(self) -> torch.device:
        return self.weight.weight.device

    def forward(self, input_ids, attention_mask):
        score = (self.weight(input_ids)[..., 0] * attention_mask).sum(dim=1)
        return types.SimpleNamespace(logits=torch.stack([torch.zeros_like(score), score], dim=1))


def test_buffer_method_on_a_hand_worked_example(wordpiece):
    vocab = wordpiece.get_vocab()
    # "the movie was great": only "great" carries the label; P(1 | sentence) = sigmoid(3) = 0.953
    model = BagOfWords({vocab["great"]: 3.0, vocab["movie"]: 0.005}, len(vocab))
    result = score_importance(model, wordpiece, ["the movie was great", "the movie was bad"], [1, 0], delta=0.01)
    # buffer: "the" -> 0.5 (far from 0.953, stays); "movie" -> 0.501 (stays); "was" -> 0.501 (stays);
    # "great" -> sigmoid(3.005) - sigmoid(3) < 0.01: important, and it leaves the buffer
    assert result.scores == [[0.0, 0.0, 0.0, 1.0]]
    assert result.rows == [0] and result.wrong == 1  # the model calls "the movie was bad" label 1: left out
    drop = score_importance(model, wordpiece, ["the movie was great"], [1], method="prob_drop")
    assert np.argmax(drop.scores[0]) == 3 and drop.scores[0][3] == pytest.approx(
        1 / (1 + np.exp(-3.005)) - 0.50125, abs=1e-4
    )


@pytest.fixture(scope="module")
def sensitive_bert(wordpiece):
    """A random tiny BERT with large weights, so that its predictions move with every token."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(wordpiece), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        num_labels=3, initializer_range=0.5,
    )  # fmt: skip
    return BertForSequenceClassification(config).eval()


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sentences=st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=14), min_size=1, max_size=9),
    batch_size=st.integers(1, 6),
    delta=st.sampled_from([0.01, 0.05, 0.2]),
)
def test_batched_buffer_equals_the_sequential_algorithm(sensitive_bert, wordpiece, sentences, batch_size, delta):
    texts = [" ".join(words) for words in sentences]
    scorer = Scorer(sensitive_bert, wordpiece, batch_size=1)
    ids, _ = content_ids(wordpiece, texts, 64)
    probs = scorer.probabilities(ids)
    labels = [int(p.argmax()) for p in probs]
    batched = score_importance(sensitive_bert, wordpiece, texts, labels, delta=delta, batch_size=batch_size)
    assert batched.rows == list(range(len(texts))) and batched.wrong == 0
    for row, scores in zip(batched.rows, batched.scores):
        reference = buffer_importance_sequential(scorer, ids[row], labels[row], float(probs[row][labels[row]]), delta)
        assert scores == reference


def test_wrong_empty_and_long_sentences_are_counted(sensitive_bert, wordpiece, capsys):
    texts = [*SENTENCES[:4], "", " ".join(["movie"] * 100)]
    scorer = Scorer(sensitive_bert, wordpiece)
    ids, truncated = content_ids(wordpiece, texts, 40)
    assert truncated == 1 and len(ids[5]) == 38
    predicted = [int(p.argmax()) for p in scorer.probabilities([s or [1] for s in ids])]
    gold = [predicted[0], (predicted[1] + 1) % 3, predicted[2], predicted[3], 0, predicted[5]]
    for method in ("buffer", "entropy", "prob_drop"):
        result = score_importance(sensitive_bert, wordpiece, texts, gold, method=method, max_length=40)
        assert result.rows == [0, 2, 3, 5] and result.wrong == 1 and result.empty == 1 and result.truncated == 1
        assert [len(s) for s in result.scores] == [len(ids[r]) for r in result.rows]
    entropy = score_importance(sensitive_bert, wordpiece, texts, gold, method="entropy", max_length=40)
    assert all(v >= 0 for s in entropy.scores for v in s) and any(v > 0.01 for s in entropy.scores for v in s)
    # no labels (the label-free selection): the model's own predictions, so no sentence is dropped as wrong
    own = score_importance(sensitive_bert, wordpiece, texts, None, method="entropy", max_length=40, progress=True)
    assert "entropy importance: 5/5 sentence (100%)" in capsys.readouterr().err  # a line at the end, off a terminal
    assert own.rows == [0, 1, 2, 3, 5] and own.wrong == 0 and own.empty == 1
    assert own.scores == score_importance(sensitive_bert, wordpiece, texts, predicted, "entropy", max_length=40).scores


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "attention"}, "method must be one of"), ({"delta": 0.0}, "delta"), ({"labels": [7]}, "row 0 has 7")],
)
def test_bad_arguments(sensitive_bert, wordpiece, kwargs, message):
    arguments = {"texts": ["good movie"], "labels": [0], **kwargs}
    with pytest.raises(ValueError, match=message):
        score_importance(sensitive_bert, wordpiece, **arguments)


def test_importance_counts_name_sentences_that_selective_masking_cannot_use():
    from maskkit.selective.importance import ScoredSentences, importance_counts

    scored = ScoredSentences(
        token_ids=[[1, 2, 3], [1, 4], [5, 6]],
        scores=[[0.0, 1.0, 0.0], [1.0, 0.0], [0.0, 0.0]],  # 2 is content; 1 is a stop word; none in the third
    )
    counts = importance_counts(scored, threshold=0.5, stop_ids={1})
    assert counts == {"important_share": pytest.approx(2 / 7), "without_important_token": 1,
                      "only_stop_words_important": 1}  # fmt: skip
    assert importance_counts(scored, 0.5, set())["only_stop_words_important"] == 0
