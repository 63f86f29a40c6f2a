"""Training loops: the sparse MLM head, further pre-training stages, and classifier fine-tuning recipes."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from maskkit import MaskingCollator, WholeWordSelector
from maskkit.errors import RunConflict
from maskkit.training.checkpoints import MARK, is_complete
from maskkit.training.classify import FinetuneConfig, build_classifier, finetune_classifier
from maskkit.training.encode import EncodeForClassification, cut
from maskkit.training.mlm import sparse_mlm_loss
from maskkit.training.optim import parameter_groups
from maskkit.training.pretrain import PretrainConfig, further_pretrain, further_pretrain_stages, warm_up_head
from tests.conftest import LABELLED, SENTENCES, assert_same_weights, tiny_mlm


def random_mlm_batch(vocab: int, generator: torch.Generator, targets: float = 0.2) -> dict[str, torch.Tensor]:
    ids = torch.randint(5, vocab, (4, 12), generator=generator)
    labels = torch.where(torch.rand(4, 12, generator=generator) < targets, ids, torch.full_like(ids, -100))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def test_sparse_head_gives_the_dense_loss_and_gradients(wordpiece):
    model = tiny_mlm(len(wordpiece)).eval()
    batch = random_mlm_batch(len(wordpiece), torch.Generator().manual_seed(0))
    assert (batch["labels"] != -100).any()
    dense = model(**batch).loss
    dense.backward()
    dense_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    sparse = sparse_mlm_loss(model, batch)
    sparse.backward()
    assert torch.allclose(sparse, dense, atol=1e-5)
    for a, p in zip(dense_grads, model.parameters()):
        assert torch.allclose(a, p.grad, atol=1e-5)


def test_sparse_head_without_targets_is_zero_and_differentiable(wordpiece):
    model = tiny_mlm(len(wordpiece))
    batch = random_mlm_batch(len(wordpiece), torch.Generator().manual_seed(1), targets=0.0)
    loss = sparse_mlm_loss(model, batch)
    loss.backward()
    assert float(loss.detach()) == 0.0


def test_llrd_groups_decay_per_layer_downward(wordpiece):
    model = AutoModelForSequenceClassification.from_config(tiny_mlm(len(wordpiece)).config)
    groups = parameter_groups(model, lr=1e-3, llrd=0.5, head_lr=7e-3)
    rate = {id(p): g["lr"] for g in groups for p in g["params"]}
    named = dict(model.named_parameters())
    assert rate[id(named["bert.encoder.layer.1.attention.self.query.weight"])] == pytest.approx(1e-3)
    assert rate[id(named["bert.encoder.layer.0.attention.self.query.weight"])] == pytest.approx(5e-4)
    assert rate[id(named["bert.embeddings.word_embeddings.weight"])] == pytest.approx(1e-3)  # Sun et al.'s code
    assert rate[id(named["classifier.weight"])] == pytest.approx(7e-3)
    assert sum(len(g["params"]) for g in groups) == len(named)
    decayed = parameter_groups(model, lr=1e-3, llrd=0.5, embeddings="decayed")
    rate = {id(p): g["lr"] for g in decayed for p in g["params"]}
    assert rate[id(named["bert.embeddings.word_embeddings.weight"])] == pytest.approx(2.5e-4)  # lr * 0.5^2
    with pytest.raises(ValueError, match="llrd_embeddings must be one of"):
        parameter_groups(model, lr=1e-3, llrd=0.5, embeddings="frozen")


@pytest.mark.parametrize(
    ("truncation", "expected"),
    [("head", list(range(10))), ("tail", list(range(20, 30))), ("head_tail", [0, 1, 2, *range(23, 30)])],
)
def test_cut_keeps_the_right_tokens(truncation, expected):
    assert cut(list(range(30)), 10, truncation, head_tokens=3) == expected
    assert cut(list(range(5)), 10, truncation, head_tokens=3) == list(range(5))


def test_head_tail_encoding_frames_the_kept_tokens(wordpiece):
    text = " ".join(["good"] * 5 + ["movie"] * 20 + ["bad"] * 5)
    encoded = EncodeForClassification(wordpiece, max_length=12, truncation="head_tail", head_tokens=4)({"text": [text]})
    tokens = wordpiece.convert_ids_to_tokens(encoded["input_ids"][0])
    assert tokens == ["[CLS]", *["good"] * 4, "movie", *["bad"] * 5, "[SEP]"]
    assert len(encoded["attention_mask"][0]) == 12


def test_frozen_base_stays_frozen(tiny_model_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = FinetuneConfig(
        output_dir=str(tmp_path), pooling="mean", head_hidden=(16,), freeze_base=True, head_lr=1e-2, max_steps=2,
        batch_size=4, progress=False,
    )  # fmt: skip
    model = build_classifier(tiny_model_dir, ["0", "1"], config)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    finetune_classifier(model, tokenizer, LABELLED, config)
    after = dict(model.named_parameters())
    assert all(torch.equal(before[n], after[n]) for n in before if n.startswith("encoder."))
    assert any(not torch.equal(before[n], after[n]) for n in before if n.startswith("head."))


@pytest.mark.parametrize("pooling", ["pooler", "concat_cls"])
def test_finetune_saves_a_model_that_reloads_with_from_pretrained(tiny_model_dir, tmp_path, pooling):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = FinetuneConfig(
        output_dir=str(tmp_path), pooling=pooling, last_k=2, llrd=0.95, max_steps=2, batch_size=4, progress=False
    )
    result = finetune_classifier(tiny_model_dir, tokenizer, LABELLED, config, dev=LABELLED[:8], test=LABELLED[8:16])
    assert set(result.dev) >= {"accuracy", "macro_f1"} and 0 <= result.test["accuracy"] <= 1
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["steps"] == 2 and saved["label_names"] == ["0", "1"]
    reloaded = AutoModelForSequenceClassification.from_pretrained(str(tmp_path)).eval()
    batch = tokenizer(SENTENCES[:3], padding=True, return_tensors="pt")
    trained = build_classifier(str(tmp_path), ["0", "1"], config).eval() if pooling == "pooler" else reloaded
    with torch.no_grad():
        assert torch.allclose(reloaded(**batch).logits, trained(**batch).logits)
    assert reloaded.config.id2label == {0: "0", 1: "1"}


@pytest.mark.parametrize(
    ("rows", "dev", "message"),
    [
        ([], None, "the train split is empty"),
        (
            [{"text": "a", "label": None}, {"text": "b", "label": 1}],
            None,
            "rows of the train split have a blank or NaN 'label'",
        ),
        (
            [{"text": 3, "label": 0}, {"text": "b", "label": 1}],
            None,
            "column .text. of the train split mixes number .row 0. and str",
        ),
        ([{"text": "a", "label": 0}, {"text": "b", "label": 0}], None, "single label"),
        (LABELLED, [{"text": "a", "label": 5}], "labels outside the training label set"),
        ([{"words": "a", "label": 0}], None, "no text column 'text'"),
    ],
)
def test_bad_data_is_refused_before_training(tiny_model_dir, tmp_path, rows, dev, message):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = FinetuneConfig(output_dir=str(tmp_path), max_steps=1, progress=False)
    with pytest.raises((ValueError, TypeError, KeyError), match=message):
        finetune_classifier(tiny_model_dir, tokenizer, rows, config, dev=dev)
    assert not os.path.exists(tmp_path / "checkpoints")


def test_missing_model_folder_says_what_was_tried(wordpiece, tmp_path):
    config = FinetuneConfig(output_dir=str(tmp_path), max_steps=1, progress=False)
    with pytest.raises(FileNotFoundError, match="hub id .bert-base-uncased. is not in the Hugging Face cache"):
        finetune_classifier("bert-base-uncased", wordpiece, LABELLED, config)


def test_further_pretrain_stages_resume_and_skip(tiny_model_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    collator = MaskingCollator(tokenizer, WholeWordSelector(rate=0.3), seed=0)
    config = PretrainConfig(output_dir=str(tmp_path / "run"), max_steps=2, batch_size=4, save_steps=1, progress=False)
    first = further_pretrain(tiny_model_dir, tokenizer, SENTENCES, collator, config, eval_data=SENTENCES[:4])
    assert first.steps == 2 and first.eval_loss_before is not None and first.eval_loss_after is not None
    with pytest.raises(RunConflict, match="max_steps: 2 -> 3"):  # a changed setting never continues another run
        further_pretrain(
            tiny_model_dir, tokenizer, SENTENCES, collator, PretrainConfig(**{**config.__dict__, "max_steps": 3})
        )
    results = further_pretrain_stages(
        tiny_model_dir, tokenizer, [("domain", SENTENCES), ("task", SENTENCES[:4])], collator,
        PretrainConfig(output_dir=str(tmp_path / "stages"), max_steps=1, batch_size=4, progress=False),
    )  # fmt: skip
    assert [r.steps for r in results] == [1, 1]
    assert os.path.isfile(tmp_path / "stages" / "task" / "model.safetensors")
    mtime = os.path.getmtime(tmp_path / "stages" / "domain" / "metrics.json")
    again = further_pretrain_stages(
        tiny_model_dir, tokenizer, [("domain", SENTENCES)], collator,
        PretrainConfig(output_dir=str(tmp_path / "stages"), max_steps=1, batch_size=4, progress=False),
    )  # fmt: skip
    assert again[0].steps == 1 and os.path.getmtime(tmp_path / "stages" / "domain" / "metrics.json") == mtime
    other = MaskingCollator(tokenizer, WholeWordSelector(rate=0.5), seed=0)  # a finished stage is not relabelled
    with pytest.raises(RunConflict, match="selector"):
        further_pretrain_stages(
            tiny_model_dir, tokenizer, [("domain", SENTENCES)], other,
            PretrainConfig(output_dir=str(tmp_path / "stages"), max_steps=1, batch_size=4, progress=False),
        )  # fmt: skip


def test_pretraining_killed_while_saving_resumes_to_the_same_model(tiny_model_dir, tmp_path, capsys):
    """A checkpoint half-written by a killed job is recognised: the rerun removes it, resumes from the last
    complete one, and ends with the weights of an uninterrupted run."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    collator = MaskingCollator(tokenizer, WholeWordSelector(rate=0.3), seed=0)

    def run(folder):
        config = PretrainConfig(str(folder), max_steps=3, batch_size=4, lr=1e-2, save_steps=1, progress=False)
        return further_pretrain(tiny_model_dir, tokenizer, SENTENCES, collator, config)

    run(tmp_path / "whole")
    killed = tmp_path / "killed"
    run(killed)
    checkpoints = killed / "checkpoints"
    for name in ("model.safetensors", "metrics.json"):  # killed before the final save ...
        os.remove(killed / name)
    shutil.rmtree(checkpoints / "checkpoint-3")  # ... while writing checkpoint-3: half its weights on disk
    shutil.copytree(checkpoints / "checkpoint-2", checkpoints / "checkpoint-3")
    os.remove(checkpoints / "checkpoint-3" / MARK)
    weights = checkpoints / "checkpoint-3" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert not is_complete(str(checkpoints / "checkpoint-3")) and is_complete(str(checkpoints / "checkpoint-2"))
    resumed = run(killed)
    assert "checkpoint-3 is incomplete" in capsys.readouterr().out and resumed.steps == 3
    assert_same_weights(tmp_path / "whole", killed, tiny_model_dir)


