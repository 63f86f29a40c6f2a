"""Keyed randomness: every draw is a pure function of (seed, salt, epoch, example key, stream, position).

No generator state is carried between calls, so a draw does not depend on the batch an example lands
in, its order, padding, the number of DataLoader workers or resuming mid-epoch. Draws are counter-based:
an example's key (a hash of its token ids, or of an id column) and the position are hashed into 64 bits
with the splitmix64 finaliser, vectorised with numpy over a whole batch (no Python loop per example or
per token).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from maskkit.errors import InputError

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TWO_GOLDEN = np.uint64((2 * 0x9E3779B97F4A7C15) & ((1 << 64) - 1))
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_STREAM = 0xD1B54A32D192ED03
_MASK64 = (1 << 64) - 1
_TO_UNIT = 2.0**-53
_S11, _S27, _S29, _S30, _S31 = (np.uint64(n) for n in (11, 27, 29, 30, 31))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Hashes uint64 values with the splitmix64 finaliser (a bijection with full avalanche)."""
    return _mix_in_place(x + _GOLDEN)


def _mix_in_place(z: np.ndarray) -> np.ndarray:
    """splitmix64's mixing steps, overwriting `z` (which already holds x + golden); one scratch array."""
    shifted = np.empty_like(z)
    np.right_shift(z, _S30, out=shifted)
    z ^= shifted
    z *= _MIX1
    np.right_shift(z, _S27, out=shifted)
    z ^= shifted
    z *= _MIX2
    np.right_shift(z, _S31, out=shifted)
    z ^= shifted
    return z


def to_unit(bits: np.ndarray) -> np.ndarray:
    """Turns uniform 64-bit integers into uniform floats in [0, 1) (53 bits of precision)."""
    return (bits >> _S11).astype(np.float64) * _TO_UNIT


def as_integer(value: object, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as a Python int when it is any integer (int, numpy's integers; not bool) in range, else a
    ValueError naming the parameter. Keyed draws hash the int, so np.int64(3) and 3 give the same draws."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and int(value) < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and int(value) > maximum:
        raise InputError(f"{name} must be an integer <= {maximum}, got {value!r}")
    return int(value)


def stable_hash64(*parts: bytes | str | int) -> int:
    """Hashes values into an unsigned 64-bit integer with blake2b (stable across processes, unlike hash())."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        if isinstance(part, int):
            part = str(part)
        if isinstance(part, str):
            part = part.encode("utf-8")
        h.update(len(part).to_bytes(4, "little"))
        h.update(part)
    return int.from_bytes(h.digest(), "little")


@lru_cache(maxsize=32)
def _position_multipliers(width: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed odd 64-bit multipliers per position, and their running sums (for removing padding)."""
    multipliers = splitmix64(np.arange(1, width + 1, dtype=np.uint64) * _MIX2) | np.uint64(1)
    sums = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(multipliers, dtype=np.uint64)])
    return multipliers, sums


def content_keys(ids: np.ndarray, lengths: np.ndarray, pad_id: int) -> np.ndarray:
    """Keys each example by a stable 64-bit hash of its token ids, ignoring padding.

    A universal linear hash: the sum of id * (a fixed odd multiplier per position) modulo 2**64, one
    matrix-vector product for the whole batch; padding's share is subtracted exactly, so an example
    gets the same key alone or padded. `KeyedUniforms.create` then mixes each key fully.
    """
    width = ids.shape[1]
    multipliers, sums = _position_multipliers(width)
    keys = ids.view(np.uint64) @ multipliers if ids.dtype == np.int64 else ids.astype(np.uint64) @ multipliers
    if int(lengths.min()) < width:
        keys -= np.uint64(pad_id) * (sums[width] - sums[lengths])
    keys += lengths.astype(np.uint64) * _MIX1
    return keys


def value_keys(values: Iterable[object]) -> np.ndarray:
    """Keys examples by a stable hash of an id value each (an `id` column: int or str)."""
    return np.array([stable_hash64(repr(v)) for v in values], dtype=np.uint64)


