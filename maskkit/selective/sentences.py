"""Sentence-level steps of the official selective-masking recipe (thunlp/SelectiveMasking): documents
split into sentences, the top sentences of each document, the official in-domain selection per sentence
with its random control, and sentences packed into pre-training sequences. Pure functions over token ids;
the pipeline's stages call them (see `maskkit.selective.recipes` for the official files they follow)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from maskkit.rng import stable_hash64
from maskkit.selective.importance import ScoredSentences


def document_sentences(documents: Sequence[str], split: bool) -> tuple[list[str], list[int]]:
    """Every document's sentences (the whole document when not `split`) and the document of each."""
    from maskkit.text.sentences import split_sentences

    sentences: list[str] = []
    document_of: list[int] = []
    for d, text in enumerate(documents):
        pieces = split_sentences(text) if split else [text]
        sentences.extend(pieces)
        document_of.extend([d] * len(pieces))
    return sentences, document_of


def keep_top_sentences(scored: ScoredSentences, document_of: Sequence[int], rate: float) -> int:
    """Official `top_sen_rate`: of each document's correctly classified sentences, only the
    max(1, int(rate * k)) the task model is most confident in keep their scores; the others' scores
    become 0 (unimportant). Returns how many were demoted."""
    by_document: dict[int, list[int]] = {}
    for k, row in enumerate(scored.rows):
        by_document.setdefault(document_of[row], []).append(k)
    demoted = 0
    for members in by_document.values():
        ranked = sorted(members, key=lambda k: -scored.confidence[k])  # stable: ties keep sentence order
        for k in ranked[max(int(rate * len(ranked)), 1) :]:
            scored.scores[k] = [0.0] * len(scored.scores[k])
            demoted += 1
    return demoted


def add_unimportant(scored: ScoredSentences, token_ids: Sequence[Sequence[int]]) -> int:
    """Adds every non-empty row the scoring left out (misclassified) with all of its tokens unimportant,
    as the official classifier data holds them; rows stay in input order. Returns how many were added."""
    kept = set(scored.rows)
    added = [(i, list(ids)) for i, ids in enumerate(token_ids) if ids and i not in kept]
    for i, ids in added:
        scored.rows.append(i)
        scored.token_ids.append(ids)
        scored.scores.append([0.0] * len(ids))
        scored.confidence.append(float("nan"))
    order = np.argsort(scored.rows, kind="stable")
    for name in ("rows", "token_ids", "scores", "confidence"):
        values = getattr(scored, name)
        setattr(scored, name, [values[k] for k in order])
    return len(added)


def official_selection(important_logit: Sequence[float], important: Sequence[bool], n: int, rate: float) -> list[int]:
    """Official in-domain selection of one sentence of `n` tokens: of the tokens the classifier labels
    important (its argmax), the max(1, int(rate * n)) with the highest important-class logit, as
    positions in the sentence (ties keep sentence order)."""
    candidates = [i for i in range(len(important)) if important[i]]
    ranked = sorted(candidates, key=lambda i: -important_logit[i])
    return sorted(ranked[: int(max(1, rate * n))])


def random_control(n: int, count: int, allowed: Sequence[bool] | None, rng: random.Random) -> list[int]:
    """The matched random control of one sentence: `count` positions drawn uniformly (over the allowed
    positions when given; the official control draws over every token)."""
    pool = [i for i in range(n) if allowed is None or allowed[i]]
    rng.shuffle(pool)
    return sorted(pool[:count])


def pack_rng(seed: int, document: int) -> random.Random:
    """The generator of one document's packing and random control: keyed, so shards do not matter."""
    return random.Random(stable_hash64(seed, "selective-pack", document))


@dataclass
class Packed:
    """Packed pre-training rows (content tokens, no specials) and per-token flag columns."""

    ids: list[list[int]]
    flags: dict[str, list[list[float]]]


def pack_document(
    sentences: Sequence[Sequence[int]], flags: Mapping[str, Sequence[Sequence[float]]], max_tokens: int,
    short_seq_prob: float, rng: random.Random,
) -> Packed:  # fmt: skip
    """Official packing of one document (create_pretraining_data.py, create_instances_from_document):
    sentences are added to a sequence until it holds at least the target length (max_tokens, or with
    probability `short_seq_prob` a length drawn from 2..max_tokens), then the sequence is cut to
    max_tokens by dropping tokens from its front or back at random; a sequence never crosses documents."""
    target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
    out = Packed([], {name: [] for name in flags})
    chunk: list[int] = []
    chunk_flags: dict[str, list[float]] = {name: [] for name in flags}
    nonempty = [k for k, s in enumerate(sentences) if len(s)]
    for position, k in enumerate(nonempty):
        chunk.extend(sentences[k])
        for name in flags:
            chunk_flags[name].extend(flags[name][k])
        if position == len(nonempty) - 1 or len(chunk) >= target:
            start, end = 0, len(chunk)
            while end - start > max_tokens:
                if rng.random() < 0.5:
                    start += 1
                else:
                    end -= 1
            out.ids.append(chunk[start:end])
            for name in flags:
                out.flags[name].append(chunk_flags[name][start:end])
            chunk, chunk_flags = [], {name: [] for name in flags}
    return out


def union_by_text(scored: ScoredSentences, texts: Sequence[str]) -> ScoredSentences:
    """Pair tasks: one row per distinct text, a token important when it is for any of the text's aspects
    (the official ASC code collects the positions of every aspect of a document into one set)."""
    merged = ScoredSentences(wrong=scored.wrong, empty=scored.empty, truncated=scored.truncated)
    first: dict[str, int] = {}
    for row, ids, scores in zip(scored.rows, scored.token_ids, scored.scores):
        k = first.setdefault(texts[row], len(merged.rows))
        if k == len(merged.rows):
            merged.rows.append(row)
            merged.token_ids.append(list(ids))
            merged.scores.append(list(scores))
            merged.confidence.append(float("nan"))
            continue
        if len(ids) > len(merged.token_ids[k]):
            merged.token_ids[k] = list(ids)
            merged.scores[k] += [0.0] * (len(ids) - len(merged.scores[k]))
        merged.scores[k] = [max(a, b) for a, b in zip(merged.scores[k], [*scores, *[0.0] * len(merged.scores[k])])]
    return merged
