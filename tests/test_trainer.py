"""Drop-in use with transformers.Trainer: a two-step run per scheme with a tiny model built in code."""

from __future__ import annotations

import pytest
from datasets import Dataset
from transformers import Trainer, TrainingArguments

from maskkit import (
    EpochCallback,
    MaskingCollator,
    MissingColumnError,
    OneOfSelectors,
    ScoredSelector,
    SpanSelector,
    Tokenize,
    TokenSelector,
    UnitSelector,
    WholeWordSelector,
    keep_columns,
)
from tests.conftest import SENTENCES, tiny_mlm


def args(tmp_path, **overrides):
    base = dict(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, report_to=[], use_cpu=True,
        logging_steps=1, save_strategy="no", disable_tqdm=True, dataloader_num_workers=0,
    )  # fmt: skip
    base.update(overrides)
    return TrainingArguments(**base)


@pytest.fixture(scope="module")
def dataset(wordpiece):
    data = Dataset.from_dict({"text": SENTENCES * 2, "label": [i % 2 for i in range(len(SENTENCES) * 2)]})
    return data.map(Tokenize(wordpiece), batched=True)


@pytest.mark.parametrize(
    "selector",
    [
        TokenSelector(),
        WholeWordSelector(),
        SpanSelector(),
        UnitSelector(column=None, lexicon=("lazy dog", "the movie")),
        OneOfSelectors([WholeWordSelector(), SpanSelector()]),
    ],
    ids=["token", "word", "span", "unit-lexicon", "oneof"],
)
def test_two_step_trainer_run_with_default_arguments(tmp_path, wordpiece, dataset, selector):
    model = tiny_mlm(len(wordpiece))
    collator = MaskingCollator(wordpiece, selector=selector)
    trainer = Trainer(model=model, args=args(tmp_path), train_dataset=dataset, data_collator=collator)
    result = trainer.train()
    assert result.global_step == 2
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)


def test_scored_masking_under_trainer_needs_its_column_and_says_so(tmp_path, wordpiece, dataset):
    scored = dataset.map(lambda row: {"importance": [1.0] * len(row["input_ids"])})
    collator = MaskingCollator(wordpiece, selector=ScoredSelector())
    model = tiny_mlm(len(wordpiece))
    trainer = Trainer(model=model, args=args(tmp_path), train_dataset=scored, data_collator=collator)
    with pytest.raises(MissingColumnError, match="remove_unused_columns"):
        trainer.train()
    kept = keep_columns(scored, collator, model)
    assert "importance" in kept.column_names and "text" not in kept.column_names
    trainer = Trainer(
        model=model,
        args=args(tmp_path, remove_unused_columns=False),
        train_dataset=kept,
        data_collator=collator,
    )
    assert trainer.train().global_step == 2


@pytest.mark.slow
def test_epoch_callback_gives_new_masks_each_epoch_with_workers(tmp_path, wordpiece, dataset):
    received = []

    class RecordingTrainer(Trainer):
        def compute_loss(self, model, inputs, *rest, **kwargs):
            received.append((int(self.state.epoch), inputs["input_ids"].clone(), inputs["labels"].clone()))
            return super().compute_loss(model, inputs, *rest, **kwargs)

    collator = MaskingCollator(wordpiece, selector=WholeWordSelector(0.3), seed=4)
    trainer = RecordingTrainer(
        model=tiny_mlm(len(wordpiece)),
        args=args(tmp_path, max_steps=-1, num_train_epochs=3, per_device_train_batch_size=8,
                  dataloader_num_workers=2, seed=0),
        train_dataset=dataset.remove_columns(["word_ids"]),
        data_collator=collator,
        callbacks=[EpochCallback(collator)],
    )  # fmt: skip
    trainer.train()
    assert {epoch for epoch, _, _ in received} == {0, 1, 2}
    masks_per_epoch: dict[int, set] = {0: set(), 1: set(), 2: set()}
    for epoch, ids, labels in received:
        for row_ids, row_labels in zip(ids, labels):
            n = int((row_ids != wordpiece.pad_token_id).sum())
            original = row_ids.where(row_labels == -100, row_labels)[:n].tolist()
            collator.set_epoch(epoch)
            expected = collator([{"input_ids": original}])
            assert expected["input_ids"][0].tolist() == row_ids[:n].tolist()
            masks_per_epoch[epoch].add(tuple(row_labels[:n].tolist()))
    assert masks_per_epoch[0] != masks_per_epoch[1] != masks_per_epoch[2]


