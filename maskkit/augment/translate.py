"""Back-translation: a translator protocol, the offline Apertium translator, and the BackTranslate augmenter.

Any object with `translate(texts, src, tgt) -> list[str]` is a translator (a neural seq2seq model,
Apertium, or a test fake). `BackTranslate` translates to a pivot language and back, splitting long
documents into sentences and rejoining them, caching every sentence's translation on disk by content
hash (reruns and resumed runs never translate a sentence twice), and filtering out paraphrases that are
identical to the input or whose length ratio falls outside bounds (those come back as None).

References: Xie et al. 2020 (UDA: back-translation as augmentation); Sennrich et al. 2016.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from maskkit.augment.protocol import AugmentMethods, check_texts
from maskkit.errors import InputError, JobFailed, MissingFile, WrongType
from maskkit.registry import register
from maskkit.rng import stable_hash64
from maskkit.text.sentences import split_sentences

_SPACES = re.compile(r"\s+")


@runtime_checkable
class Translator(Protocol):
    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]: ...


def normalise(text: str) -> str:
    """Collapses whitespace (translators differ in spacing)."""
    return _SPACES.sub(" ", text).strip()


def direction_table(table: Any, what: str) -> dict[tuple[str, str], str]:
    """{(src, tgt): value} from that mapping or from (src, tgt, value) triples (the form a spec holds)."""
    if isinstance(table, dict):
        return {(str(s), str(t)): str(v) for (s, t), v in table.items()}
    try:
        return {(str(s), str(t)): str(v) for s, t, v in table}
    except (TypeError, ValueError):
        raise WrongType(f"{what} must map (src, tgt) to a value, or be (src, tgt, value) triples") from None


@register(
    "maskkit.apertium.v1",
    "translator",
    short="apertium",
    params=lambda t: {"binary": t.binary, "modes": [[s, g, m] for (s, g), m in sorted(t.modes.items())]},
)
class ApertiumTranslator:
    """Rule-based machine translation with Debian's Apertium, offline and deterministic.

    A whole batch goes through one `apertium` process per direction, one text per line. Language codes
    are two-letter ("en", "es", "eo", "gl", "ca"); `modes` maps a (src, tgt) pair to an Apertium mode.
    """

    MODES: ClassVar[dict[tuple[str, str], str]] = {
        ("en", "es"): "eng-spa",
        ("es", "en"): "spa-eng",
        ("en", "eo"): "en-eo",
        ("eo", "en"): "eo-en",
        ("en", "gl"): "en-gl",
        ("gl", "en"): "gl-en",
        ("en", "ca"): "eng-cat",
        ("ca", "en"): "cat-eng",
    }
    deterministic = True

    def __init__(self, binary: str = "apertium", modes: dict[tuple[str, str], str] | None = None) -> None:
        self.binary = binary
        self.modes = direction_table(self.MODES if modes is None else modes, "modes")

    def __repr__(self) -> str:
        return f"ApertiumTranslator({self.binary!r})"

    def __eq__(self, other: object) -> bool:  # equal settings translate alike (its spec loads back equal)
        return isinstance(other, ApertiumTranslator) and (other.binary, other.modes) == (self.binary, self.modes)

    def __hash__(self) -> int:
        return hash((self.binary, tuple(sorted(self.modes.items()))))

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if (src, tgt) not in self.modes:
            raise InputError(f"no Apertium mode for {src} -> {tgt}; known pairs: {sorted(self.modes)}")
        if shutil.which(self.binary) is None:
            raise MissingFile(
                f"{self.binary!r} is not installed: apt-get install apertium apertium-eng-spa (the Makefile does this)"
            )
        if not texts:
            return []
        lines = [_SPACES.sub(" ", t).strip() for t in texts]
        result = subprocess.run(
            [self.binary, "-u", self.modes[(src, tgt)]],
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise JobFailed(f"apertium {self.modes[(src, tgt)]} failed: {result.stderr.strip()[:300]}")
        out = result.stdout.split("\n")
        if out and out[-1] == "":
            out.pop()
        if len(out) != len(lines):
            raise JobFailed(f"apertium returned {len(out)} lines for {len(lines)} texts")
        return [normalise(line) for line in out]


class TranslationCache:
    """Sentence translations on disk (sqlite), keyed by a hash of (translator, direction, sentence)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS translations (key INTEGER PRIMARY KEY, text TEXT NOT NULL)")

    def get(self, keys: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        with sqlite3.connect(self.path) as db:
            for start in range(0, len(keys), 500):
                chunk = [k - 2**63 for k in keys[start : start + 500]]  # sqlite integers are signed
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, text FROM translations WHERE key IN ({marks})", chunk)
                found.update((k + 2**63, text) for k, text in rows)
        return found

    def put(self, items: dict[int, str]) -> None:
        with sqlite3.connect(self.path) as db:  # one transaction: all or nothing
            db.executemany(
                "INSERT OR REPLACE INTO translations VALUES (?, ?)", [(k - 2**63, v) for k, v in items.items()]
            )


@register("maskkit.backtranslate.v1", "augmenter", short="bt")
@dataclass(frozen=True)
class BackTranslate(AugmentMethods):
    """Paraphrases texts by translating them to a pivot language and back to `src`.

    `pivot` is one language or several: the k-th augmentation goes through pivot k mod len(pivot).
    Returns None for a text whose paraphrase is identical to it (`drop_identical`) or whose length ratio
    (paraphrase / input, in characters) falls outside `length_ratio`; `augment_dataset` skips those.
    A deterministic translator (Apertium) gives one paraphrase per text and pivot whatever k is (so at
    most len(pivot) distinct ones: `distinct_augmentations`); a sampling one (`Seq2SeqTranslator`) gives
    a different, fixed paraphrase for each k.
    """

    translator: Translator
    src: str = "en"
    pivot: str | tuple[str, ...] = "es"
    cache: str | None = None
    drop_identical: bool = True
    length_ratio: tuple[float, float] | None = (0.5, 2.0)
    batch_size: int = 256
    name: str = field(default="backtranslate", repr=False)

    def __post_init__(self) -> None:
        if not hasattr(self.translator, "translate"):
            raise WrongType(f"translator must have translate(texts, src, tgt), got {type(self.translator).__name__}")
        if self.length_ratio is not None and not 0 < self.length_ratio[0] <= self.length_ratio[1]:
            raise InputError(f"length_ratio must be (low, high) with 0 < low <= high, got {self.length_ratio!r}")
        pivots = (self.pivot,) if isinstance(self.pivot, str) else tuple(self.pivot)
        if not pivots or not all(isinstance(p, str) and p for p in pivots) or len(set(pivots)) != len(pivots):
            raise InputError(f"pivot must be a language code or distinct codes, got {self.pivot!r}")
        object.__setattr__(self, "pivot", pivots[0] if len(pivots) == 1 else pivots)

    @property
    def pivots(self) -> tuple[str, ...]:
        return (self.pivot,) if isinstance(self.pivot, str) else self.pivot

    def distinct_augmentations(self) -> int | None:
        """One paraphrase per pivot from a deterministic translator; None (no limit) from a sampling one."""
        return len(self.pivots) if getattr(self.translator, "deterministic", True) else None

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> list[str | None]:
        texts = check_texts(texts)
        pieces = [split_sentences(t) for t in texts]
        flat = list(dict.fromkeys(s for sentences in pieces for s in sentences))
        pivot = self.pivots[k % len(self.pivots)]
        there = self._translate(flat, self.src, pivot, k)
        back = self._translate(list(dict.fromkeys(there.values())), pivot, self.src, k)
        out: list[str | None] = []
        for text, sentences in zip(texts, pieces):
            if not sentences:
                out.append(None)
                continue
            paraphrase = " ".join(back[there[s]] for s in sentences)
            out.append(paraphrase if self._keep(text, paraphrase) else None)
        return out

    def _keep(self, text: str, paraphrase: str) -> bool:
        if self.drop_identical and normalise(paraphrase).lower() == normalise(text).lower():
            return False
        if self.length_ratio is not None:
            ratio = len(paraphrase) / max(len(text), 1)
            return self.length_ratio[0] <= ratio <= self.length_ratio[1]
        return True

    def _translate(self, sentences: list[str], src: str, tgt: str, k: int) -> dict[str, str]:
        """Translates unique sentences in batches, reading and filling the disk cache.

        A sampling translator gets one seed per (sentence, k), so the k-th paraphrase is fixed and the
        cache keeps each k apart; a deterministic one is asked once per sentence whatever k is."""
        tag = repr(self.translator)
        sampling = not getattr(self.translator, "deterministic", True)
        draw = k if sampling else 0
        keys = {s: stable_hash64("translation", tag, src, tgt, s, draw) for s in sentences}
        store = TranslationCache(self.cache) if self.cache else None
        cached = store.get(list(keys.values())) if store else {}
        result = {s: cached[keys[s]] for s in sentences if keys[s] in cached}
        todo = [s for s in sentences if s not in result]
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            if sampling:
                seeds = [stable_hash64("seed", s, draw) for s in batch]
                translated = self.translator.translate(batch, src, tgt, seeds=seeds)  # type: ignore[call-arg]
            else:
                translated = self.translator.translate(batch, src, tgt)
            if len(translated) != len(batch):
                raise JobFailed(f"{tag} returned {len(translated)} translations for {len(batch)} texts")
            new = dict(zip(batch, translated))
            if store:
                store.put({keys[s]: t for s, t in new.items()})
            result.update(new)
        return result
