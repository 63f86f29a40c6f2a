"""nlpaug augmenters as maskkit augmenters: batch-first, keyed, composable with `OneOf` and `augment_dataset`.

`Nlpaug(augmenter)` wraps any nlpaug augmenter (character noise, keyboard typos, random word edits,
contextual substitution, ...). nlpaug draws from Python's and numpy's global generators (and torch's for
model-based augmenters), so each text is augmented alone with those generators set from a key of its own,
(seed, text key, k), and put back as they were afterwards: the k-th augmentation of a text is then the
same whatever the batch, order or process, and the caller's random state is untouched.

Where nlpaug cannot be keyed: augmenters that run several threads (`num_thread > 1`) or a model on a GPU
with nondeterministic kernels give results that may differ between runs; and nlpaug's own batched calls
are not used (they would draw once for the whole batch, so a text's result would depend on its batch).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from maskkit.augment.protocol import AugmentMethods, check_texts, checked_keys
from maskkit.errors import WrongType
from maskkit.registry import register
from maskkit.rng import as_integer, stable_hash64


@contextmanager
def keyed_global_generators(key: int) -> Iterator[None]:
    """Python's, numpy's (and torch's, when loaded) global generators set from `key` for the block, then
    restored, so code that draws from them (as nlpaug does) becomes a function of `key`."""
    import numpy as np

    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002 (nlpaug's generator)
    random.setstate(random.Random(key).getstate())
    np.random.set_state(np.random.RandomState(key % 2**32).get_state())  # noqa: NPY002
    try:
        if "torch" in sys.modules:
            import torch

            with torch.random.fork_rng(devices=[]):
                torch.random.manual_seed(key % 2**63)
                yield
        else:
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002


@register(
    "maskkit.nlpaug.v1",
    "augmenter",
    short="nlpaug",
    why_not="it wraps a live nlpaug object; build Nlpaug(augmenter) in code",
)
@dataclass(frozen=True)
class Nlpaug(AugmentMethods):
    """An nlpaug augmenter behind maskkit's protocol: `(texts, keys=None, k=0) -> list[str | None]`.

    Returns None where nlpaug gives nothing back (which `augment_dataset` skips)."""

    augmenter: Any
    seed: int = 0
    name: str = field(default="")

    def __post_init__(self) -> None:
        if not callable(getattr(self.augmenter, "augment", None)):
            raise WrongType(
                f"Nlpaug wraps an nlpaug augmenter (with augment(text)), got {type(self.augmenter).__name__}"
            )
        object.__setattr__(self, "seed", as_integer(self.seed, "seed"))
        if not self.name:
            object.__setattr__(self, "name", f"nlpaug.{type(self.augmenter).__name__}")

    def __call__(self, texts: Sequence[str], keys: Sequence[int] | None = None, k: int = 0) -> list[str | None]:
        texts = check_texts(texts)
        keys = checked_keys(texts, keys)
        out: list[str | None] = []
        for text, key in zip(texts, keys):
            with keyed_global_generators(stable_hash64("nlpaug", self.seed, self.name, key, k)):
                result = self.augmenter.augment(text)
            if isinstance(result, list):
                result = result[0] if result else None
            out.append(result if isinstance(result, str) and result.strip() else None)
        return out
