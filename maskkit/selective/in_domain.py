"""Stage 4: per-token importance over unlabelled in-domain text, written in shards that resume.

By default texts are tokenised exactly as for pre-training (`maskkit.Tokenize`, same `max_length`), so the
`importance` column lines up with `input_ids`. `PackedSelection` instead splits documents into sentences,
selects per sentence and packs them into pre-training sequences (the official recipe). Shards of
`shard_size` documents are written atomically under `output_dir/shards/`; a rerun skips finished shards.
Under `accelerate launch` / `torchrun` shard k goes to process k mod N. Empty lines are skipped and counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from maskkit.errors import InputError
from maskkit.runs.files import atomic_path
from maskkit.selective.classifier import predict_importance
from maskkit.selective.sentences import (
    document_sentences,
    official_selection,
    pack_document,
    pack_rng,
    random_control,
)


@dataclass
class PackedSelection:
    """Builds a shard of packed pre-training rows from in-domain documents (see the module docstring).

    `selection="official"`: per sentence, the classifier's important tokens ranked by the important-class
    logit, the top max(1, int(rate * n)) (`selected` column), and as many drawn uniformly (`random_selected`:
    over every token, or over tokens not in `control_excluded_ids` when given). `selection="probability"`:
    P(important) per token of the packed rows (`importance` column). Sentences are packed per document
    into `pack_length` tokens with the specials (`maskkit.selective.sentences.pack_document`)."""

    classifier: Any
    tokenizer: Any
    selection: str = "official"
    rate: float = 0.15
    pack_length: int = 256
    short_seq_prob: float = 0.1
    seed: int = 0
    split: bool = True
    control_excluded_ids: frozenset[int] | None = None
    batch_size: int = 64

    def frame(self, rows: Sequence[Sequence[int]]) -> dict[str, list[list[int]]]:
        from maskkit.training.encode import special_frame

        before, after = special_frame(self.tokenizer)
        ids = [before + list(r) + after for r in rows]
        return {"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids]}

    def __call__(self, documents: Sequence[str], first: int) -> dict[str, list[Any]]:
        from maskkit.training.encode import special_frame

        before, after = special_frame(self.tokenizer)
        max_tokens = self.pack_length - len(before) - len(after)
        sentences, document_of = document_sentences(documents, self.split)
        ids = self.tokenizer(sentences, add_special_tokens=False, verbose=False)["input_ids"] if sentences else []
        if self.selection == "official":
            cut = self.frame([row[:max_tokens] for row in ids])
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            logits = predict_importance(self.classifier, cut, pad, self.batch_size, output="logits")
        by_document: dict[int, list[int]] = {}
        for k, d in enumerate(document_of):
            by_document.setdefault(d, []).append(k)
        out: dict[str, list[Any]] = {"input_ids": [], "attention_mask": []}
        for d in range(len(documents)):
            rng = pack_rng(self.seed, first + d)
            members = by_document.get(d, [])
            flags: dict[str, list[list[float]]] = {}
            if self.selection == "official":
                flags = {"selected": [], "random_selected": []}
                for k in members:
                    content = logits[k][len(before) : len(before) + min(len(ids[k]), max_tokens)]
                    chosen = official_selection(content, [v != float("-inf") for v in content], len(ids[k]), self.rate)
                    allowed = None if self.control_excluded_ids is None else [t not in self.control_excluded_ids
                                                                              for t in ids[k]]  # fmt: skip
                    drawn = random_control(len(ids[k]), len(chosen), allowed, rng)
                    for name, positions in (("selected", chosen), ("random_selected", drawn)):
                        flags[name].append([float(i in positions) for i in range(len(ids[k]))])
            packed = pack_document([ids[k] for k in members], flags, max_tokens, self.short_seq_prob, rng)
            framed = self.frame(packed.ids)
            out["input_ids"] += framed["input_ids"]
            out["attention_mask"] += framed["attention_mask"]
            for name, rows in packed.flags.items():
                out.setdefault(name, []).extend([0.0] * len(before) + r + [0.0] * len(after) for r in rows)
        if self.selection == "probability":
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            out["importance"] = predict_importance(self.classifier, out, pad, self.batch_size)
        return out


@dataclass
class InDomainResult:
    dataset: Any
    rows: int
    empty_skipped: int
    shards_reused: int


def shard_reader(texts: Any) -> tuple[int, int, int, Callable[[int, int], list[str]]]:
    """The rows to cut into shards, how many texts are kept and how many are empty, and a reader of the kept
    texts of rows[start:end]. A `datasets.Dataset` (its `text` column; `maskkit.training.corpus.load_corpus`)
    is read a shard of its rows at a time, so memory stays bounded however large the corpus; a list's
    empty texts are dropped first and its shards cut from the rest."""
    if hasattr(texts, "column_names"):
        if "text" not in texts.column_names:
            raise InputError(f"the in-domain dataset has no 'text' column (columns: {texts.column_names})")

        def kept(batch: list[Any]) -> list[str]:
            return [t.strip() for t in batch if isinstance(t, str) and t.strip()]

        empty = sum(len(b["text"]) - len(kept(b["text"])) for b in texts.select_columns(["text"]).iter(10_000))
        return len(texts), len(texts) - empty, empty, lambda start, end: kept(texts[start:end]["text"])
    kept_list = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
    return len(kept_list), len(kept_list), len(texts) - len(kept_list), lambda start, end: kept_list[start:end]


def score_in_domain(
    classifier: Any, tokenizer: Any, texts: Any, output_dir: str, max_length: int = 128,
    shard_size: int = 2000, batch_size: int = 64, progress: bool = True,
    build: Callable[[Sequence[str], int], dict[str, list[Any]]] | None = None,
) -> InDomainResult:  # fmt: skip
    """Writes (and returns) a dataset of tokenised texts with an `importance` column, P(important) per token;
    or of the rows `build(documents, index of the first)` makes of each shard's documents. `texts`: a list,
    or a `datasets.Dataset` with a `text` column, read one shard at a time."""
    import torch
    from accelerate import PartialState
    from datasets import Dataset, concatenate_datasets, load_from_disk

    from maskkit.dataset_stages import Tokenize
    from maskkit.progress import progress_bar

    if shard_size < 1:
        raise InputError(f"shard_size must be >= 1, got {shard_size}")
    rows, total, empty, read = shard_reader(texts)
    if not total:
        raise InputError(f"no in-domain text: all {empty} lines are empty")
    state = PartialState(cpu=not torch.cuda.is_available())
    shards_dir = os.path.join(output_dir, "shards")
    os.makedirs(shards_dir, exist_ok=True)
    starts = list(range(0, rows, shard_size))
    tokenize = Tokenize(tokenizer, max_length=max_length)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    reused = 0
    mine = [k for k in range(len(starts)) if k % state.num_processes == state.process_index]
    bar = progress_bar(len(mine), "in-domain importance", "shard", enabled=progress and state.is_main_process)
    for k in mine:
        bar.update(1)
        final = os.path.join(shards_dir, f"{k:05d}")
        if os.path.isdir(final):
            reused += 1
            continue
        documents = read(starts[k], starts[k] + shard_size)
        if not documents:  # a shard of a dataset's rows that were all empty
            encoded: dict[str, list[Any]] = {}
        elif build is not None:
            encoded = build(documents, starts[k])
        else:
            encoded = tokenize({"text": documents})
            encoded["importance"] = predict_importance(classifier, encoded, pad, batch_size)
        with atomic_path(final) as tmp:
            Dataset.from_dict(encoded).save_to_disk(tmp)
    bar.close()
    state.wait_for_everyone()
    shards = [load_from_disk(os.path.join(shards_dir, f"{k:05d}")) for k in range(len(starts))]
    dataset = concatenate_datasets([shard for shard in shards if len(shard)])
    return InDomainResult(dataset=dataset, rows=len(dataset), empty_skipped=empty, shards_reused=reused)
