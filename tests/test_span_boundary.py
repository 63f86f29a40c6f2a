"""SpanBERT's span boundary objective: boundary pairs from the collator, the head's loss against a
reference written from the paper's formula, training, saving, reloading, and fine-tuning ignoring it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from maskkit import MaskingCollator, SpanSelector
from maskkit.masking.functional import span_boundaries
from maskkit.training.mlm import mlm_loss
from maskkit.training.span_boundary import HEAD, attach_span_boundary_head
from tests.conftest import SENTENCES, features, tiny_mlm


def test_boundaries_match_a_scan_of_each_unit():
    rng = np.random.default_rng(0)
    for _ in range(200):
        width = int(rng.integers(3, 30))
        lengths = rng.integers(2, width + 1, size=4)
        units = np.full((4, width), -1)
        for row, n in enumerate(lengths):
            position = 1
            while position < n - 1:  # units: runs of targets labelled by their start
                size = int(rng.integers(1, 5))
                if rng.random() < 0.4:
                    units[row, position : min(position + size, n - 1)] = position
                position += size + int(rng.integers(0, 3))
        left, right, offset = span_boundaries(units, lengths)
        for row in range(4):
            for i in range(width):
                if units[row, i] < 0:
                    assert left[row, i] == right[row, i] == offset[row, i] == -1
                    continue
                start = units[row, i]
                end = max(j for j in range(width) if units[row, j] == start)
                assert (left[row, i], right[row, i], offset[row, i]) == (
                    max(start - 1, 0),
                    min(end + 1, lengths[row] - 1),
                    i - start,
                )


def test_the_collator_writes_pairs_just_outside_each_span(wordpiece):
    collator = MaskingCollator(wordpiece, SpanSelector(0.3), span_boundaries=True, return_tensors="np")
    batch = collator(features(wordpiece, SENTENCES))
    targets = batch["labels"] != -100
    assert targets.any()
    assert ((batch["sbo_left"] >= 0) == targets).all() and ((batch["sbo_offset"] >= 0) == targets).all()
    rows, cols = np.nonzero(targets)
    assert (batch["sbo_left"][rows, cols] < cols).all() and (batch["sbo_right"][rows, cols] > cols).all()
    offsets = batch["sbo_offset"][rows, cols]
    assert (batch["sbo_left"][rows, cols] == cols - offsets - 1).all()  # just before the span's first token
    assert (offsets[1:] <= offsets[:-1] + 1).all()  # offsets count up inside a span
    assert "sbo_left" not in MaskingCollator(wordpiece, SpanSelector(0.3), return_tensors="np")(
        features(wordpiece, SENTENCES[:2]))  # fmt: skip


def reference_loss(model, batch):
    """MLM cross-entropy (dense) plus, per target, cross-entropy of
    LN(GeLU(W2 LN(GeLU(W1 [x_left; x_right; p_offset])))) @ E^T + b: summed and divided by the targets."""
    head = getattr(model, HEAD)
    forward = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
    states = model.base_model(**forward).last_hidden_state
    logits = model(**forward).logits
    targets = batch["labels"] != -100
    total = F.cross_entropy(logits[targets], batch["labels"][targets], reduction="sum")
    weight = model.get_output_embeddings().weight
    lin1, _, ln1, lin2, _, ln2 = head.mlp
    for row, i in targets.nonzero().tolist():
        offset = int(batch["sbo_offset"][row, i])
        if offset >= head.max_offset:
            continue
        x = torch.cat([states[row, batch["sbo_left"][row, i]], states[row, batch["sbo_right"][row, i]],
                       head.offsets.weight[offset]])  # fmt: skip
        h = ln2(F.gelu(lin2(ln1(F.gelu(lin1(x))))))
        total = total + F.cross_entropy((h @ weight.t() + head.bias)[None], batch["labels"][row, i][None])
    return total / targets.sum()


@pytest.mark.parametrize("sparse", [True, False])
def test_the_loss_is_mlm_plus_the_boundary_objective(wordpiece, sparse):
    torch.manual_seed(0)
    model = tiny_mlm(len(wordpiece)).eval()
    attach_span_boundary_head(model)
    collator = MaskingCollator(wordpiece, SpanSelector(0.4), span_boundaries=True)
    batch = collator(features(wordpiece, SENTENCES))
    loss = mlm_loss(model, batch, sparse=sparse)
    expected = reference_loss(model, batch)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    plain = mlm_loss(model, {k: v for k, v in batch.items() if not k.startswith("sbo_")}, sparse=sparse)
    assert loss.item() > plain.item()
    loss.backward()
    assert getattr(model, HEAD).mlp[0].weight.grad.abs().sum() > 0  # the head learns
    head_free = tiny_mlm(len(wordpiece))
    with pytest.raises(TypeError, match="no span boundary head"):
        mlm_loss(head_free, batch)


def test_pretraining_with_the_objective_saves_reloads_and_fine_tuning_ignores_it(wordpiece, tmp_path):
    from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification

    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    start = tmp_path / "start"
    tiny_mlm(len(wordpiece)).save_pretrained(start)
    wordpiece.save_pretrained(start)
    collator = MaskingCollator(wordpiece, SpanSelector(0.3), span_boundaries=True)
    config = PretrainConfig(str(tmp_path / "sbo"), max_steps=3, batch_size=4, lr=1e-3, progress=False)
    result = further_pretrain(str(start), wordpiece, SENTENCES * 2, collator, config)
    assert result.steps == 3 and result.train_loss > 0
    trained = AutoModelForMaskedLM.from_pretrained(config.output_dir)
    head = attach_span_boundary_head(trained)  # continued pre-training picks the trained head up again
    fresh = attach_span_boundary_head(tiny_mlm(len(wordpiece)))
    from safetensors.torch import load_file

    saved = load_file(f"{config.output_dir}/model.safetensors")
    assert torch.equal(head.mlp[0].weight, saved[f"{HEAD}.mlp.0.weight"])
    assert not torch.equal(head.mlp[0].weight, fresh.mlp[0].weight)
    classifier = AutoModelForSequenceClassification.from_pretrained(config.output_dir, num_labels=2)
    assert not hasattr(classifier, HEAD) and not any(HEAD in k for k in classifier.state_dict())
