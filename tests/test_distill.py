"""Self-distillation: the KD loss by hand, soft labels, the trainer under default TrainingArguments, teachers."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from maskkit.distill.loss import distillation_loss
from maskkit.distill.soft_labels import dense_soft_labels, generate_soft_labels
from maskkit.distill.teachers import SelfEnsembleTeacher
from maskkit.distill.trainer import DistillationTrainer, DistillConfig, born_again, distill_classifier
from maskkit.training.classify import FinetuneConfig
from maskkit.training.data import prepare_classification
from tests.conftest import LABELLED, model_folder, torchrun


def softmax(x):
    e = np.exp(np.asarray(x, dtype=float) - np.max(x))
    return e / e.sum()


def test_kd_loss_matches_hand_computed_values():
    student, teacher, label, t, alpha = [2.0, -1.0, 0.5], [0.0, 1.0, 3.0], 1, 2.0, 0.3
    p_t, p_s = softmax(np.array(teacher) / t), softmax(np.array(student) / t)
    kl = float(np.sum(p_t * np.log(p_t / p_s)))
    ce = -math.log(softmax(student)[label])
    expected = alpha * t * t * kl + (1 - alpha) * ce
    got = distillation_loss(
        torch.tensor([student]), torch.tensor([label]), alpha, t, teacher_logits=torch.tensor([teacher])
    )
    assert float(got) == pytest.approx(expected, rel=1e-5)
    from_probs = distillation_loss(
        torch.tensor([student]), torch.tensor([label]), alpha, t, teacher_probs=torch.from_numpy(p_t[None]).float()
    )
    assert float(from_probs) == pytest.approx(expected, rel=1e-5)
    mse = distillation_loss(torch.tensor([student]), None, 1.0, t, "mse", teacher_logits=torch.tensor([teacher]))
    assert float(mse) == pytest.approx(np.mean((np.array(student) - np.array(teacher)) ** 2))


def test_kd_loss_refuses_bad_settings():
    logits = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="alpha"):
        distillation_loss(logits, None, alpha=1.5, teacher_logits=logits)
    with pytest.raises(ValueError, match="labels are needed"):
        distillation_loss(logits, None, alpha=0.5, teacher_logits=logits)
    with pytest.raises(ValueError, match="shape"):
        distillation_loss(logits, None, alpha=1.0, teacher_probs=torch.full((2, 4), 0.25))


@pytest.fixture(scope="module")
def encoded(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    splits, _ = prepare_classification({"train": LABELLED}, tokenizer, FinetuneConfig(output_dir="unused"))
    return tokenizer, splits["train"]


def test_soft_labels_sum_to_one_and_are_not_recomputed(tiny_model_dir, encoded):
    tokenizer, data = encoded
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)
    labelled = generate_soft_labels(model, data, tokenizer, temperature=2.0, batch_size=5, progress=False)
    probs = np.array(labelled["soft_labels"])
    assert probs.shape == (len(data), 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    # rows scored alone give the same probabilities as rows scored in a length-sorted batch
    alone = generate_soft_labels(model, data.select([4]), tokenizer, temperature=2.0, progress=False)
    assert np.allclose(alone["soft_labels"][0], probs[4], atol=1e-5)
    assert generate_soft_labels(model, labelled, tokenizer, temperature=2.0) is labelled
    assert set(labelled["soft_labels_temperature"]) == {2.0}
    with pytest.raises(ValueError, match=r"made at temperature \[2.0\] but the temperature asked for is 1.0"):
        generate_soft_labels(model, labelled, tokenizer)  # soft labels at T=2 are not T=1's
    top = generate_soft_labels(model, data, tokenizer, top_k=2, progress=False)
    values, ids = torch.tensor(top["soft_labels"]), torch.tensor(top["soft_label_ids"])
    dense = dense_soft_labels(values, ids, 3)
    assert values.shape == (len(data), 2) and torch.allclose(dense.sum(dim=1), torch.ones(len(data)))
    assert torch.equal(dense.argmax(dim=1), torch.tensor(probs.argmax(axis=1)))


def test_soft_labels_reach_the_loss_under_default_training_arguments(tiny_model_dir, encoded, tmp_path):
    from transformers import DataCollatorWithPadding, TrainingArguments

    tokenizer, data = encoded
    data = data.add_column("soft_labels", [[0.9, 0.1]] * len(data))
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    args = TrainingArguments(str(tmp_path), per_device_train_batch_size=4, report_to=[], use_cpu=True)
    assert args.remove_unused_columns
    trainer = DistillationTrainer(
        model=model, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(tokenizer),
        distill=DistillConfig(alpha=1.0, temperature=1.0),
    )  # fmt: skip
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["soft_labels"].shape == (4, 2)
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    loss = trainer.compute_loss(model, dict(batch))
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k not in ("soft_labels", "labels")}).logits
    expected = distillation_loss(logits, None, 1.0, 1.0, teacher_probs=batch["soft_labels"])
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-4)


def test_distill_refuses_mismatched_teachers_and_widths(tiny_model_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = FinetuneConfig(output_dir=str(tmp_path), max_steps=1, progress=False)
    wrong = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=3)
    with pytest.raises(ValueError, match="teacher predicts 3 labels"):
        distill_classifier(tiny_model_dir, tokenizer, LABELLED, config, teacher=wrong)
    rows = [{**row, "soft_labels": [0.2, 0.3, 0.5]} for row in LABELLED]
    with pytest.raises(ValueError, match="width 3 but the data has 2 labels"):
        distill_classifier(tiny_model_dir, tokenizer, rows, config)
    with pytest.raises(ValueError, match="no teacher"):
        distill_classifier(tiny_model_dir, tokenizer, LABELLED, config)


def test_ema_teacher_follows_the_student(tiny_model_dir):
    student = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    teacher = SelfEnsembleTeacher("ema", decay=0.75)
    teacher.attach(student)
    old = [p.detach().clone() for p in student.parameters()]
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    teacher.update(student, step=1)
    for t, o in zip(teacher.model.parameters(), old):
        assert torch.allclose(t, o + 0.25, atol=1e-6)
    average = SelfEnsembleTeacher("average", k=2, interval=1)
    average.attach(student)  # snapshot of the shifted weights
    with torch.no_grad():
        for p in student.parameters():
            p.add_(2.0)
    average.update(student, step=1)
    for t, o in zip(average.model.parameters(), old):
        assert torch.allclose(t, o + 2.0, atol=1e-6)  # mean of (o + 1) and (o + 3)


def test_sdv_teacher_averages_the_outputs_of_its_last_snapshots(tiny_model_dir):
    """Xu et al.'s SDV: the teacher's logits are the mean of the last K snapshot models' logits (read from
    the paper's definition); before the first snapshot there is no teacher."""
    student = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2).eval()
    teacher = SelfEnsembleTeacher("outputs", k=2, interval=0)
    teacher.on_train_begin(None, None, None, model=student)
    inputs = {"input_ids": torch.tensor([[2, 7, 9, 3]]), "attention_mask": torch.ones(1, 4, dtype=torch.long)}
    assert teacher.logits(inputs) is None
    seen = []
    for shift in (0.1, 0.2, 0.3):
        with torch.no_grad():
            student.classifier.bias.add_(shift)
            seen.append(student(**inputs).logits)
        teacher.on_epoch_end(None, None, None, model=student)
    assert len(teacher.members) == 2
    assert torch.allclose(teacher.logits(inputs), (seen[1] + seen[2]) / 2, atol=1e-6)  # the last two epochs
    teacher.on_step_end(None, types.SimpleNamespace(global_step=5), None, model=student)
    assert len(teacher.members) == 2  # interval 0: snapshots at epoch ends only


