"""The selective-masking pipeline's stages (Gu et al. 2020, "Train No Evil"), each one `Stage` of the
runs layer: the settings it reads, its upstream stages, and its run function.

    task_model -> scoring -> importance_classifier -> in_domain -> pretrain_selective, pretrain_random
    -> finetune (no further pre-training, the random control, selective; several seeds) -> report

A run function is handed the pipeline (`run`: model, tokenizer, task data, stage folders) and only the
settings its stage declares (`c`), so its manifest records everything its output depends on.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from typing import TYPE_CHECKING, Any

from maskkit.runs.files import write_text
from maskkit.runs.models import on_best_device
from maskkit.runs.stages import Stage, StageSettings

if TYPE_CHECKING:
    from maskkit.selective.pipeline import Pipeline

ARMS = ("none", "random", "selective")


def finetune_config(c: StageSettings, output_dir: str, epochs: float, lr: float, seed: int) -> Any:
    """Fine-tuning of the task model and the final runs; pair tasks frame (aspect, text) as the official
    ASC code does."""
    from maskkit.training.classify import FinetuneConfig

    first, pair = (c.text_column, None) if c.aspect_column is None else (c.aspect_column, c.text_column)
    return FinetuneConfig(
        output_dir=output_dir, text_column=first, pair_column=pair, label_column=c.label_column,
        max_length=c.max_length, epochs=epochs, lr=lr, batch_size=c.batch_size, seed=seed, progress=c.progress,
    )  # fmt: skip


def task_model(run: Pipeline, c: StageSettings) -> dict[str, Any]:
    from maskkit.training.classify import finetune_classifier

    data = run.task_data(c)
    config = finetune_config(c, os.path.join(run.folder("task_model"), "model"), c.task_epochs, c.task_lr,
                                  c.first_seed)  # fmt: skip
    result = finetune_classifier(run.model_dir(c), run.tokenizer(c), data["train"], config, data.get("dev"),
                                 data.get("test"))  # fmt: skip
    return {"dev": result.dev, "test": result.test, "label_names": result.label_names}


def scoring(run: Pipeline, c: StageSettings) -> dict[str, Any]:
    from transformers import AutoModelForSequenceClassification

    from maskkit.selective.importance import content_ids, importance_counts, score_importance
    from maskkit.selective.sentences import add_unimportant, document_sentences, keep_top_sentences, union_by_text
    from maskkit.training.data import as_dataset, label_values

    names = run.results("task_model")["label_names"]
    model = AutoModelForSequenceClassification.from_pretrained(os.path.join(run.folder("task_model"), "model"))
    model = on_best_device(model)
    train = as_dataset(run.task_data(c)["train"], "train")
    # a sample across the whole set (files are often sorted by label), the same for a given seed
    limit = len(train) if c.scoring_limit == 0 else min(c.scoring_limit, len(train))
    rows = train.shuffle(seed=c.first_seed).select(range(limit))
    label_ids = {name: i for i, name in enumerate(names)}
    documents = [str(v) for v in rows[c.text_column]]
    sentences, document_of = document_sentences(documents, bool(c.sentences))
    gold = [label_ids[str(v)] for v in label_values(rows, c.label_column, "train")]
    aspects = None if c.aspect_column is None else [str(v) for v in rows[c.aspect_column]]
    started = time.time()
    scored = score_importance(model, run.tokenizer(c), sentences, [gold[d] for d in document_of], c.method, c.delta,
                              max_length=c.max_length, aspects=aspects, progress=c.progress)  # fmt: skip
    seconds = time.time() - started
    demoted = keep_top_sentences(scored, document_of, float(c.top_sen_rate)) if c.top_sen_rate < 1 else 0
    kept, wrong = len(scored.rows), scored.wrong
    added = 0
    if c.misclassified == "unimportant":
        added = add_unimportant(scored, content_ids(run.tokenizer(c), sentences, c.max_length)[0])
    if aspects is not None:
        scored = union_by_text(scored, sentences)
    path = os.path.join(run.folder("scoring"), "scored.jsonl")
    lines = (json.dumps({"row": row, "document": document_of[row], "token_ids": ids, "scores": scores}) + "\n"
             for row, ids, scores in zip(scored.rows, scored.token_ids, scored.scores))  # fmt: skip
    write_text(path, "".join(lines))
    stop_ids = stop_word_ids(run, c)
    counts = importance_counts(scored, c.importance_threshold, stop_ids)
    run.log(f"[scoring] {len(documents)} documents, {len(sentences)} sentences: {kept} scored, {wrong} "
             f"misclassified ({'kept as unimportant' if added else 'dropped'}), {scored.empty} empty, "
             f"{scored.truncated} cut to max_length, {demoted} below top_sen_rate; "
             f"{counts['without_important_token']} with no important token, "
             f"{counts['only_stop_words_important']} whose important tokens are all stop words")  # fmt: skip
    return {"method": c.method, "documents": len(documents), "sentences": len(sentences), "kept": kept,
            "misclassified": wrong, "misclassified_kept_unimportant": added, "below_top_sen_rate": demoted,
            "empty": scored.empty, "truncated": scored.truncated, "classifier_rows": len(scored.rows), **counts,
            "sentences_per_s": len(sentences) / seconds}  # fmt: skip


def importance_classifier(run: Pipeline, c: StageSettings) -> dict[str, Any]:
    from maskkit.selective.classifier import importance_examples, train_importance_classifier
    from maskkit.selective.importance import ScoredSentences

    scored = ScoredSentences()
    with open(os.path.join(run.folder("scoring"), "scored.jsonl"), encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            scored.rows.append(item["row"])
            scored.token_ids.append(item["token_ids"])
            scored.scores.append(item["scores"])
    unimportant = stop_word_ids(run, c) if c.stop_word_labels else set()
    examples = importance_examples(scored, run.tokenizer(c), c.importance_threshold, unimportant)
    result = train_importance_classifier(
        run.model_dir(c), run.tokenizer(c), examples, os.path.join(run.folder("importance_classifier"), "model"),
        c.class_weights, float(c.classifier_epochs), float(c.classifier_lr), batch_size=c.batch_size,
        seed=c.first_seed, progress=c.progress, selection=str(c.classifier_selection),
    )  # fmt: skip
    run.log(f"[importance_classifier] held-out {result.heldout}")
    return {"heldout": result.heldout, "train_sentences": result.train_sentences,
            "heldout_sentences": result.heldout_sentences, "important_share": result.important_share}  # fmt: skip


def in_domain_texts(run: Pipeline, c: StageSettings) -> tuple[Any, int]:
    """The in-domain documents, and how many lines were skipped reading them: the file's first
    `in_domain_limit` lines, or with 0 every line, read as a memory-mapped corpus (`load_corpus`) so that
    a large one is scored shard by shard in bounded memory."""
    limit = c.in_domain_limit or None  # 0: every document
    if c.in_domain and limit is None:
        from maskkit.training.corpus import load_corpus

        corpus = load_corpus([str(c.in_domain)], log=run.log)
        return corpus.dataset, sum(corpus.report.skipped.values())
    if c.in_domain:
        with open(c.in_domain, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in itertools.islice(f, limit)], 0
    task = {row["text"] for row in run.task_data(c)["train"]}
    other = [r["text"] for r in run.task_data(c).get("unlabelled", []) if r["text"] not in task]
    return other[:limit], 0


def in_domain(run: Pipeline, c: StageSettings) -> dict[str, Any]:
    from transformers import AutoModelForTokenClassification

    from maskkit.selective.in_domain import score_in_domain

    folder = run.folder("in_domain")
    classifier = on_best_device(
        AutoModelForTokenClassification.from_pretrained(os.path.join(run.folder("importance_classifier"), "model"))
    )
    build = None
    if c.pack_length:
        from maskkit.selective.in_domain import PackedSelection

        excluded = None if c.random_control == "all_tokens" else frozenset(stop_word_ids(run, c))
        build = PackedSelection(classifier, run.tokenizer(c), str(c.in_domain_selection), c.rate, int(c.pack_length),
                                float(c.short_seq_prob), c.first_seed, bool(c.sentences), excluded)  # fmt: skip
    started = time.time()
    texts, skipped = in_domain_texts(run, c)
    result = score_in_domain(classifier, run.tokenizer(c), texts, folder, c.max_length, progress=c.progress,
                             build=build)  # fmt: skip
    seconds = time.time() - started
    result.dataset.save_to_disk(os.path.join(folder, "dataset"))
    skipped += result.empty_skipped
    run.log(f"[in_domain] {result.rows} texts scored ({skipped} empty lines skipped)")
    return {"rows": result.rows, "empty_skipped": skipped, "texts_per_s": result.rows / seconds}


def stop_list(c: StageSettings) -> tuple[str, ...]:
    """The broad English stop list, negations included as in the official code (spaCy's is_stop),
    unless `mask_negations`."""
    from maskkit.text.stopwords import english_stop_words, is_negation

    return tuple(sorted(w for w in english_stop_words() if not (c.mask_negations and is_negation(w))))


def stop_words(c: StageSettings) -> tuple[str, ...]:
    """The words selective masking leaves unmasked: the stop list with `exclude_stop_words`, else none."""
    return stop_list(c) if c.exclude_stop_words else ()


def stop_word_ids(run: Pipeline, c: StageSettings) -> set[int]:
    """Vocabulary ids of the stop list (the same lookup ScoredSelector makes): the tokens the official
    recipe labels unimportant, and those a non-stop random control never draws."""
    from maskkit.masking.selectors import ScoredSelector

    return set(ScoredSelector(exclude_words=stop_list(c)).bind(run.tokenizer(c)).exclude_ids)


def selector(run: Pipeline, c: StageSettings, mode: str) -> Any:
    """The arm's selector: the in-domain stage's per-sentence selection when it packed with the official
    selection, else selection by P(important) (the random control by `random_control`)."""
    from maskkit.masking.selectors import ScoredSelector

    cap = c.max_predictions or None
    if c.in_domain_selection == "official":
        column = "selected" if mode == "top" else "random_selected"
        return ScoredSelector(rate=1.0, column=column, mode="top", min_score=0.5, max_predictions=cap)
    over = "all" if c.random_control == "all_tokens" else "unexcluded"
    return ScoredSelector(rate=c.rate, mode=mode, min_score=0.5, exclude_words=stop_words(c),
                          random_over=over, max_predictions=cap)  # fmt: skip


def pretrain(run: Pipeline, c: StageSettings, stage: str, mode: str) -> dict[str, Any]:
    from datasets import load_from_disk

    from maskkit.collate import MaskingCollator
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    collator = MaskingCollator(run.tokenizer(c), selector(run, c, mode), seed=c.first_seed)
    data = load_from_disk(os.path.join(run.folder("in_domain"), "dataset"))
    steps = c.pretrain_steps or -1  # 0: one epoch
    config = PretrainConfig(
        output_dir=os.path.join(run.folder(stage), "model"), max_steps=steps, epochs=1.0, lr=c.pretrain_lr,
        warmup_ratio=c.pretrain_warmup, batch_size=c.batch_size, max_length=c.pack_length or c.max_length,
        head_warmup_steps=c.head_warmup_steps, seed=c.first_seed, progress=c.progress,
        logging_steps=max((c.pretrain_steps or len(data) // c.batch_size) // 5, 1),
    )  # fmt: skip
    result = further_pretrain(run.model_dir(c), run.tokenizer(c), data, collator, config)
    return {"mode": mode, "steps": result.steps, "train_loss": result.train_loss}


def pretrain_selective(run: Pipeline, c: StageSettings) -> dict[str, Any]:
    return pretrain(run, c, "pretrain_selective", "top")


def pretrain_random(run: Pipeline, c: StageSettings) -> dict[str, Any]:
    return pretrain(run, c, "pretrain_random", "matched_random")


def finetune(run: Pipeline, c: StageSettings) -> dict[str, Any]:
    from maskkit.runs.files import read_json
    from maskkit.runs.report import collect_runs, markdown_table, paired_lines, plot
    from maskkit.training.classify import finetune_classifier

    data = run.task_data(c)
    start = {"none": run.model_dir(c), "random": os.path.join(run.folder("pretrain_random"), "model"),
             "selective": os.path.join(run.folder("pretrain_selective"), "model")}  # fmt: skip
    for arm in ARMS:
        for seed in c.seeds:
            folder = os.path.join(run.folder("finetune"), arm, f"seed-{seed}")
            if os.path.isfile(os.path.join(folder, "metrics.json")):
                continue
            config = finetune_config(c, folder, c.finetune_epochs, c.finetune_lr, seed)
            finetune_classifier(start[arm], run.tokenizer(c), data["train"], config, data.get("dev"),
                                data.get("test"))  # fmt: skip
    groups = collect_runs([os.path.join(run.folder("finetune"), arm) for arm in ARMS])
    groups = {os.path.basename(name): runs for name, runs in groups.items()}  # none / random / selective
    metrics = {arm: {seed: read_json(os.path.join(run.folder("finetune"), arm, f"seed-{seed}", "metrics.json"))
                     for seed in c.seeds} for arm in ARMS}  # fmt: skip
    table = markdown_table(groups)
    scored = [
        s for s in ("test", "dev") if all("accuracy" in (m.get(s) or {}) for r in metrics.values() for m in r.values())
    ]
    if scored:  # the differences paired by seed, and what these seeds can tell
        accuracy = {arm: {seed: float(m[scored[0]]["accuracy"]) for seed, m in runs.items()}
                    for arm, runs in metrics.items()}  # fmt: skip
        pairs = [("selective", "none"), ("random", "none"), ("selective", "random")]
        table += "\n\n" + "\n".join(paired_lines(accuracy, pairs, f"{scored[0]} accuracy"))
    write_text(os.path.join(run.folder("finetune"), "report.md"), table + "\n")
    plot(groups, os.path.join(run.folder("finetune"), "report.png"))
    return {"table": table}


# What the pipeline's helpers read: the task data (Pipeline.task_data) and fine-tuning (finetune_config)
TASK = ("model", "train", "dev", "test", "wordnet", "classes", "text_column", "label_column", "aspect_column")
TASK_FILES = ("model", "train", "dev", "test")
PRETRAIN = ("model", "rate", "exclude_stop_words", "mask_negations", "pretrain_steps", "pretrain_lr", "pretrain_warmup",
            "head_warmup_steps", "batch_size", "first_seed", "max_length", "pack_length", "max_predictions",
            "random_control", "in_domain_selection")  # fmt: skip

STAGES = (
    Stage("task_model", (*TASK, "max_length", "task_epochs", "task_lr", "batch_size", "first_seed"), task_model,
          files=TASK_FILES),
    Stage("scoring", (*TASK, "method", "delta", "importance_threshold", "scoring_limit", "max_length", "sentences",
                      "top_sen_rate", "misclassified", "mask_negations", "first_seed"), scoring,
          upstream=("task_model",), files=TASK_FILES),
    Stage("importance_classifier", ("model", "importance_threshold", "classifier_epochs", "classifier_lr",
                                    "classifier_selection", "class_weights", "stop_word_labels", "mask_negations",
                                    "batch_size", "first_seed"), importance_classifier,
          upstream=("scoring",), files=("model",)),
    Stage("in_domain", ("model", "train", "dev", "test", "wordnet", "classes", "in_domain", "in_domain_limit",
                        "sentences", "in_domain_selection", "rate", "random_control", "mask_negations", "pack_length",
                        "short_seq_prob", "max_length", "first_seed"), in_domain,
          upstream=("importance_classifier",), files=("model", "in_domain", "train")),
    Stage("pretrain_selective", PRETRAIN, pretrain_selective, upstream=("in_domain",), files=("model",)),
    Stage("pretrain_random", PRETRAIN, pretrain_random, upstream=("in_domain",), files=("model",)),
    Stage("finetune", (*TASK, "seeds", "finetune_epochs", "finetune_lr", "max_length", "batch_size"), finetune,
          upstream=("pretrain_selective", "pretrain_random"), files=TASK_FILES),
)  # fmt: skip
STAGE_NAMES = tuple(stage.name for stage in STAGES)