def test_head_warm_up_trains_the_head_only(tiny_model_dir, tmp_path):
    from maskkit.training.pretrain import as_tokenized

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = tiny_mlm(len(tokenizer))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    config = PretrainConfig(output_dir=str(tmp_path), head_warmup_steps=2, batch_size=4, progress=False)
    data = as_tokenized(SENTENCES, tokenizer, 32, "texts")
    warm_up_head(model, data, MaskingCollator(tokenizer, seed=0), config)
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert changed and all(n.startswith("cls.") for n in changed)
    assert all(p.requires_grad for p in model.parameters())


def test_sentence_pairs_are_encoded_as_two_segments(tiny_model_dir, minilm_tokenizer, tmp_path):
    rows = [{"premise": r["text"], "hypothesis": SENTENCES[0], "label": r["label"]} for r in LABELLED]
    encoded = EncodeForClassification(minilm_tokenizer, "premise", "hypothesis", max_length=16)(
        {"premise": [rows[1]["premise"]], "hypothesis": [rows[1]["hypothesis"]]}
    )
    tokens = minilm_tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    assert len(tokens) == 16 and tokens.count("[SEP]") == 2 and tokens[-1] == "[SEP]"
    assert encoded["token_type_ids"][0][-1] == 1 and encoded["token_type_ids"][0][1] == 0
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = FinetuneConfig(
        output_dir=str(tmp_path), text_column="premise", pair_column="hypothesis", max_steps=2, batch_size=4,
        progress=False, early_stopping_patience=1,
    )  # fmt: skip
    result = finetune_classifier(tiny_model_dir, tokenizer, rows, config, dev=rows[:8])
    assert result.steps == 2 and "macro_f1" in result.dev
    with pytest.raises(ValueError, match="longest-first"):
        FinetuneConfig(output_dir=str(tmp_path), pair_column="hypothesis", truncation="head_tail", max_length=512)


