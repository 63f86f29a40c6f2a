"""PMI masking: PMI_n against a brute-force reading of the paper's definition, collocations ranked above
frequent chance pairs, the lexicon file, and its phrases masked as units."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from maskkit import MaskingCollator, UnitSelector
from maskkit.pmi import ngram_counts, pmi_score, pmi_vocabulary, read_lexicon, write_lexicon
from maskkit.units import FindUnits


def corpus(size=400, seed=0):
    """Random sentences over a small vocabulary in which "new york city" and "ice cream" are fixed."""
    rng = random.Random(seed)
    words = "the of a cat dog sat on mat saw big small red".split()
    lines = []
    for _ in range(size):
        line = [rng.choice(words) for _ in range(rng.randint(4, 9))]
        if rng.random() < 0.3:
            line.insert(rng.randint(0, len(line)), "new york city")
        if rng.random() < 0.3:
            line.insert(rng.randint(0, len(line)), "ice cream")
        lines.append(" ".join(line) + ".")
    return lines


def segmentations(n):
    """Every way to cut n words into two or more contiguous parts (as part lengths)."""
    for cuts in range(1, n):
        for points in itertools.combinations(range(1, n), cuts):
            bounds = (0, *points, n)
            yield [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def test_pmi_is_the_minimum_over_segmentations():
    texts = corpus()
    counts = ngram_counts(texts, 4)
    totals = [sum(c.values()) for c in counts]

    def logp(gram):
        return math.log(counts[len(gram)][gram] / totals[len(gram)])

    grams = [g for n in (2, 3, 4) for g, c in counts[n].items() if c >= 5]
    assert len(grams) > 50
    for gram in grams:
        expected = min(logp(gram) - sum(logp(gram[a:b]) for a, b in cut) for cut in segmentations(len(gram)))
        assert pmi_score(gram, counts) == pytest.approx(expected, abs=1e-9)


def test_collocations_rank_above_chance_pairs(tmp_path):
    vocabulary = pmi_vocabulary(corpus(), max_n=4, min_count=10, size=5, log=lambda _: None)
    top = [phrase for phrase, _ in vocabulary]
    assert {"new york", "york city", "new york city", "ice cream"} & set(top[:3])
    assert "the cat" not in top and all(a >= b for (_, a), (_, b) in itertools.pairwise(vocabulary))
    path = tmp_path / "pmi.txt"
    write_lexicon(path, vocabulary)
    assert read_lexicon(path) == tuple(top)


def test_a_corpus_too_small_is_said_so():
    with pytest.raises(ValueError, match="too small for a PMI vocabulary"):
        pmi_vocabulary(["just a few words here."], min_count=10)
    notes = []
    pmi_vocabulary(corpus(50), min_count=10, size=10_000, log=notes.append)
    assert notes and "were asked for" in notes[0]


def test_lexicon_phrases_are_masked_as_units(wordpiece):
    stage = FindUnits(wordpiece, kind="lexicon", gazetteer=("the lazy dog", "quick brown fox"))
    text = "the quick brown fox jumps over the lazy dog"
    assert [text[a:b] for a, b in stage.spans(text)] == ["quick brown fox", "the lazy dog"]
    row = stage({"text": [text]})
    ids = np.array(row["unit_ids"][0])
    collator = MaskingCollator(wordpiece, UnitSelector(rate=0.4), return_tensors="np")
    for epoch in range(8):
        collator.set_epoch(epoch)
        target = collator([{"input_ids": row["input_ids"][0], "unit_ids": row["unit_ids"][0]}])["labels"][0] != -100
        for unit in (0, 1):
            assert len(set(target[ids == unit])) == 1


def test_the_pmi_command_writes_a_lexicon(tmp_path, capsys):
    from maskkit.cli.main import main

    texts = tmp_path / "corpus.txt"
    texts.write_text("\n".join(corpus()) + "\n")
    out = tmp_path / "pmi.txt"
    assert main(["pmi", str(texts), str(out), "--max-n", "3", "--size", "4"]) == 0
    assert len(read_lexicon(out)) == 4 and "4 phrases from 400 texts" in capsys.readouterr().out
    small = tmp_path / "small.txt"
    small.write_text("a few words.\n")
    assert main(["pmi", str(small), str(out), "--overwrite"]) == 2
    assert "too small for a PMI vocabulary" in capsys.readouterr().err
