"""EDA: synonym replacement, random insertion, random swap and random deletion over words.

Each operation is batch-first (a list of texts in, a list of the same length out) and keyed: the k-th
augmentation of a text is a pure function of (seed, operation, the text's key, k), whatever the
batching or process. Unlike the reference script, texts keep their case, punctuation, digits and
contractions; synonyms are sampled, not the first one; each chosen occurrence is replaced on its own.
Stop words (English function words, negations included, as in the reference's list) are never replaced,
inserted, nor used as insertion sources, and negations (not, no, never, n't, ...) are never deleted or
swapped by default.

References: Wei & Zou 2019 (EDA: Easy Data Augmentation Techniques for Boosting Performance on Text
Classification Tasks).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar

from maskkit.augment.protocol import AugmentMethods, check_texts, checked_keys
from maskkit.augment.text import Token, gap, join_tokens, match_case, split_tokens
from maskkit.errors import InputError
from maskkit.registry import register
from maskkit.text.stopwords import FUNCTION_WORDS, NEGATIONS, is_negation
from maskkit.text.synonyms import SynonymSource, WordNetSynonyms

__all__ = ["EDA", "NEGATIONS", "RandomDelete", "RandomInsert", "RandomSwap", "SynonymReplace", "is_negation"]
from maskkit.masking.words import has_cjk
from maskkit.rng import as_integer, stable_hash64


def default_stop_words() -> frozenset[str]:
    """EDA's kind of stop list: English function words, negations included (`maskkit.text.stopwords`)."""
    return FUNCTION_WORDS


def _rng(seed: int, name: str, key: int, k: int) -> random.Random:
    """A generator of its own for one (seed, operation, text, k): never the global one."""
    return random.Random(stable_hash64("eda", seed, name, key, k))


@dataclass(frozen=True, kw_only=True)
class WordOperation(AugmentMethods):
    """Shared machinery of the EDA operations: keys, draws, tokens and word choices.

    `seed`, `stop_words` (default: English function words, negations included) and
    `protect_negations` are keyword-only, so an operation's strength is its first argument.
    """

    seed: int = 0
    stop_words: frozenset[str] | None = field(default=None, repr=False)
    protect_negations: bool = True
    NAME: ClassVar[str] = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", as_integer(self.seed, "seed"))

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> list[str]:
        """Augments each text once: the k-th augmentation, keyed by `keys` (default: the text itself)."""
        texts = check_texts(texts)
        keys = checked_keys(texts, keys)
        return [self.edit_text(text, _rng(self.seed, self.NAME, key, k)) for text, key in zip(texts, keys)]

    def edit_text(self, text: str, rng: random.Random) -> str:
        """One augmentation of one text with the given draws."""
        leading, tokens = split_tokens(text)
        words = [i for i, t in enumerate(tokens) if t.is_word]
        if not words:
            return text
        edited = self.edit(tokens, words, rng)
        return text if edited is None else join_tokens(leading, edited, segmented=has_cjk(text))

    def edit(self, tokens: list[Token], words: list[int], rng: random.Random) -> list[Token] | None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Loads what the operation reads (stop words, synonyms) before worker processes fork."""
        default_stop_words()
        synonyms = getattr(self, "synonyms", None)
        if hasattr(synonyms, "prepare"):
            synonyms.prepare()  # type: ignore[union-attr]

    def stops(self) -> frozenset[str]:
        return default_stop_words() if self.stop_words is None else self.stop_words

    def movable(self, tokens: list[Token], words: list[int]) -> list[int]:
        """Word positions an operation may delete or swap (negations stay by default)."""
        if not self.protect_negations:
            return words
        return [i for i in words if not is_negation(tokens[i].text)]


class Blocks:
    """Tokens in blocks of about sqrt(n), each with its count of words, so that finding the j-th word and
    inserting after it take O(sqrt n) steps: random insertion stays near-linear on a long document
    instead of quadratic."""

    def __init__(self, tokens: list[Token]) -> None:
        size = max(16, int(len(tokens) ** 0.5))
        self.size = size
        self.blocks = [tokens[i : i + size] for i in range(0, len(tokens), size)] or [[]]
        self.counts = [sum(t.is_word for t in block) for block in self.blocks]

    def word(self, j: int) -> tuple[list[Token], int]:
        """The block holding the j-th word (0-based) and the word's index in it."""
        for block, count in zip(self.blocks, self.counts):
            if j < count:
                for i, token in enumerate(block):
                    if token.is_word:
                        if j == 0:
                            return block, i
                        j -= 1
            j -= count
        raise IndexError("fewer words than asked for")

    def insert(self, block: list[Token], at: int, token: Token) -> None:
        index = next(i for i, b in enumerate(self.blocks) if b is block)
        block.insert(at, token)
        self.counts[index] += token.is_word
        if len(block) > 2 * self.size:  # split a block grown too long
            half = len(block) // 2
            self.blocks[index : index + 1] = [block[:half], block[half:]]
            self.counts[index : index + 1] = [sum(t.is_word for t in part) for part in self.blocks[index : index + 2]]

    def tokens(self) -> list[Token]:
        return [token for block in self.blocks for token in block]