def test_xu_recipes_add_the_mse_term_to_cross_entropy():
    logits = torch.tensor([[1.0, -1.0, 0.5], [0.2, 0.1, -0.3]])
    teacher = torch.tensor([[0.5, 0.0, 0.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([0, 2])
    ce = torch.nn.functional.cross_entropy(logits, labels)
    mse = ((logits - teacher) ** 2).mean()
    added = distillation_loss(logits, labels, 1.0, 2.0, "mse", teacher_logits=teacher, weighting="add")
    assert added.item() == pytest.approx((ce + mse).item(), rel=1e-6)
    mixed = distillation_loss(logits, labels, 1.0, 2.0, "mse", teacher_logits=teacher)
    assert mixed.item() == pytest.approx(mse.item(), rel=1e-6)  # "mix" at alpha 1: the soft term alone
    sda, sdv = DistillConfig(recipe="xu-sda"), DistillConfig(recipe="xu-sdv")
    assert (sda.kind, sda.weighting, sda.alpha, sda.self_ensemble, sda.average_interval) == ("mse", "add", 1.0,
                                                                                          "average", 1)  # fmt: skip
    assert (sdv.self_ensemble, sdv.average_interval) == ("outputs", 0) and not sdv.overrides
    assert DistillConfig() == DistillConfig(recipe="hinton", alpha=0.5, kind="kl")
    assert DistillConfig(recipe="xu-sda", alpha=0.5).overrides == ("alpha: 1.0 (recipe xu-sda) -> 0.5",)
    with pytest.raises(ValueError, match="recipe must be one of"):
        DistillConfig(recipe="sda")


@pytest.mark.parametrize("ensemble", [None, "ema", "xu-sdv"])
def test_two_step_distillation_runs(tiny_model_dir, tmp_path, ensemble):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = FinetuneConfig(output_dir=str(tmp_path), max_steps=2, batch_size=4, progress=False)
    if ensemble is None:
        results = born_again(tiny_model_dir, tokenizer, LABELLED, config, generations=1, dev=LABELLED[:8])
        assert [r.steps for r in results] == [2, 2]
        assert (tmp_path / "gen-1" / "model.safetensors").is_file()
    else:
        distill = DistillConfig(recipe=ensemble) if ensemble.startswith("xu") else DistillConfig(self_ensemble="ema")
        if ensemble == "xu-sdv":  # two epochs: the second learns from the first epoch's snapshot
            config = FinetuneConfig(output_dir=str(tmp_path), epochs=2, batch_size=12, progress=False)
        result = distill_classifier(tiny_model_dir, tokenizer, LABELLED, config, distill, dev=LABELLED[:8])
        assert result.steps == (4 if ensemble == "xu-sdv" else 2) and 0 <= result.dev["accuracy"] <= 1


WORKER = """
import json, sys
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from maskkit.distill.soft_labels import generate_soft_labels
from maskkit.training.classify import FinetuneConfig
from maskkit.training.data import prepare_classification
from accelerate import PartialState
folder, out, rows = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder)
splits, _ = prepare_classification({"train": rows}, tokenizer, FinetuneConfig(output_dir="unused"))
data = generate_soft_labels(model, splits["train"], tokenizer, temperature=2.0, progress=False)
state = PartialState()
with open(f"{out}.{state.process_index}", "w") as f:
    json.dump({"processes": state.num_processes, "soft": list(data["soft_labels"])}, f)
"""


@pytest.mark.slow
def test_soft_labels_from_two_processes_equal_one_process(tiny_model_dir, tmp_path):
    import json

    folder = model_folder(AutoModelForSequenceClassification, tiny_model_dir, tmp_path / "teacher", num_labels=2)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / "soft"
    torchrun(2, [str(script), str(folder), str(out), json.dumps(LABELLED[:11])], timeout=300)
    ranks = [json.loads((tmp_path / f"soft.{r}").read_text()) for r in (0, 1)]
    assert [r["processes"] for r in ranks] == [2, 2]
    assert ranks[0]["soft"] == ranks[1]["soft"]  # every process gets the whole column
    tokenizer = AutoTokenizer.from_pretrained(folder)
    splits, _ = prepare_classification({"train": LABELLED[:11]}, tokenizer, FinetuneConfig(output_dir="unused"))
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    alone = generate_soft_labels(model, splits["train"], tokenizer, temperature=2.0, progress=False)
    assert np.allclose(np.array(ranks[0]["soft"]), np.array(alone["soft_labels"]), atol=1e-5)


def test_soft_labels_at_another_temperature_are_refused(tiny_model_dir, tmp_path):
    """generate_soft_labels defaults to T=1 and DistillConfig to T=2: the recorded temperature catches it."""
    from datasets import Dataset

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = Dataset.from_list(LABELLED)
    rows = rows.add_column("soft_labels", [[0.5, 0.5]] * len(rows))
    rows = rows.add_column("soft_labels_temperature", [1.0] * len(rows))
    config = FinetuneConfig(output_dir=str(tmp_path), max_steps=1, progress=False)
    with pytest.raises(ValueError, match=r"made at temperature \[1.0\] but DistillConfig.temperature is 2.0"):
        distill_classifier(tiny_model_dir, tokenizer, rows, config, DistillConfig(temperature=2.0))
    assert not (tmp_path / "checkpoints").exists()
