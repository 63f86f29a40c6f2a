"""Token importance from a fine-tuned task model, three methods behind one interface.

- "buffer" (Gu et al. 2020): for a sentence the model classifies correctly, walk its tokens left to right
  adding each to a buffer; when the buffer's confidence in the gold label comes within `delta` of the
  whole sentence's (P(y|s) - P(y|buffer) < delta) the newest token is important and leaves the buffer.
  Scores are 1 (important) or 0. Batched: one forward pass per position for a whole batch of sentences,
  with exactly the decisions of the sequential algorithm (`buffer_importance_sequential`).
- "entropy" (the seeds' proposal): how far the prediction entropy moves when the token is masked,
  |H(P(.|s with token i masked)) - H(P(.|s))|, leave-one-out.
- "prob_drop" (a cheap baseline): P(y|s) - P(y|s with token i masked).

Tokens are the model's own (specials excluded); a sentence longer than `max_length` is cut to its head,
the same cut `Tokenize(max_length=...)` makes before pre-training, so scores and tokens stay aligned.
Sentences the model gets wrong are left out and counted. For pair tasks (aspect-level sentiment) each
sentence comes with its aspect, framed as the official ASC code does ([CLS] aspect [SEP] sentence [SEP]):
the walk and the masking run over the sentence with the aspect held fixed.

References: Gu et al. 2020, Train No Evil: Selective Masking for Task-Guided Pre-Training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from maskkit.errors import InputError
from maskkit.progress import progress_bar
from maskkit.training.encode import pair_frame, special_frame

METHODS = ("buffer", "entropy", "prob_drop")


@dataclass
class ScoredSentences:
    """Per kept sentence: its content token ids, one score per token, and its row in the input."""

    token_ids: list[list[int]] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)  # P(gold | whole sentence)
    wrong: int = 0
    empty: int = 0
    truncated: int = 0


class Scorer:
    """Runs a classifier on token-id sequences framed by the tokenizer's specials, in padded batches."""

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.before, self.after = special_frame(tokenizer)
        self.pair: tuple[list[int], list[int], list[int], int] | None = None
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.forwards = 0

    def frame(self, sequence: Sequence[int], prefix: Sequence[int] | None) -> tuple[list[int], list[int]]:
        """Ids with specials and token type ids: the sequence alone, or after its prefix (a pair)."""
        if prefix is None:
            ids = self.before + list(sequence) + self.after
            return ids, [0] * len(ids)
        if self.pair is None:
            self.pair = pair_frame(self.tokenizer)
        before, middle, after, second = self.pair
        first = before + list(prefix) + middle
        return first + list(sequence) + after, [0] * len(first) + [second] * (len(sequence) + len(after))

    def probabilities(
        self, sequences: Sequence[Sequence[int]], prefixes: Sequence[Sequence[int]] | None = None
    ) -> np.ndarray:
        """Class probabilities for each content sequence (after its prefix, when given), in order."""
        out = []
        device = self.model.device
        for start in range(0, len(sequences), self.batch_size):
            chunk = [self.frame(s, None if prefixes is None else prefixes[start + i])
                     for i, s in enumerate(sequences[start : start + self.batch_size])]  # fmt: skip
            width = max(len(s) for s, _ in chunk)
            ids = torch.full((len(chunk), width), self.pad, dtype=torch.long)
            types = torch.zeros((len(chunk), width), dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for i, (s, t) in enumerate(chunk):
                ids[i, : len(s)] = torch.tensor(s)
                types[i, : len(s)] = torch.tensor(t)
                mask[i, : len(s)] = 1
            inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
            if prefixes is not None:
                inputs["token_type_ids"] = types.to(device)
            with torch.no_grad():
                logits = self.model(**inputs).logits
            self.forwards += 1
            out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, int(self.model.config.num_labels)))


