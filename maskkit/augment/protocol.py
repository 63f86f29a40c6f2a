"""The augmenter protocol: one call for users of nlpaug and TextAttack, one for datasets.

Every maskkit augmenter is batch-first and keyed: `augmenter(texts, keys=None, k=0)` gives the k-th
augmentation of each text (or None where it has none), a pure function of (seed, key, k); `keys` default
to the texts' own content. On top of that, `AugmentMethods` gives every augmenter the calls users know:

    aug.augment("a text", n=3)        -> up to 3 augmentations of it (nlpaug's `augment(text, n=3)`,
                                         TextAttack's `Augmenter.augment(text)`)
    aug.augment(["a", "b"], n=2)      -> a list of augmentations per text (TextAttack's `augment_many`)

and `method_names(keys, k)`: the method that made each text's k-th augmentation (a combinator names the
branch it took, "OneOf[SynonymReplace]"), which `augment_dataset` writes in `aug_method`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maskkit.errors import InputError, WrongType
from maskkit.rng import as_integer, stable_hash64

MAX_N_AUG = 1000  # augmentations per row: more is a typo (it would run for days), not a recipe


def text_keys(texts: Sequence[str]) -> list[int]:
    """Keys texts by a stable hash of their content (blake2b)."""
    return [stable_hash64("text", t) for t in texts]


def checked_keys(texts: Sequence[str], keys: Sequence[int] | None) -> list[int]:
    """One key per text (the texts' own by default); a keys list of another length is refused, never zipped
    short (which would drop texts in silence)."""
    if keys is None:
        return text_keys(texts)
    keys = list(keys)
    if len(keys) != len(texts):
        raise InputError(f"got {len(keys)} keys for {len(texts)} texts: give one key per text")
    return keys


def check_texts(texts: Sequence[Any]) -> list[str]:
    """The texts of a batch call, checked (a single string is refused here: `augment` takes one)."""
    if isinstance(texts, str):
        raise WrongType("augmenters take a list of texts; wrap a single text in a list (or call .augment(text))")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise WrongType(f"text {i} is {type(text).__name__}, not str")
    return texts


def augmenter_name(augmenter: Any) -> str:
    return getattr(augmenter, "name", None) or type(augmenter).__name__


def method_names(augmenter: Any, keys: Sequence[int], k: int) -> list[str]:
    """The method that makes the k-th augmentation of each text keyed `keys`: a combinator names the
    branch it takes, any other augmenter its name."""
    names = getattr(augmenter, "method_names", None)
    return list(names(keys, k)) if callable(names) else [augmenter_name(augmenter)] * len(keys)


def _same(text: str) -> str:
    return " ".join(text.split())


class AugmentMethods:
    """`augment(text or texts, n=1)`, the call nlpaug and TextAttack users know, for a batch-first augmenter."""

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> Sequence[str | None]:
        raise NotImplementedError

    def augment(self, data: str | Sequence[str], n: int = 1) -> list[str] | list[list[str]]:
        """Up to `n` augmentations of a text (a list), or of each of several texts (a list per text).

        They are the augmenter's k = 0 .. n-1 augmentations, filtered as `augment_dataset` filters them:
        those it declines (None, e.g. back-translation's identical paraphrases) and repeats of the text or
        of an earlier one (whitespace aside) are left out, so a list may be shorter than `n`. Keyed by
        content: the same text gives the same augmentations, alone or in a batch (`augment_dataset` keys
        rows by their index or `key_column` instead, so its augmentations of a text differ from these)."""
        n = as_integer(n, "n", minimum=1, maximum=MAX_N_AUG)
        texts = [data] if isinstance(data, str) else check_texts(data)
        if isinstance(data, str):
            check_texts(texts)
        keys = text_keys(texts)
        rounds = [self(texts, keys, k) for k in range(n)]
        out: list[list[str]] = []
        for i, text in enumerate(texts):
            seen, kept = {_same(text)}, []
            for variants in rounds:
                variant = variants[i]
                if variant is not None and _same(variant) not in seen:
                    seen.add(_same(variant))
                    kept.append(variant)
            out.append(kept)
        return out[0] if isinstance(data, str) else out