def test_head_tail_at_settings_that_keep_only_the_head_is_refused(tmp_path):
    """At the defaults (max_length 128, head_tokens 128) head_tail would silently mean head-only."""
    with pytest.raises(ValueError, match=r"keep the head only.*max_length=512, head_tokens=128"):
        FinetuneConfig(output_dir=str(tmp_path), truncation="head_tail")
    assert FinetuneConfig(output_dir=str(tmp_path), truncation="head_tail", max_length=512).head_tokens == 128


def test_gradient_accumulation_equals_one_big_batch(tmp_path, wordpiece):
    """Two micro-batches of 4 accumulate to exactly one batch of 8 (plain SGD, no dropout, one step)."""
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path / "model"
    config = BertConfig(
        vocab_size=len(wordpiece), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    BertForMaskedLM(config).save_pretrained(folder)
    wordpiece.save_pretrained(folder)
    trained = {}
    for batch, accumulate in ((8, 1), (4, 2)):
        settings = FinetuneConfig(
            output_dir=str(tmp_path / f"run{accumulate}"), batch_size=batch, gradient_accumulation_steps=accumulate,
            max_steps=1, lr=0.5, optim="sgd", warmup_ratio=0.0, seed=3, progress=False,
        )  # fmt: skip
        finetune_classifier(str(folder), wordpiece, LABELLED, settings)
        trained[accumulate] = AutoModelForSequenceClassification.from_pretrained(settings.output_dir).state_dict()
    for name, value in trained[1].items():
        assert torch.allclose(value, trained[2][name], atol=1e-6), name


def test_a_new_mlm_head_is_a_function_of_the_seed(tiny_model_dir, tmp_path):
    """A model saved without an MLM head (as MiniLM is) gets the same new head for the same seed (the demo's
    head was once unseeded: two loads gave head weight sums -13.6 and -2.9)."""
    from transformers import BertModel

    from maskkit.runs.models import load_masked_lm, seeded_init
    from tests.conftest import model_folder

    folder = model_folder(BertModel, tiny_model_dir, tmp_path / "encoder")

    def head(seed):
        with seeded_init(seed):
            model, new = load_masked_lm(str(folder), log=lambda _: None)
        assert new
        return model.cls.predictions.transform.dense.weight.detach().clone()

    assert torch.equal(head(1), head(1)) and not torch.equal(head(1), head(2))


def test_the_test_split_is_scored_once_with_its_predictions_kept_and_named(tiny_model_dir, tmp_path, capsys):
    """Test scores come from predict(): per-example predictions in predictions.parquet, which examples were
    right in metrics.json, and one progress line naming the split (no line printed twice)."""
    import json

    import pyarrow.parquet as pq

    from maskkit.training.classify import read_correct_bits

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = FinetuneConfig(output_dir=str(tmp_path), max_steps=2, batch_size=4, progress=True)
    result = finetune_classifier(tiny_model_dir, tokenizer, LABELLED, config, dev=LABELLED[:8], test=LABELLED[:10])
    table = pq.read_table(tmp_path / "predictions.parquet").to_pydict()
    right = [p == y for p, y in zip(table["predicted"], table["label"])]
    assert len(right) == 10 and list(read_correct_bits(result.test_correct)) == right
    assert result.test["accuracy"] == pytest.approx(sum(right) / 10)
    assert json.loads((tmp_path / "metrics.json").read_text())["test_correct"] == result.test_correct
    lines = capsys.readouterr().err.splitlines()
    tested = [line for line in lines if line.startswith("test, the checkpoint kept")]
    assert len(tested) == 1 and "accuracy" in tested[0]