@lru_cache(maxsize=64)
def _position_offsets(start: int, width: int) -> np.ndarray:
    """(p + 2) * golden for positions start .. start + width - 1 (read-only, cached per shape): position p
    hashes base + (p + 1) * golden, and splitmix64 adds one more golden before mixing."""
    offsets = np.arange(start + 2, start + width + 2, dtype=np.uint64) * _GOLDEN
    offsets.flags.writeable = False
    return offsets


@lru_cache(maxsize=256)
def _stream_constant(stream: int) -> np.uint64:
    return np.uint64(((stream + 1) * _STREAM) & _MASK64)


@lru_cache(maxsize=64)
def _run_key(seed: int, salt: str, epoch: int) -> int:
    return stable_hash64("maskkit", seed, salt, epoch)


@dataclass(frozen=True)
class KeyedUniforms:
    """Uniform draws in [0, 1) for a batch of examples, keyed by (seed, salt, epoch, example key).

    `stream` separates independent decisions (which tokens, their fate, the random token, ...);
    `position` is the token index inside the example, so a draw never depends on padding.
    """

    base: np.ndarray  # uint64, one per example

    @classmethod
    def create(cls, example_keys: np.ndarray, seed: int, salt: str, epoch: int | np.ndarray) -> KeyedUniforms:
        """`epoch` is the batch's, or one per example (a stream that carries each example's pass)."""
        run: np.ndarray | np.uint64
        if isinstance(epoch, np.ndarray):
            run = np.array([_run_key(seed, salt, int(e)) for e in epoch], dtype=np.uint64)
        else:
            run = np.uint64(_run_key(seed, salt, epoch))
        z = example_keys.astype(np.uint64, copy=False) ^ run
        z += _GOLDEN
        return cls(base=_mix_in_place(z))

    def take(self, rows: np.ndarray) -> KeyedUniforms:
        return KeyedUniforms(base=self.base[rows])

    def _stream_base(self, stream: int) -> np.ndarray:
        # the per-position hash below is a full splitmix64, so a cheap xor separates streams
        return self.base ^ _stream_constant(stream)

    def grid_bits(self, stream: int, width: int, start: int = 0) -> np.ndarray:
        """Draws a (batch, width) array of uniform 64-bit integers (cheaper than floats where only order matters)."""
        return _mix_in_place(self._stream_base(stream)[:, None] + _position_offsets(start, width)[None, :])

    def grid(self, stream: int, width: int, start: int = 0) -> np.ndarray:
        """Draws a (batch, width) array: element (b, j) is example b's draw at position start + j."""
        return to_unit(self.grid_bits(stream, width, start))

    def at(self, stream: int, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Draws at the given (row, position) pairs only; equal to `grid(stream, w)[rows, positions]`."""
        return to_unit(self.bits_at(stream, rows, positions))

    def bits_at(self, stream: int, rows: np.ndarray, positions: np.ndarray, width: int | None = None) -> np.ndarray:
        """Uniform 64-bit draws at (row, position) pairs; equal to `grid_bits(stream, w)[rows, positions]`.
        `width` (above every position) lets the positions' offsets come from the cached table."""
        if width is None:
            z = positions.astype(np.uint64)
            z *= _GOLDEN
            z += _TWO_GOLDEN  # as in grid_bits: (p + 2) * golden
        else:
            z = _position_offsets(0, width)[positions]
        z += self._stream_base(stream)[rows]
        return _mix_in_place(z)

    def ordered(self, stream: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """One pass of draws: (B, width) uint64 bits at positions 0.. to order tokens or units, and one
        uniform per example at position -1 to round a budget."""
        bits = self.grid_bits(stream, width + 1, start=-1)
        return bits[:, 1:], to_unit(bits[:, 0])

    def per_example(self, stream: int) -> np.ndarray:
        """Draws one value per example (position 0 of the stream)."""
        return self.grid(stream, 1)[:, 0]
