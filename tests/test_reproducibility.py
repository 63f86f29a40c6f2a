"""Masks are a pure function of (seed, epoch, example): DataLoader workers, persistence, batch size,
order and epochs (real worker processes, three epochs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from maskkit import MaskingCollator, SpanSelector, WholeWordSelector


class Examples(torch.utils.data.Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def masks_by_example(collator, rows, epochs, **loader_kwargs):
    """{epoch: {example index: (ids, labels)}} from a real DataLoader."""
    loader = DataLoader(Examples(rows), collate_fn=collator, **loader_kwargs)
    seen = {}
    for epoch in range(epochs):
        collator.set_epoch(epoch)
        seen[epoch] = {}
        for batch in loader:
            for row, idx in enumerate(batch["idx"].tolist()):
                n = int(batch["attention_mask"][row].sum())
                seen[epoch][idx] = (batch["input_ids"][row, :n].tolist(), batch["labels"][row, :n].tolist())
    return seen


@pytest.fixture(scope="module")
def rows(wordpiece):
    rng = np.random.default_rng(0)
    words = ["the", "quick", "brown", "fox", "unbelievably", "movie", "great", ","]
    return [
        {"input_ids": wordpiece(" ".join(rng.choice(words, rng.integers(5, 40))))["input_ids"], "idx": i}
        for i in range(48)
    ]


@pytest.mark.slow
def test_workers_persistence_batch_size_and_order_do_not_change_masks(wordpiece, rows):
    make = lambda: MaskingCollator(wordpiece, selector=SpanSelector(0.2), seed=11)  # noqa: E731
    reference = masks_by_example(make(), rows, 3, batch_size=8)
    variants = [
        dict(batch_size=5, num_workers=2),
        dict(batch_size=8, num_workers=2, persistent_workers=True),
        dict(batch_size=16, num_workers=2, shuffle=True, generator=torch.Generator().manual_seed(1)),
        dict(batch_size=3, num_workers=1, persistent_workers=True, shuffle=True),
    ]
    for kwargs in variants:
        assert masks_by_example(make(), rows, 3, **kwargs) == reference, kwargs
    # and every epoch gets new masks
    for e in (1, 2):
        changed = sum(reference[e][i] != reference[0][i] for i in reference[0])
        assert changed > len(rows) // 2


def test_transformers_collator_repeats_masks_every_epoch_with_workers(wordpiece, rows):
    """The anchor's flaw maskkit fixes: with a seed and non-persistent workers, epochs repeat masks."""
    from transformers import DataCollatorForLanguageModeling

    anchor = DataCollatorForLanguageModeling(wordpiece, mlm_probability=0.15, seed=11)
    plain = [{"input_ids": r["input_ids"]} for r in rows[:16]]
    loader = DataLoader(Examples(plain), collate_fn=anchor, batch_size=16, num_workers=1)
    epochs = [next(iter(loader))["labels"].tolist() for _ in range(2)]
    assert epochs[0] == epochs[1]
    ours = MaskingCollator(wordpiece, selector=WholeWordSelector(0.15), seed=11)
    loader = DataLoader(Examples(plain), collate_fn=ours, batch_size=16, num_workers=1)
    first = next(iter(loader))["labels"].tolist()
    ours.set_epoch(1)
    assert next(iter(loader))["labels"].tolist() != first


def test_resuming_mid_epoch_gives_the_masks_of_an_uninterrupted_run(wordpiece, rows):
    """Trainer resumes by skipping the epoch's first batches (accelerate.skip_first_batches)."""
    from accelerate import skip_first_batches

    collator = MaskingCollator(wordpiece, selector=WholeWordSelector(0.3), seed=2)
    collator.set_epoch(1)
    loader = DataLoader(Examples(rows), collate_fn=collator, batch_size=8)
    full = [(b["input_ids"].tolist(), b["labels"].tolist()) for b in loader]
    resumed = MaskingCollator(wordpiece, selector=WholeWordSelector(0.3), seed=2)  # a fresh process
    resumed.set_epoch(1)
    loader = DataLoader(Examples(rows), collate_fn=resumed, batch_size=8)
    rest = [(b["input_ids"].tolist(), b["labels"].tolist()) for b in skip_first_batches(loader, 3)]
    assert rest == full[3:]
