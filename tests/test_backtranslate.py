"""Back-translation: plumbing with a fake translator (batching, cache, filters, documents) and real
offline translation with Apertium."""

from __future__ import annotations

import shutil

import pytest
from datasets import Dataset

from maskkit.augment import ApertiumTranslator, BackTranslate, augment_dataset


class Swapper:
    """A fake translator: to the pivot it upper-cases, back it swaps 'good' for 'fine'; it counts calls."""

    def __init__(self):
        self.calls, self.sentences = 0, 0

    def __repr__(self):
        return "Swapper()"

    def translate(self, texts, src, tgt):
        self.calls += 1
        self.sentences += len(texts)
        if tgt == "es":
            return [t.upper() for t in texts]
        return [t.lower().replace("good", "fine") for t in texts]


def test_back_translation_batches_caches_and_filters(tmp_path):
    fake = Swapper()
    bt = BackTranslate(fake, cache=str(tmp_path / "cache.sqlite"), batch_size=2)
    texts = ["A good movie.", "It was good. Really good!", "nothing changes here.", ""]
    out = bt(texts)
    assert out[0] == "a fine movie."
    assert out[1] == "it was fine. really fine!"  # split into sentences, translated, rejoined
    assert out[2] is None  # identical to the input: dropped
    assert out[3] is None
    first = fake.sentences
    assert first == 2 * 4  # 4 unique sentences there and back, in batches of 2
    again = BackTranslate(Swapper(), cache=str(tmp_path / "cache.sqlite"))
    assert again(texts) == out and again.translator.sentences == 0  # everything from the disk cache


def test_length_ratio_filter_and_bad_input():
    class Wordy(Swapper):
        def translate(self, texts, src, tgt):
            return [t + " and then some more words" for t in texts]

    assert BackTranslate(Wordy(), length_ratio=(0.5, 1.5))(["short"]) == [None]
    assert BackTranslate(Wordy(), length_ratio=None)(["short"])[0].startswith("short and then")
    with pytest.raises(TypeError, match="translate"):
        BackTranslate(object())
    with pytest.raises(TypeError, match="text 0 is NoneType"):
        BackTranslate(Swapper())([None])

    class Broken(Swapper):
        def translate(self, texts, src, tgt):
            return texts[:-1]

    with pytest.raises(RuntimeError, match="returned 1 translations for 2 texts"):
        BackTranslate(Broken())(["a b.", "c d."])


def test_filtered_paraphrases_write_no_rows():
    data = Dataset.from_dict({"text": ["A good movie.", "nothing changes here."], "label": [1, 0]})
    out = augment_dataset(data, BackTranslate(Swapper()), n_aug=1)
    assert out["aug_method"] == ["original", "backtranslate", "original"]
    assert out["label"] == [1, 1, 0]


@pytest.mark.skipif(
    shutil.which("apertium") is None, reason="Apertium is not installed (apt-get install apertium apertium-eng-spa)"
)
def test_apertium_round_trip_is_real_translation(tmp_path):
    translator = ApertiumTranslator()
    assert translator.translate(["The film was not good."], "en", "es")[0].lower().startswith("la película")
    texts = ["The actors were great, but the story was too long.", "I did not like this movie at all."]
    out = BackTranslate(translator, cache=str(tmp_path / "c.sqlite"), drop_identical=False)(texts)
    assert all(isinstance(t, str) and t for t in out)
    assert out != texts  # a round trip through Spanish rewords at least one of them
    assert all(len(set(o.lower().split()) & set(t.lower().split())) >= 3 for o, t in zip(out, texts))
    with pytest.raises(ValueError, match="no Apertium mode for en -> de"):
        translator.translate(["x"], "en", "de")


def test_missing_apertium_binary_says_how_to_install():
    with pytest.raises(FileNotFoundError, match="apt-get install apertium"):
        ApertiumTranslator(binary="apertium-not-here").translate(["x"], "en", "es")


def test_a_translator_failing_midway_loses_nothing_already_translated(tmp_path):
    class FailsOnSecondBatch(Swapper):
        def translate(self, texts, src, tgt):
            if self.calls == 1:
                raise RuntimeError("connection lost")
            return super().translate(texts, src, tgt)

    cache = str(tmp_path / "cache.sqlite")
    texts = ["A good movie.", "A good plot.", "A good cast.", "A good score."]
    with pytest.raises(RuntimeError, match="connection lost"):
        BackTranslate(FailsOnSecondBatch(), cache=cache, batch_size=2)(texts)
    rerun = Swapper()
    out = BackTranslate(rerun, cache=cache, batch_size=2)(texts)
    assert out == ["a fine movie.", "a fine plot.", "a fine cast.", "a fine score."]
    assert rerun.sentences == 2 + 4  # the first batch came from the cache; the rest was translated now