def _count(rate: float, n_words: int) -> int:
    return max(1, int(rate * n_words))


def _check_rate(name: str, value: float) -> None:
    if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise InputError(f"{name} must be in [0, 1], got {value!r}")


@dataclass(frozen=True)
class _AlphaOperation(WordOperation):
    """An operation whose strength `alpha` is the share of words it changes (at least one)."""

    alpha: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_rate("alpha", self.alpha)


@dataclass(frozen=True)
class _SynonymOperation(_AlphaOperation):
    """An operation that draws on the synonyms of a text's non-stop words."""

    synonyms: SynonymSource = field(default_factory=WordNetSynonyms)

    def synonym_options(self, tokens: list[Token], words: list[int]) -> dict[int, tuple[str, ...]]:
        """Synonyms per word position, for content words that have any: stop words and negations are never
        replaced nor used as insertion sources, and a synonym that is one is never written."""
        stops = self.stops()

        def protected(word: str) -> bool:
            return word.lower() in stops or (self.protect_negations and is_negation(word))

        def negating(synonym: str) -> bool:  # a multi-word synonym ("not bad" for "great") brings a negation
            return self.protect_negations and any(is_negation(part) for part in re.split(r"[\s_-]+", synonym))

        found = {i: self.synonyms.synonyms(tokens[i].text) for i in words if not protected(tokens[i].text)}
        kept = {i: tuple(s for s in options if not protected(s) and not negating(s)) for i, options in found.items()}
        return {i: options for i, options in kept.items() if options}


@register("maskkit.synonym_replace.v1", "augmenter", short="sr")
@dataclass(frozen=True)
class SynonymReplace(_SynonymOperation):
    """Replaces max(1, alpha * n_words) distinct non-stop words, each by a synonym sampled at random."""

    NAME: ClassVar[str] = "sr"

    def edit(self, tokens: list[Token], words: list[int], rng: random.Random) -> list[Token] | None:
        options = self.synonym_options(tokens, words)
        if not options:
            return None
        positions = list(options)
        for i in rng.sample(positions, min(_count(self.alpha, len(words)), len(positions))):
            synonym = options[i][rng.randrange(len(options[i]))]
            tokens[i] = Token(match_case(synonym, tokens[i].text), tokens[i].space)
        return tokens


