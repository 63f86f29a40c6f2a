"""PMI masking (Levine et al. 2021): a vocabulary of collocations built from the user's own corpus, masked
as units.

An n-gram's score is PMI_n: the log of its probability over the product of its parts' probabilities,
taken at the segmentation into two or more contiguous parts that explains it best (the minimum over
segmentations), so "new york city" scores high only if no split of it ("new york" + "city") explains
its frequency. Probabilities are counts over the number of n-gram positions of the same length. N-grams
of 2 to `max_n` words that occur at least `min_count` times are ranked by score; the `size` best form
the vocabulary. Words are lower-cased word characters (punctuation breaks n-grams).

The vocabulary is a lexicon file (one phrase per line, `write_lexicon` / `read_lexicon`); mask its
phrases as units with `FindUnits(tokenizer, kind="lexicon", gazetteer=read_lexicon(path))` and
`UnitSelector()`.

References: Levine et al. 2021, PMI-Masking: Principled Masking of Correlated Spans.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache

from maskkit.errors import InputError, MissingFile
from maskkit.rng import as_integer
from maskkit.runs.files import write_text

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def words_of(text: str) -> list[list[str]]:
    """The runs of lower-cased words of a text, broken at punctuation."""
    return [[w.lower() for w in _WORD.findall(piece)] for piece in re.split(r"[^\w\s'’-]+", text)]


def ngram_counts(texts: Iterable[str], max_n: int) -> list[Counter[tuple[str, ...]]]:
    """counts[n] holds every n-gram (n = 1 .. max_n) of the texts with its number of occurrences."""
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(max_n + 1)]
    for text in texts:
        for run in words_of(text):
            for n in range(1, max_n + 1):
                counts[n].update(tuple(run[i : i + n]) for i in range(len(run) - n + 1))
    return counts


def pmi_score(
    gram: tuple[str, ...], counts: Sequence[Counter[tuple[str, ...]]], totals: Sequence[int] | None = None
) -> float:
    """PMI_n of an n-gram (n >= 2) whose parts all occur in `counts` (`totals`: each length's n-gram count)."""
    totals = [sum(c.values()) for c in counts] if totals is None else totals

    @cache
    def best(start: int, end: int, parts_at_least: int) -> float:
        """The largest sum of log-probabilities over segmentations of gram[start:end] into parts."""
        whole = -math.inf
        if parts_at_least <= 1:
            piece = gram[start:end]
            whole = math.log(counts[len(piece)][piece] / totals[len(piece)])
        split = max((best(start, k, 1) + best(k, end, 1) for k in range(start + 1, end)), default=-math.inf)
        return max(whole, split)

    return math.log(counts[len(gram)][gram] / totals[len(gram)]) - best(0, len(gram), 2)


def pmi_vocabulary(
    texts: Iterable[str], max_n: int = 5, min_count: int = 10, size: int = 10_000, log: object = print
) -> list[tuple[str, float]]:
    """The `size` n-grams (2 .. max_n words, at least `min_count` occurrences) with the highest PMI_n, as
    (phrase, score), best first. A corpus with too few repeated n-grams for the size asked is said so."""
    max_n, min_count, size = (as_integer(v, name, minimum=m) for v, name, m in
                              ((max_n, "max_n", 2), (min_count, "min_count", 1), (size, "size", 1)))  # fmt: skip
    counts = ngram_counts(texts, max_n)
    words = sum(counts[1].values())
    candidates = [g for n in range(2, max_n + 1) for g, c in counts[n].items() if c >= min_count]
    if not candidates:
        raise InputError(
            f"the corpus is too small for a PMI vocabulary: none of its n-grams of 2 to {max_n} words occurs "
            f"{min_count} times ({words} words in all); give more text or a lower min_count"
        )
    totals = [sum(c.values()) for c in counts]
    scored = sorted(((" ".join(g), pmi_score(g, counts, totals)) for g in candidates), key=lambda t: (-t[1], t[0]))
    if len(scored) < size and callable(log):
        log(f"PMI vocabulary: only {len(scored)} n-grams occur {min_count} times or more ({words} words); "
            f"{size} were asked for")  # fmt: skip
    return scored[:size]


LEXICON_HEADER = "# maskkit lexicon: one phrase per line"  # the first line maskkit writes; read_lexicon skips it


def write_lexicon(path: str | os.PathLike[str], phrases: Iterable[str | tuple[str, float]]) -> None:
    """One phrase per line after maskkit's header line, written atomically."""
    lines = "".join((p if isinstance(p, str) else p[0]) + "\n" for p in phrases)
    write_text(path, LEXICON_HEADER + "\n" + lines)


def is_maskkit_lexicon(path: str) -> bool:
    """True for a lexicon file maskkit wrote (its first line is maskkit's header)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.readline().rstrip("\r\n") == LEXICON_HEADER


def read_lexicon(path: str | os.PathLike[str]) -> tuple[str, ...]:
    if not os.path.isfile(path):
        raise MissingFile(f"lexicon file {os.fspath(path)!r} does not exist")
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    if lines and lines[0] == LEXICON_HEADER:
        lines = lines[1:]
    return tuple(line for line in lines if line)
