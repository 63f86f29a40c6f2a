"""Stage 4: per-token importance over unlabelled in-domain text, written in shards that resume.

Texts are tokenised exactly as for pre-training (`maskkit.Tokenize`, same `max_length`), so the
`importance` column lines up with `input_ids`. Shards of `shard_size` rows are written atomically under
`output_dir/shards/`; a rerun skips finished shards. Under `accelerate launch` / `torchrun` shard k goes
to process k mod N. Empty lines are skipped and counted.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

from maskkit.errors import InputError
from maskkit.selective.classifier import predict_importance


@dataclass
class InDomainResult:
    dataset: Any
    rows: int
    empty_skipped: int
    shards_reused: int


def score_in_domain(
    classifier: Any, tokenizer: Any, texts: list[str], output_dir: str, max_length: int = 128,
    shard_size: int = 2000, batch_size: int = 64, progress: bool = True,
) -> InDomainResult:  # fmt: skip
    """Writes (and returns) a dataset of tokenised texts with an `importance` column, P(important) per token."""
    import torch
    from accelerate import PartialState
    from datasets import Dataset, concatenate_datasets, load_from_disk

    from maskkit.progress import progress_bar
    from maskkit.stages import Tokenize

    if shard_size < 1:
        raise InputError(f"shard_size must be >= 1, got {shard_size}")
    kept = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
    empty = len(texts) - len(kept)
    if not kept:
        raise InputError(f"no in-domain text: all {len(texts)} lines are empty")
    state = PartialState(cpu=not torch.cuda.is_available())
    shards_dir = os.path.join(output_dir, "shards")
    os.makedirs(shards_dir, exist_ok=True)
    starts = list(range(0, len(kept), shard_size))
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
        chunk = {"text": kept[starts[k] : starts[k] + shard_size]}
        encoded = tokenize(chunk)
        encoded["importance"] = predict_importance(classifier, encoded, pad, batch_size)
        tmp = f"{final}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        Dataset.from_dict(encoded).save_to_disk(tmp)
        os.replace(tmp, final)
    bar.close()
    state.wait_for_everyone()
    dataset = concatenate_datasets([load_from_disk(os.path.join(shards_dir, f"{k:05d}")) for k in range(len(starts))])
    return InDomainResult(dataset=dataset, rows=len(dataset), empty_skipped=empty, shards_reused=reused)