@register("maskkit.random_insert.v1", "augmenter", short="ri")
@dataclass(frozen=True)
class RandomInsert(_SynonymOperation):
    """Inserts max(1, alpha * n_words) times a synonym of a random non-stop word after a random word."""

    NAME: ClassVar[str] = "ri"

    def edit(self, tokens: list[Token], words: list[int], rng: random.Random) -> list[Token] | None:
        sources = list(self.synonym_options(tokens, words).values())
        if not sources:
            return None
        sequence, n_words = Blocks(tokens), len(words)
        for _ in range(_count(self.alpha, len(words))):
            synonyms = sources[rng.randrange(len(sources))]
            new = Token(synonyms[rng.randrange(len(synonyms))], " ")
            block, at = sequence.word(rng.randrange(n_words))
            before = block[at]  # the new word takes over the spacing after the word it follows
            new.space, before.space = before.space, gap(before.text, new.text)
            sequence.insert(block, at + 1, new)
            n_words += 1
        return sequence.tokens()


@register("maskkit.random_swap.v1", "augmenter", short="rs")
@dataclass(frozen=True)
class RandomSwap(_AlphaOperation):
    """Swaps two random words, max(1, alpha * n_words) times; negations stay in place by default.

    A swap into the first word's place takes over its capitalisation."""

    NAME: ClassVar[str] = "rs"

    def edit(self, tokens: list[Token], words: list[int], rng: random.Random) -> list[Token] | None:
        movable = self.movable(tokens, words)
        if len(movable) < 2:
            return None
        first = words[0]
        for _ in range(_count(self.alpha, len(words))):
            a, b = rng.sample(movable, 2)
            text_a, text_b = tokens[a].text, tokens[b].text
            if first in (a, b) and text_a[:1].isupper() != text_b[:1].isupper():
                leading, other = (text_a, text_b) if a == first else (text_b, text_a)
                if leading[1:].islower() or len(leading) == 1:  # capitalised only as the first word
                    lowered, raised = leading[:1].lower() + leading[1:], match_case(other, leading)
                    text_a, text_b = (lowered, raised) if a == first else (raised, lowered)
            tokens[a], tokens[b] = Token(text_b, tokens[a].space), Token(text_a, tokens[b].space)
        return tokens


@register("maskkit.random_delete.v1", "augmenter", short="rd")
@dataclass(frozen=True)
class RandomDelete(WordOperation):
    """Deletes each word with probability `alpha` (EDA's p_rd; negations never, by default); never empties
    a text."""

    alpha: float = 0.1
    NAME: ClassVar[str] = "rd"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_rate("alpha", self.alpha)

    def edit(self, tokens: list[Token], words: list[int], rng: random.Random) -> list[Token] | None:
        movable = set(self.movable(tokens, words))
        if len(words) < 2 or not movable:
            return None
        drop = {i for i in words if rng.random() < self.alpha and i in movable}
        if len(drop) == len(words):  # keep one word, as EDA does
            drop.discard(words[rng.randrange(len(words))])
        if not drop:
            return None
        kept: list[Token] = []
        for i, token in enumerate(tokens):
            if i not in drop:
                kept.append(token)
            elif kept:  # the spacing after a deleted word passes to the word before it
                kept[-1].space = token.space
        return kept


STRENGTHS = ("alpha_sr", "alpha_ri", "alpha_rs", "p_rd")


