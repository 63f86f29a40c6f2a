"""MaskingCollator: a list of tokenised examples in, a padded masked-language-model batch out.

It binds the tokenizer once, pads once, calls the selector (WHERE) then the corruption (HOW), writes
`labels` (-100 off target), converts to tensors once and passes through every key it does not consume.
Masks are a pure function of (seed, salt, epoch, example), so they do not depend on batching, padding
or DataLoader workers; the epoch reaches workers through shared memory (`set_epoch`, `EpochCallback`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from maskkit.errors import InputError, WrongType
from maskkit.masking.batch import WORD_SOURCES, MaskingBatch, MissingColumnError, missing_column, pad_rows
from maskkit.masking.corruption import MaskRandomKeep
from maskkit.masking.functional import span_boundaries
from maskkit.masking.selectors import Corruption, NeedsTokenizer, ReadsColumns, Selector, TokenSelector
from maskkit.masking.words import VocabTables
from maskkit.rng import KeyedUniforms, as_integer, content_keys, value_keys

EPOCH_COLUMN = "mask_epoch"  # an example's own epoch (its pass over a stream, `repeat_passes`): it wins
CONSUMED = ("input_ids", "attention_mask", "special_tokens_mask", "word_ids", EPOCH_COLUMN)
_UNBOUNDED_MAX_LENGTH = 10**8


class MaskingCollator:
    """Pads a list of tokenised examples and masks them for masked-language modelling.

    Args:
        tokenizer: a Hugging Face tokenizer with a mask token (fast, where words come from the vocabulary).
        selector: WHERE to mask (default `TokenSelector(0.15)`).
        corruption: HOW targets change (default `MaskRandomKeep(0.8, 0.1, 0.1)`; or `SimilarWordReplace()`, MacBERT).
        seed: the run's seed; masks are a pure function of (seed, salt, epoch, example).
        pad_to_multiple_of: round the padded length up to a multiple of this.
        return_tensors: "pt" (torch tensors) or "np" (numpy arrays).
        word_source: "auto" (a `word_ids` column when present, else the vocabulary), "column" (require
            the column), or "vocab" (ignore any column).
        key_column: a column identifying each example (e.g. "id"); by default examples are keyed by a
            hash of their token ids, so identical sequences get identical masks in one epoch.
        salt: separates the draws of two collators that share a seed.
        max_length: refuse sequences longer than this ("model": the tokenizer's model_max_length).
        span_boundaries: also write SpanBERT's boundary pairs for the span boundary objective: per target,
            the positions just outside its unit (`sbo_left`, `sbo_right`) and its offset in it
            (`sbo_offset`), -1 off targets (see `maskkit.training.span_boundary`).
    """

    def __init__(
        self,
        tokenizer: Any,
        selector: Selector | None = None,
        corruption: Any = None,
        seed: int = 0,
        pad_to_multiple_of: int | None = None,
        return_tensors: str = "pt",
        word_source: str = "auto",
        key_column: str | None = None,
        salt: str = "",
        max_length: int | str | None = "model",
        span_boundaries: bool = False,
    ) -> None:
        if return_tensors not in ("pt", "np"):
            raise InputError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        if word_source not in WORD_SOURCES:
            raise InputError(f"word_source must be one of {WORD_SOURCES}, got {word_source!r}")
        if pad_to_multiple_of is not None and (not isinstance(pad_to_multiple_of, int) or pad_to_multiple_of < 1):
            raise InputError(f"pad_to_multiple_of must be a positive integer, got {pad_to_multiple_of!r}")
        seed = as_integer(seed, "seed")
        selector = selector if selector is not None else TokenSelector()
        if not isinstance(selector, Selector):
            raise WrongType(f"selector must have a select(batch) method, got {type(selector).__name__}")
        corruption = corruption if corruption is not None else MaskRandomKeep()
        if not isinstance(corruption, Corruption):
            raise WrongType(f"corruption must have an apply(batch, selection) method, got {type(corruption).__name__}")
        self.tokenizer = tokenizer
        self.vocab = VocabTables.from_tokenizer(tokenizer)
        self.selector = selector.bind(tokenizer) if isinstance(selector, NeedsTokenizer) else selector
        self.corruption = corruption.bind(tokenizer) if isinstance(corruption, NeedsTokenizer) else corruption
        self.seed = seed
        self.salt = salt
        self.pad_to_multiple_of = pad_to_multiple_of
        self.return_tensors = return_tensors
        self.word_source = word_source
        self.key_column = key_column
        self.max_length: int | None
        if max_length == "model":
            model_max = getattr(tokenizer, "model_max_length", None) or _UNBOUNDED_MAX_LENGTH
            self.max_length = int(model_max) if model_max < _UNBOUNDED_MAX_LENGTH else None
        elif max_length is None or (isinstance(max_length, int) and max_length >= 1):
            self.max_length = max_length
        else:
            raise InputError(f"max_length must be a positive integer, 'model' or None, got {max_length!r}")
        self.span_boundaries = bool(span_boundaries)
        self._epoch = multiprocessing.RawValue("q", 0)

    # -- epochs ---------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    @property
    def selector_columns(self) -> dict[str, str]:
        """The dataset columns the selector reads beside input_ids (name -> kind), if any."""
        return dict(self.selector.columns) if isinstance(self.selector, ReadsColumns) else {}

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch for the next batches, also in DataLoader workers already running."""
        self._epoch.value = int(epoch)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # shared memory travels only to processes being started (DataLoader workers); elsewhere
        # (pickle, datasets' fingerprinting) the epoch travels as a plain number
        from multiprocessing import context

        if context.get_spawning_popen() is None:
            state["_epoch"] = int(self._epoch.value)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        epoch = state["_epoch"]
        if isinstance(epoch, int):
            state["_epoch"] = multiprocessing.RawValue("q", epoch)
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (
            f"MaskingCollator(selector={self.selector!r}, corruption={self.corruption!r}, seed={self.seed}, "
            f"epoch={self.epoch}, word_source={self.word_source!r})"
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns beyond input_ids that the masking reads (keep them under Trainer, see maskkit.keep_columns)."""
        needed = tuple(self.selector_columns)
        if self.word_source != "vocab":
            needed += ("word_ids",)
        if self.key_column:
            needed += (self.key_column,)
        return needed

    # -- collation ------------------------------------------------------------------------------
    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        ids, labels, attention, extra = self.mask_arrays(features, self.epoch)
        out: dict[str, Any] = {"input_ids": ids, "attention_mask": attention, "labels": labels}
        out.update(extra)
        if self.return_tensors == "pt":
            import torch

            out = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in out.items()}
        return out

    def mask_arrays(
        self, features: Sequence[Mapping[str, Any]], epoch: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Masks a list of examples at a given epoch: (ids, labels, attention mask, passed-through columns)."""
        features, rows = _check_features(features)
        row_lengths = [len(r) for r in rows]
        lengths = np.array(row_lengths, dtype=np.int64)
        width = max(row_lengths)
        if self.max_length is not None and width > self.max_length:
            i = int(np.argmax(lengths))
            raise InputError(
                f"example {i} has {lengths[i]} tokens but the model takes at most {self.max_length}: truncate at "
                f"tokenisation (truncation=True, max_length={self.max_length}) or pass max_length=None"
            )
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        try:  # read as float64 (exact for any vocabulary id) so that a fractional id is seen, not truncated
            read = pad_rows(rows, lengths, width, self.vocab.pad_id, np.float64)
        except (TypeError, ValueError, OverflowError):
            _check_rows(rows)
        if read.ndim != 2:
            _check_rows(rows)
        ids = read.astype(np.int64)
        if (ids != read).any():
            row, column = (int(v[0]) for v in np.nonzero(ids != read))
            value = float(read[row, column])
            raise InputError(f"input_ids of example {row} hold {value} at position {column}: token ids are whole "
                             "numbers (was a float column written in their place?)")  # fmt: skip
        # viewed as unsigned, a negative id is huge: one comparison catches both ends
        if ids.size and ids.view(np.uint64).max() >= self.vocab.size:
            raise InputError(
                f"input_ids hold ids outside the tokenizer's vocabulary (0..{self.vocab.size - 1}): "
                "was the data tokenised with another tokenizer?"
            )
        if min(row_lengths) == width:
            attention = np.ones(ids.shape, dtype=np.int64)
        else:
            attention = (np.arange(width)[None, :] < lengths[:, None]).astype(np.int64)
        if self.key_column:
            if self.key_column not in features[0]:
                raise missing_column(self.key_column, "key_column")
            keys = value_keys(f[self.key_column] for f in features)
        else:
            keys = content_keys(ids, lengths, self.vocab.pad_id)
        candidates = self.vocab.ordinary[ids]  # padding is a special token, so never a candidate
        if "special_tokens_mask" in features[0]:
            given = pad_rows([f["special_tokens_mask"] for f in features], lengths, width, 1, np.int64)
            candidates &= given == 0
        batch = MaskingBatch(
            ids=ids,
            lengths=lengths,
            candidates=candidates,
            draws=KeyedUniforms.create(keys, self.seed, self.salt, example_epochs(features, epoch)),
            vocab=self.vocab,
            columns=self._token_columns(features, lengths, width, candidates),
            word_source=self.word_source,
            ids_writable=True,
        )
        selection = self.selector.select(batch)
        corrupted, labels = self.corruption.apply(batch, selection)
        extra = self._passthrough(features, lengths, width)
        if self.span_boundaries:
            extra["sbo_left"], extra["sbo_right"], extra["sbo_offset"] = span_boundaries(selection.units(), lengths)
        return corrupted, labels, attention, extra

    def _token_columns(
        self, features: Sequence[Mapping[str, Any]], lengths: np.ndarray, width: int, candidates: np.ndarray
    ) -> dict[str, np.ndarray]:
        columns: dict[str, np.ndarray] = {}
        if "word_ids" in features[0] and self.word_source != "vocab":
            rows = [[-1 if w is None else w for w in f["word_ids"]] for f in features]
            _check_aligned("word_ids", rows, lengths)
            word_ids = pad_rows(rows, lengths, width, -1, np.int64)
            # a real token outside every word is a word of its own
            alone = candidates & (word_ids < 0)
            word_ids[alone] = -2 - np.nonzero(alone)[1]
            columns["word_ids"] = word_ids
        for name, kind in self.selector_columns.items():
            if name not in features[0]:
                raise missing_column(name, type(self.selector).__name__)
            rows = [f[name] for f in features]
            _check_aligned(name, rows, lengths)
            if any(None in r for r in rows if isinstance(r, list)):
                rows = [[np.nan if v is None else v for v in r] if isinstance(r, list) else r for r in rows]
            values = pad_rows(rows, lengths, width, np.nan, np.float64)
            missing = np.isnan(values)
            if kind == "ids":  # a missing unit id means "in no unit"
                values[missing] = -1
            elif (missing & candidates).any() or np.isinf(values[candidates]).any():
                example = int(np.nonzero((missing | np.isinf(values)) & candidates)[0][0])
                raise InputError(f"{name!r} holds NaN, None or infinity at a real token of example {example}")
            columns[name] = values
        return columns

    def _passthrough(self, features: Sequence[Mapping[str, Any]], lengths: np.ndarray, width: int) -> dict[str, Any]:
        skip = set(CONSUMED) | set(self.selector_columns)
        out: dict[str, Any] = {}
        for key in features[0]:
            if key in skip:
                continue
            if key == "labels":
                raise InputError(
                    "the features already hold 'labels', which the collator writes for masked-language "
                    "modelling: rename or remove that column"
                )
            values: list[Any] = [f.get(key) for f in features]
            if all(_is_sequence(v) and len(v) == n for v, n in zip(values, lengths)) and len(values):
                fill = getattr(self.tokenizer, "pad_token_type_id", 0) if key == "token_type_ids" else 0
                try:
                    out[key] = pad_rows(values, lengths, width, fill, np.asarray(values[0]).dtype)
                    continue
                except (TypeError, ValueError):
                    pass
            try:
                array = np.asarray(values)
                out[key] = array if array.dtype.kind in "biuf" else values
            except (TypeError, ValueError):
                out[key] = values
        return out


def _is_sequence(value: Any) -> bool:
    """A list, tuple, or array/tensor with at least one dimension."""
    return isinstance(value, list | tuple) or getattr(value, "ndim", 0) >= 1


def _check_aligned(name: str, rows: Sequence[Any], lengths: np.ndarray) -> None:
    for i, (row, n) in enumerate(zip(rows, lengths)):
        if row is None or len(row) != n:
            got = "None" if row is None else f"{len(row)} values"
            raise InputError(f"example {i}: {name!r} has {got} but input_ids has {n} tokens; they must align")


def _check_features(features: Any) -> tuple[Sequence[Mapping[str, Any]], list[Any]]:
    """Returns the examples and their input_ids rows, or raises an error that names what is wrong."""
    if isinstance(features, Mapping):
        raise WrongType("MaskingCollator takes a list of examples (one dict per example), not one dict of columns")
    if not isinstance(features, list):
        features = list(features)
    if not features:
        raise InputError("MaskingCollator got an empty list of examples")
    if not isinstance(features[0], Mapping) and _is_sequence(features[0]):  # bare rows of token ids
        features = [f if isinstance(f, Mapping) else {"input_ids": f} for f in features]
    try:
        rows = [f["input_ids"] for f in features]
    except (KeyError, TypeError, IndexError):
        for i, f in enumerate(features):
            if not isinstance(f, Mapping):
                raise WrongType(f"example {i} is a {type(f).__name__}, not a dict of columns") from None
            if "input_ids" not in f:
                raise MissingColumnError(
                    f"example {i} has no 'input_ids' (it has {sorted(f)}): tokenise the text first, e.g. "
                    "dataset.map(maskkit.Tokenize(tokenizer), batched=True)"
                ) from None
        raise
    return features, rows


def _check_rows(rows: list[Any]) -> None:
    """Explains why rows of input_ids could not be padded into one array."""
    for i, row in enumerate(rows):
        if len(row) and _is_sequence(row[0]):
            raise InputError(f"example {i}: 'input_ids' is nested (a list of lists); give one sequence per example")
    raise InputError("input_ids must be sequences of integer token ids")


def example_epochs(features: Sequence[Mapping[str, Any]], epoch: int) -> int | np.ndarray:
    """The batch's epoch, or each example's own where the examples carry one (EPOCH_COLUMN)."""
    if EPOCH_COLUMN not in features[0]:
        return epoch
    try:
        return np.array([int(f[EPOCH_COLUMN]) for f in features], dtype=np.int64)
    except (KeyError, TypeError, ValueError):
        raise InputError(f"every example of a batch needs a whole-number {EPOCH_COLUMN!r} when one has it") from None