class RecordingCollator:
    """The collator Trainer sees; it keeps the labels of every batch it makes."""

    def __init__(self, collator):
        self.collator, self.labels = collator, []

    def set_epoch(self, epoch):
        self.collator.set_epoch(epoch)

    def __call__(self, features):
        out = self.collator(features)
        self.labels.append(out["labels"].clone())
        return out


def test_a_run_resumed_mid_epoch_masks_every_step_as_an_uninterrupted_run(wordpiece, dataset, tmp_path):
    """Resumed at epoch 1.5, the collator gets epoch 1 (round(1.5) gave epoch 2's masks)."""
    import torch

    data = dataset.remove_columns(["text", "label"])  # 16 rows: 4 steps an epoch at batch 4

    def train(folder, resume=None):
        collator = RecordingCollator(MaskingCollator(wordpiece, WholeWordSelector(rate=0.3), seed=2))
        trainer = Trainer(
            model=tiny_mlm(len(wordpiece)), train_dataset=data, data_collator=collator,
            args=args(folder, max_steps=-1, num_train_epochs=3, save_strategy="steps", save_steps=1, seed=0,
                      data_seed=0),
            callbacks=[EpochCallback(collator)],
        )  # fmt: skip
        trainer.train(resume_from_checkpoint=resume)
        return collator.labels

    whole = train(tmp_path / "whole")
    assert len(whole) == 12
    resumed = train(tmp_path / "whole", resume=str(tmp_path / "whole" / "checkpoint-6"))  # epoch 1.5
    assert len(resumed) >= 6
    for a, b in zip(whole[-6:], resumed[-6:]):
        assert torch.equal(a, b)


def stream_of(dataset):
    """The rows as a datasets.IterableDataset (a stream: no length, as a streamed corpus is)."""
    rows = dataset.remove_columns(["text", "label"]).to_list()
    from datasets import IterableDataset

    return IterableDataset.from_generator(lambda: iter(rows))


def same(batches, others):
    """Whether two passes' batches hold the same labels (the same rows in the same order: a stream's)."""
    import torch

    return all(a.shape == b.shape and torch.equal(a, b) for a, b in zip(batches, others))


def test_a_streamed_run_gets_new_masks_every_pass_under_plain_trainer(wordpiece, dataset, tmp_path):
    """Trainer's epoch reads 0.33 at the start of a stream's second pass; the callback counts passes."""

    collator = RecordingCollator(MaskingCollator(wordpiece, WholeWordSelector(rate=0.3), seed=2))
    trainer = Trainer(model=tiny_mlm(len(wordpiece)), train_dataset=stream_of(dataset), data_collator=collator,
                      args=args(tmp_path, max_steps=12, seed=0), callbacks=[EpochCallback(collator)])  # fmt: skip
    trainer.train()
    passes = [collator.labels[i : i + 4] for i in (0, 4, 8)]  # 16 rows: 4 batches a pass
    assert len(collator.labels) == 12
    assert not same(passes[0], passes[1]) and not same(passes[1], passes[2]) and not same(passes[0], passes[2])


def test_repeat_passes_gives_new_masks_each_pass_and_an_exact_resume_in_a_later_pass(wordpiece, dataset, tmp_path):

    from maskkit import repeat_passes

    def train(folder, resume=None):
        collator = RecordingCollator(MaskingCollator(wordpiece, WholeWordSelector(rate=0.3), seed=2))
        trainer = Trainer(
            model=tiny_mlm(len(wordpiece)), train_dataset=repeat_passes(stream_of(dataset)), data_collator=collator,
            args=args(folder, max_steps=12, save_strategy="steps", save_steps=1, seed=0, remove_unused_columns=False),
            callbacks=[EpochCallback(collator)],
        )  # fmt: skip
        trainer.train(resume_from_checkpoint=resume)
        return collator.labels

    whole = train(tmp_path / "whole")  # 12 steps (an endless stream: the loader may have made one batch more)
    passes = [whole[i : i + 4] for i in (0, 4, 8)]
    assert len(whole) >= 12 and not same(passes[0], passes[1]) and not same(passes[1], passes[2])
    resumed = train(tmp_path / "whole", resume=str(tmp_path / "whole" / "checkpoint-6"))  # in the second pass
    extra = len(whole) - 12  # the same prefetched batches end both runs
    assert len(resumed) >= 6 + extra and same(whole[6:], resumed[-(6 + extra) :])