@register("maskkit.eda.v1", "augmenter", short="eda")
@dataclass(frozen=True)
class EDA(AugmentMethods):
    """The EDA recipe: `n_aug` augmentations per text, drawn evenly from the four operations.

    As in the paper, each operation makes int(n_aug / 4) + 1 candidates (operations with strength 0
    are left out) and a keyed shuffle keeps `n_aug` of them. `aug_p` sets the four strengths at once (the
    paper's single alpha, nlpaug's aug_p, TextAttack's pct_words_to_swap); the four stay settable alone.
    """

    alpha_sr: float = 0.1
    alpha_ri: float = 0.1
    alpha_rs: float = 0.1
    p_rd: float = 0.1
    n_aug: int = 4
    seed: int = 0
    synonyms: SynonymSource = field(default_factory=WordNetSynonyms)
    stop_words: frozenset[str] | None = field(default=None, repr=False)
    aug_p: InitVar[float | None] = None

    def __post_init__(self, aug_p: float | None) -> None:
        if aug_p is not None:
            _check_rate("aug_p", aug_p)
            given = {n: getattr(self, n) for n in STRENGTHS if getattr(self, n) not in (0.1, aug_p)}
            if given:
                raise InputError(f"give aug_p (all four strengths) or the strengths one by one, not both: {given}")
            for name in STRENGTHS:
                object.__setattr__(self, name, float(aug_p))
        object.__setattr__(self, "n_aug", as_integer(self.n_aug, "n_aug", minimum=1))
        for name in STRENGTHS:  # each named as given (not as its operation's)
            _check_rate(name, getattr(self, name))
        if not any((self.alpha_sr, self.alpha_ri, self.alpha_rs, self.p_rd)):
            raise InputError("EDA needs at least one of alpha_sr, alpha_ri, alpha_rs, p_rd above 0")

    @classmethod
    def for_training_size(cls, n: int, **options: Any) -> EDA:
        """The paper's recommended settings for a training set of `n` examples (Wei & Zou 2019, table 3):
        about 500: alpha 0.05, n_aug 16; about 2,000: alpha 0.05, n_aug 8; about 5,000 and more: alpha
        0.1, n_aug 4 (the rows meet at the sizes' geometric midpoints, 1,000 and 3,162). `options`
        (seed, synonyms, ...) pass through; the four strengths and n_aug come from the table."""
        n = as_integer(n, "n", minimum=1)
        alpha, n_aug = (0.05, 16) if n <= 1000 else (0.05, 8) if n <= 3162 else (0.1, 4)
        fixed = {"alpha_sr", "alpha_ri", "alpha_rs", "p_rd", "n_aug"} & set(options)
        if fixed:
            raise InputError(f"for_training_size sets {sorted(fixed)} from the paper's table; build EDA(...) instead")
        return cls(alpha, alpha, alpha, alpha, n_aug=n_aug, **options)

    def prepare(self) -> None:
        for op in self.operations:
            op.prepare()

    @property
    def operations(self) -> list[WordOperation]:
        common: dict[str, Any] = {"seed": self.seed, "stop_words": self.stop_words}
        ops: list[WordOperation] = []
        if self.alpha_sr:
            ops.append(SynonymReplace(alpha=self.alpha_sr, synonyms=self.synonyms, **common))
        if self.alpha_ri:
            ops.append(RandomInsert(alpha=self.alpha_ri, synonyms=self.synonyms, **common))
        if self.alpha_rs:
            ops.append(RandomSwap(alpha=self.alpha_rs, **common))
        if self.p_rd:
            ops.append(RandomDelete(alpha=self.p_rd, **common))
        return ops

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> list[str]:
        """The k-th augmentation of each text. For k < n_aug these are the paper's `n_aug`
        augmentations (a keyed shuffle of int(n_aug / 4) + 1 candidates per operation); beyond, the
        shuffled pool repeats with fresh draws."""
        texts = check_texts(texts)
        keys = checked_keys(texts, keys)
        ops = self.operations
        per_op = self.n_aug // 4 + 1
        pool = [(op, j) for op in ops for j in range(per_op)]
        out = []
        for text, key in zip(texts, keys):
            order = _rng(self.seed, "eda-pool", key, 0).sample(range(len(pool)), len(pool))
            op, j = pool[order[k % len(pool)]]
            out.append(op.edit_text(text, _rng(self.seed, op.NAME, key, j + per_op * (k // len(pool)))))
        return out

    def generate(self, texts: Sequence[str], keys: Sequence[int] | None = None) -> list[list[str]]:
        """Returns `n_aug` augmentations for each text (a list per text)."""
        texts = check_texts(texts)
        keys = checked_keys(texts, keys)
        rounds = [self(texts, keys, k) for k in range(self.n_aug)]
        return [[rounds[k][i] for k in range(self.n_aug)] for i in range(len(texts))]
