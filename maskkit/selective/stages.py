"""The pipeline's stages (see `maskkit.selective.pipeline`): each reads its inputs from the run folder,
writes its artefacts there, and returns the figures recorded in its `results.json`."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, JobFailed
from maskkit.finetune.loading import on_best_device
from maskkit.runfiles import exclusive, write_json, write_text
from maskkit.selective.pipeline import ARMS, STAGES, UPSTREAM, Run, SelectiveConfig


class Pipeline(Run):
    """Runs stages in order, skipping those whose manifest matches."""

    @cached_property
    def model_dir(self) -> str:
        from maskkit.finetune.loading import resolve_model_dir

        return resolve_model_dir(self.config.model)

    @cached_property
    def tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_dir)

    @cached_property
    def task_data(self) -> dict[str, Any]:
        from maskkit.finetune.data import labelled_splits

        c = self.config
        return labelled_splits(c.train, c.dev, c.test, c.wordnet, c.classes, self.log)

    def finetune_config(self, output_dir: str, epochs: float, lr: float, seed: int) -> Any:
        """Fine-tuning of the task model and the final runs; pair tasks frame (aspect, text) as the official
        ASC code does."""
        from maskkit.finetune.classify import FinetuneConfig

        c = self.config
        first, pair = (c.text_column, None) if c.aspect_column is None else (c.aspect_column, c.text_column)
        return FinetuneConfig(
            output_dir=output_dir, text_column=first, pair_column=pair, label_column=c.label_column,
            max_length=c.max_length, epochs=epochs, lr=lr, batch_size=c.batch_size, seed=seed, progress=c.progress,
        )  # fmt: skip

    def run(self, stages: Sequence[str] = STAGES) -> dict[str, Any]:
        unknown = sorted(set(stages) - set(STAGES))
        if unknown:
            raise InputError(f"unknown stages {unknown}; stages: {list(STAGES)}")
        for stage in stages:
            missing = [u for u in UPSTREAM[stage] if u not in stages and not self.done(u)]
            if missing:
                raise JobFailed(f"stage {stage} needs {missing} finished first (or run the whole pipeline)")
        from maskkit.selective.recipes import describe

        c = self.config
        self.log(describe(dataclasses.asdict(c), c.recipe, c.profile, list(c.overrides)))
        self.check_lengths()
        figures = {}
        with exclusive(self.config.run_dir, "the run folder"):  # one pipeline at a time per folder
            for stage in stages:
                if self.done(stage):
                    self.log(f"[{stage}] finished earlier, skipped")
                else:
                    self.log(f"[{stage}] running")
                    self.prepare_folder(stage)
                    started = time.time()
                    results = getattr(self, f"stage_{stage}")()
                    results["seconds"] = round(time.time() - started, 1)
                    self.finish(stage, results)
                figures[stage] = self.results(stage)
        return figures

    def check_lengths(self) -> None:
        """Refuses lengths the model cannot hold before any stage runs."""
        from transformers import AutoConfig

        c = self.config
        limit = getattr(AutoConfig.from_pretrained(self.model_dir), "max_position_embeddings", None)
        for name in ("pack_length", "max_length"):
            if limit is not None and getattr(c, name) > limit:
                raise InputError(f"{name} {getattr(c, name)} is longer than the model's max_position_embeddings "
                                 f"({limit}): set {name} <= {limit}")  # fmt: skip

    def prepare_folder(self, stage: str) -> None:
        """Keeps a stage's partial artefacts when they came from the same settings and inputs (a resume),
        and clears them when they did not (a changed setting must not reuse stale checkpoints or seeds)."""
        import shutil

        folder, digest = self.folder(stage), self.manifest(stage)["digest"]
        marker = os.path.join(folder, "started.json")
        if os.path.isdir(folder):
            previous = None
            if os.path.isfile(marker):
                with open(marker, encoding="utf-8") as f:
                    previous = json.load(f).get("digest")
            if previous != digest:
                shutil.rmtree(folder)
        os.makedirs(folder, exist_ok=True)
        if not os.path.isfile(marker):
            write_json(marker, {"digest": digest})

    def stage_task_model(self) -> dict[str, Any]:
        from maskkit.finetune.classify import finetune_classifier

        c, data = self.config, self.task_data
        config = self.finetune_config(os.path.join(self.folder("task_model"), "model"), c.task_epochs, c.task_lr,
                                      c.first_seed)  # fmt: skip
        result = finetune_classifier(self.model_dir, self.tokenizer, data["train"], config, data.get("dev"),
                                     data.get("test"))  # fmt: skip
        return {"dev": result.dev, "test": result.test, "label_names": result.label_names}

    def stage_scoring(self) -> dict[str, Any]:
        from transformers import AutoModelForSequenceClassification

        from maskkit.finetune.data import as_dataset, label_values
        from maskkit.selective.importance import content_ids, importance_counts, score_importance
        from maskkit.selective.sentences import add_unimportant, document_sentences, keep_top_sentences, union_by_text

        c = self.config
        names = self.results("task_model")["label_names"]
        model = AutoModelForSequenceClassification.from_pretrained(os.path.join(self.folder("task_model"), "model"))
        model = on_best_device(model)
        train = as_dataset(self.task_data["train"], "train")
        # a sample across the whole set (files are often sorted by label), the same for a given seed
        limit = len(train) if c.scoring_limit == 0 else min(c.scoring_limit, len(train))
        rows = train.shuffle(seed=c.first_seed).select(range(limit))
        label_ids = {name: i for i, name in enumerate(names)}
        documents = [str(v) for v in rows[c.text_column]]
        sentences, document_of = document_sentences(documents, bool(c.sentences))
        gold = [label_ids[str(v)] for v in label_values(rows, c.label_column, "train")]
        aspects = None if c.aspect_column is None else [str(v) for v in rows[c.aspect_column]]
        started = time.time()
        scored = score_importance(model, self.tokenizer, sentences, [gold[d] for d in document_of], c.method, c.delta,
                                  max_length=c.max_length, aspects=aspects)  # fmt: skip
        seconds = time.time() - started
        demoted = keep_top_sentences(scored, document_of, float(c.top_sen_rate)) if c.top_sen_rate < 1 else 0
        kept, wrong = len(scored.rows), scored.wrong
        added = 0
        if c.misclassified == "unimportant":
            added = add_unimportant(scored, content_ids(self.tokenizer, sentences, c.max_length)[0])
        if aspects is not None:
            scored = union_by_text(scored, sentences)
        path = os.path.join(self.folder("scoring"), "scored.jsonl")
        lines = (json.dumps({"row": row, "document": document_of[row], "token_ids": ids, "scores": scores}) + "\n"
                 for row, ids, scores in zip(scored.rows, scored.token_ids, scored.scores))  # fmt: skip
        write_text(path, "".join(lines))
        stop_ids = self.stop_word_ids()
        counts = importance_counts(scored, c.importance_threshold(), stop_ids)
        self.log(f"[scoring] {len(documents)} documents, {len(sentences)} sentences: {kept} scored, {wrong} "
                 f"misclassified ({'kept as unimportant' if added else 'dropped'}), {scored.empty} empty, "
                 f"{scored.truncated} cut to max_length, {demoted} below top_sen_rate; "
                 f"{counts['without_important_token']} with no important token, "
                 f"{counts['only_stop_words_important']} whose important tokens are all stop words")  # fmt: skip
        return {"method": c.method, "documents": len(documents), "sentences": len(sentences), "kept": kept,
                "misclassified": wrong, "misclassified_kept_unimportant": added, "below_top_sen_rate": demoted,
                "empty": scored.empty, "truncated": scored.truncated, "classifier_rows": len(scored.rows), **counts,
                "sentences_per_s": len(sentences) / seconds}  # fmt: skip

    def stage_importance_classifier(self) -> dict[str, Any]:
        from maskkit.selective.classifier import importance_examples, train_importance_classifier
        from maskkit.selective.importance import ScoredSentences

        c = self.config
        scored = ScoredSentences()
        with open(os.path.join(self.folder("scoring"), "scored.jsonl"), encoding="utf-8") as f:
            for line in f:
                item = json.loads(line)
                scored.rows.append(item["row"])
                scored.token_ids.append(item["token_ids"])
                scored.scores.append(item["scores"])
        unimportant = self.stop_word_ids() if c.stop_word_labels else set()
        examples = importance_examples(scored, self.tokenizer, c.importance_threshold(), unimportant)
        result = train_importance_classifier(
            self.model_dir, self.tokenizer, examples, os.path.join(self.folder("importance_classifier"), "model"),
            c.class_weights, float(c.classifier_epochs), float(c.classifier_lr), batch_size=c.batch_size,
            seed=c.first_seed, progress=c.progress, selection=str(c.classifier_selection),
        )  # fmt: skip
        self.log(f"[importance_classifier] held-out {result.heldout}")
        return {"heldout": result.heldout, "train_sentences": result.train_sentences,
                "heldout_sentences": result.heldout_sentences, "important_share": result.important_share}  # fmt: skip

    def in_domain_texts(self) -> list[str]:
        c = self.config
        limit = c.in_domain_limit or None  # 0: every document
        if c.in_domain:
            with open(c.in_domain, encoding="utf-8") as f:
                return [line.rstrip("\n") for line in itertools.islice(f, limit)]
        task = {row["text"] for row in self.task_data["train"]}
        other = [r["text"] for r in self.task_data.get("unlabelled", []) if r["text"] not in task]
        return other[:limit]

    def stage_in_domain(self) -> dict[str, Any]:
        from transformers import AutoModelForTokenClassification

        from maskkit.selective.in_domain import score_in_domain

        c = self.config
        folder = self.folder("in_domain")
        classifier = on_best_device(
            AutoModelForTokenClassification.from_pretrained(os.path.join(self.folder("importance_classifier"), "model"))
        )
        build = None
        if c.pack_length:
            from maskkit.selective.in_domain import PackedSelection

            excluded = None if c.random_control == "all_tokens" else frozenset(self.stop_word_ids())
            build = PackedSelection(classifier, self.tokenizer, str(c.in_domain_selection), c.rate, int(c.pack_length),
                                    float(c.short_seq_prob), c.first_seed, bool(c.sentences), excluded)  # fmt: skip
        started = time.time()
        result = score_in_domain(classifier, self.tokenizer, self.in_domain_texts(), folder, c.max_length,
                                 progress=c.progress, build=build)  # fmt: skip
        seconds = time.time() - started
        result.dataset.save_to_disk(os.path.join(folder, "dataset"))
        self.log(f"[in_domain] {result.rows} texts scored ({result.empty_skipped} empty lines skipped)")
        return {"rows": result.rows, "empty_skipped": result.empty_skipped, "texts_per_s": result.rows / seconds}

    def stop_list(self) -> tuple[str, ...]:
        """The broad English stop list, negations included as in the official code (spaCy's is_stop),
        unless `mask_negations`."""
        from maskkit.stopwords import english_stop_words, is_negation

        return tuple(sorted(w for w in english_stop_words() if not (self.config.mask_negations and is_negation(w))))

    def stop_words(self) -> tuple[str, ...]:
        """The words selective masking leaves unmasked: the stop list with `exclude_stop_words`, else none."""
        return self.stop_list() if self.config.exclude_stop_words else ()

    def stop_word_ids(self) -> set[int]:
        """Vocabulary ids of the stop list (the same lookup ScoredSelector makes): the tokens the official
        recipe labels unimportant, and those a non-stop random control never draws."""
        from maskkit.masking.selectors import ScoredSelector

        return set(ScoredSelector(exclude_words=self.stop_list()).bind(self.tokenizer).exclude_ids)

    def selector(self, mode: str) -> Any:
        """The arm's selector: the in-domain stage's per-sentence selection when it packed with the official
        selection, else selection by P(important) (the random control by `random_control`)."""
        from maskkit.masking.selectors import ScoredSelector

        c = self.config
        cap = c.max_predictions or None
        if c.in_domain_selection == "official":
            column = "selected" if mode == "top" else "random_selected"
            return ScoredSelector(rate=1.0, column=column, mode="top", min_score=0.5, max_predictions=cap)
        over = "all" if c.random_control == "all_tokens" else "unexcluded"
        return ScoredSelector(rate=c.rate, mode=mode, min_score=0.5, exclude_words=self.stop_words(),
                              random_over=over, max_predictions=cap)  # fmt: skip

    def pretrain(self, stage: str, mode: str) -> dict[str, Any]:
        from datasets import load_from_disk

        from maskkit.collate import MaskingCollator
        from maskkit.finetune.pretrain import PretrainConfig, further_pretrain

        c = self.config
        collator = MaskingCollator(self.tokenizer, self.selector(mode), seed=c.first_seed)
        data = load_from_disk(os.path.join(self.folder("in_domain"), "dataset"))
        steps = c.pretrain_steps or -1  # 0: one epoch
        config = PretrainConfig(
            output_dir=os.path.join(self.folder(stage), "model"), max_steps=steps, epochs=1.0, lr=c.pretrain_lr,
            warmup_ratio=c.pretrain_warmup, batch_size=c.batch_size, max_length=c.pack_length or c.max_length,
            head_warmup_steps=c.head_warmup_steps, seed=c.first_seed, progress=c.progress,
            logging_steps=max((c.pretrain_steps or len(data) // c.batch_size) // 5, 1),
        )  # fmt: skip
        result = further_pretrain(self.model_dir, self.tokenizer, data, collator, config)
        return {"mode": mode, "steps": result.steps, "train_loss": result.train_loss}

    def stage_pretrain_selective(self) -> dict[str, Any]:
        return self.pretrain("pretrain_selective", "top")

    def stage_pretrain_random(self) -> dict[str, Any]:
        return self.pretrain("pretrain_random", "matched_random")

    def stage_finetune(self) -> dict[str, Any]:
        from maskkit.finetune.classify import finetune_classifier
        from maskkit.finetune.report import collect_runs, markdown_table, plot

        c, data = self.config, self.task_data
        start = {"none": self.model_dir, "random": os.path.join(self.folder("pretrain_random"), "model"),
                 "selective": os.path.join(self.folder("pretrain_selective"), "model")}  # fmt: skip
        for arm in ARMS:
            for seed in c.seeds:
                folder = os.path.join(self.folder("finetune"), arm, f"seed-{seed}")
                if os.path.isfile(os.path.join(folder, "metrics.json")):
                    continue
                config = self.finetune_config(folder, c.finetune_epochs, c.finetune_lr, seed)
                finetune_classifier(start[arm], self.tokenizer, data["train"], config, data.get("dev"),
                                    data.get("test"))  # fmt: skip
        groups = collect_runs([os.path.join(self.folder("finetune"), arm) for arm in ARMS])
        groups = {os.path.basename(name): runs for name, runs in groups.items()}  # none / random / selective
        table = markdown_table(groups)
        Path(self.folder("finetune"), "report.md").write_text(table + "\n", encoding="utf-8")
        plot(groups, os.path.join(self.folder("finetune"), "report.png"))
        return {"table": table}


def run_pipeline(config: SelectiveConfig, stages: Sequence[str] = STAGES, log: Any = print) -> dict[str, Any]:
    """Runs (or resumes) the pipeline's stages; returns each stage's recorded figures."""
    return Pipeline(config, log).run(stages)