def content_ids(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
    """Token ids without specials, cut to fit `max_length` with the specials; and how many were cut."""
    before, after = special_frame(tokenizer)
    budget = max_length - len(before) - len(after)
    ids = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    return [row[:budget] for row in ids], sum(len(row) > budget for row in ids)


def buffer_decisions(
    scorer: Scorer, sentences: Sequence[Sequence[int]], labels: Sequence[int], full: Sequence[float], delta: float,
    prefixes: Sequence[Sequence[int]] | None = None,
) -> list[list[float]]:  # fmt: skip
    """The buffer method over many sentences at once: position i of every sentence in one batch."""
    buffers: list[list[int]] = [[] for _ in sentences]
    scores = [[0.0] * len(s) for s in sentences]
    for position in range(max((len(s) for s in sentences), default=0)):
        active = [j for j, s in enumerate(sentences) if position < len(s)]
        probs = scorer.probabilities([buffers[j] + [sentences[j][position]] for j in active],
                                     None if prefixes is None else [prefixes[j] for j in active])  # fmt: skip
        for j, p in zip(active, probs):
            if full[j] - p[labels[j]] < delta:
                scores[j][position] = 1.0
            else:
                buffers[j].append(sentences[j][position])
    return scores


def buffer_importance_sequential(
    scorer: Scorer, sentence: Sequence[int], label: int, full: float, delta: float
) -> list[float]:
    """The reference: one sentence, one position (one forward pass of one row) at a time."""
    buffer: list[int] = []
    scores = []
    for token in sentence:
        p = scorer.probabilities([[*buffer, token]])[0][label]
        if full - p < delta:
            scores.append(1.0)
        else:
            scores.append(0.0)
            buffer.append(token)
    return scores


def leave_one_out(
    scorer: Scorer, sentences: Sequence[Sequence[int]], mask_id: int, prefixes: Sequence[Sequence[int]] | None = None
) -> list[np.ndarray]:
    """Probabilities with each token masked in turn: one array (tokens x classes) per sentence."""
    variants = [[*s[:i], mask_id, *s[i + 1 :]] for s in sentences for i in range(len(s))]
    repeated = None if prefixes is None else [p for p, s in zip(prefixes, sentences) for _ in s]
    probs = scorer.probabilities(variants, repeated)
    out, start = [], 0
    for s in sentences:
        out.append(probs[start : start + len(s)])
        start += len(s)
    return out


def entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(axis=-1)


def score_importance(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    labels: Sequence[int] | None,
    method: str = "buffer",
    delta: float = 0.01,
    batch_size: int = 64,
    max_length: int = 128,
    aspects: Sequence[str] | None = None,
    progress: bool = False,
) -> ScoredSentences:
    """Scores every token of the sentences the task model classifies correctly (see the module docstring).

    `labels` are the gold label ids of the task model (None: its own predictions, so every non-empty
    sentence is scored, as the label-free selection does); `aspects`, for pair tasks, the aspect of each
    sentence. Sentences are processed in length-sorted chunks of `batch_size`, so padding stays small; the
    model runs on its own device. `progress`: a bar (lines when not on a terminal) over the sentences.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    if (labels is not None and len(texts) != len(labels)) or (aspects is not None and len(aspects) != len(texts)):
        raise InputError(f"{len(texts)} texts but {len(texts if labels is None else labels)} labels" +
                         ("" if aspects is None else f" and {len(aspects)} aspects"))  # fmt: skip
    if not 0 < delta < 1:
        raise InputError(f"delta must be in (0, 1), got {delta}")
    num_labels = int(model.config.num_labels)
    bad = [i for i, y in enumerate(labels or []) if not isinstance(y, (int, np.integer)) or not 0 <= y < num_labels]
    if bad:
        raise InputError(f"labels must be ids in [0, {num_labels}); row {bad[0]} has {(labels or [])[bad[0]]!r}")
    model.eval()
    scorer = Scorer(model, tokenizer, batch_size)
    prefixes = None
    if aspects is None:
        sentences, truncated = content_ids(tokenizer, texts, max_length)
    else:
        prefixes = tokenizer(list(aspects), add_special_tokens=False, verbose=False)["input_ids"]
        whole = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        before, middle, after, _ = pair_frame(tokenizer)
        extra = len(before) + len(middle) + len(after)
        sentences = [row[: max(max_length - extra - len(p), 0)] for row, p in zip(whole, prefixes)]
        truncated = sum(len(cut) < len(row) for cut, row in zip(sentences, whole))
    result = ScoredSentences(truncated=truncated)
    result.empty = sum(not s for s in sentences)
    rows = [i for i, s in enumerate(sentences) if s]
    full = scorer.probabilities([sentences[i] for i in rows], None if prefixes is None else [prefixes[i] for i in rows])
    if labels is None:
        labels = [0] * len(texts)
        for i, p in zip(rows, full):
            labels[i] = int(p.argmax())
    kept = [(i, p) for i, p in zip(rows, full) if int(p.argmax()) == labels[i]]
    result.wrong = len(rows) - len(kept)
    kept.sort(key=lambda item: len(sentences[item[0]]))
    bar = progress_bar(len(kept), f"{method} importance", "sentence", enabled=progress)
    for start in range(0, len(kept), batch_size):
        chunk = kept[start : start + batch_size]
        ids = [sentences[i] for i, _ in chunk]
        fixed = None if prefixes is None else [prefixes[i] for i, _ in chunk]
        gold = [int(labels[i]) for i, _ in chunk]
        if method == "buffer":
            scores = buffer_decisions(scorer, ids, gold, [float(p[y]) for (_, p), y in zip(chunk, gold)], delta,
                                      fixed)  # fmt: skip
        else:
            masked = leave_one_out(scorer, ids, tokenizer.mask_token_id, fixed)
            if method == "entropy":
                scores = [list(np.abs(entropy(m) - entropy(p))) for m, (_, p) in zip(masked, chunk)]
            else:
                scores = [list(p[y] - m[:, y]) for m, (_, p), y in zip(masked, chunk, gold)]
        for (i, p), token_ids, s, y in zip(chunk, ids, scores, gold):
            result.rows.append(i)
            result.confidence.append(float(p[y]))
            result.token_ids.append(list(token_ids))
            result.scores.append([float(v) for v in s])
        bar.update(len(chunk))
    bar.close()
    order = np.argsort(result.rows, kind="stable")
    result.rows = [result.rows[k] for k in order]
    result.token_ids = [result.token_ids[k] for k in order]
    result.scores = [result.scores[k] for k in order]
    result.confidence = [result.confidence[k] for k in order]
    return result


def importance_counts(scored: ScoredSentences, threshold: float, stop_ids: set[int]) -> dict[str, int | float]:
    """How the scored sentences feed selective masking: the share of important tokens, the sentences with
    none, and those whose important tokens are all stop words (ScoredSelector never masks those)."""
    flags = [s > threshold for row in scored.scores for s in row]
    none = only_stop = 0
    for ids, row in zip(scored.token_ids, scored.scores):
        important = [t for t, s in zip(ids, row) if s > threshold]
        none += not important
        only_stop += bool(important) and all(t in stop_ids for t in important)
    share = sum(flags) / len(flags) if flags else 0.0
    return {"important_share": share, "without_important_token": none, "only_stop_words_important": only_stop}
