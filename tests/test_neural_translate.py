"""Neural back-translation plumbing with a tiny random Marian model built in code: keyed sampling,
batching, several paraphrases, the cache and lazy loading."""

from __future__ import annotations

import pytest
import torch

from maskkit.augment import BackTranslate, Seq2SeqTranslator
from maskkit.augment.neural import gumbel_noise
from tests.conftest import SENTENCES, build_wordpiece_tokenizer


def tiny_marian_folder(folder):
    """Saves a tiny random Marian model with the test WordPiece tokenizer; returns the folder."""
    from transformers import MarianConfig, MarianMTModel

    tokenizer = build_wordpiece_tokenizer()
    config = MarianConfig(
        vocab_size=len(tokenizer), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.pad_token_id, forced_eos_token_id=tokenizer.sep_token_id,
    )  # fmt: skip
    torch.random.manual_seed(0)  # the model's random initialisation, in the test only
    MarianMTModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    return tiny_marian_folder(tmp_path_factory.mktemp("marian"))


def test_gumbel_noise_is_keyed_and_gumbel_distributed():
    seeds = torch.arange(64, dtype=torch.int64)
    noise = gumbel_noise(seeds, 3, 2000)
    assert torch.equal(noise, gumbel_noise(seeds, 3, 2000))
    assert torch.equal(noise[5:6], gumbel_noise(seeds[5:6], 3, 2000))  # a row does not depend on the others
    assert not torch.equal(noise, gumbel_noise(seeds, 4, 2000))
    assert abs(noise.mean().item() - 0.5772) < 0.02 and abs(noise.std().item() - 1.2825) < 0.02


def test_keyed_sampling_is_batch_independent_and_diverse(tiny_marian):
    translator = Seq2SeqTranslator({("en", "de"): tiny_marian}, batch_size=3, max_new_tokens=8)
    texts = SENTENCES[:5]
    seeds = [11, 12, 13, 14, 15]
    together = translator.translate(texts, "en", "de", seeds=seeds)
    alone = [translator.translate([t], "en", "de", seeds=[s])[0] for t, s in zip(texts, seeds)]
    assert together == alone
    others = translator.translate(texts, "en", "de", seeds=[21, 22, 23, 24, 25])
    assert others != together  # new seeds, new samples
    greedy = Seq2SeqTranslator({("en", "de"): tiny_marian}, sample=False, max_new_tokens=8)
    assert greedy.translate(texts, "en", "de") == greedy.translate(texts[::-1], "en", "de")[::-1]


def test_back_translation_gives_fixed_paraphrases_per_k(tiny_marian, tmp_path):
    models = {("en", "de"): tiny_marian, ("de", "en"): tiny_marian}
    bt = BackTranslate(Seq2SeqTranslator(models, max_new_tokens=8), pivot="de", drop_identical=False,
                       length_ratio=None, cache=str(tmp_path / "c.sqlite"))  # fmt: skip
    first = [bt(SENTENCES[:3], k=k) for k in range(3)]
    assert first == [bt(SENTENCES[:3], k=k) for k in range(3)]
    assert len({tuple(row) for row in first}) > 1


def test_missing_model_folder_and_direction_are_named(tmp_path):
    translator = Seq2SeqTranslator({("en", "de"): tmp_path / "nope"})
    with pytest.raises(FileNotFoundError, match="nope.* does not exist .*not a hub id"):
        translator.translate(["x"], "en", "de")
    with pytest.raises(ValueError, match="no model for de -> en"):
        translator.translate(["x"], "de", "en")
