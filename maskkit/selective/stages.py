"""The pipeline's stages (see `maskkit.selective.pipeline`): each reads its inputs from the run folder,
writes its artefacts there, and returns the figures recorded in its `results.json`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, JobFailed
from maskkit.finetune.loading import on_best_device
from maskkit.runfiles import exclusive, write_json
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
        from maskkit.finetune.classify import FinetuneConfig

        c = self.config
        return FinetuneConfig(
            output_dir=output_dir, text_column=c.text_column, label_column=c.label_column, max_length=c.max_length,
            epochs=epochs, lr=lr, batch_size=c.batch_size, seed=seed, progress=c.progress,
        )  # fmt: skip

    def run(self, stages: Sequence[str] = STAGES) -> dict[str, Any]:
        unknown = sorted(set(stages) - set(STAGES))
        if unknown:
            raise InputError(f"unknown stages {unknown}; stages: {list(STAGES)}")
        for stage in stages:
            missing = [u for u in UPSTREAM[stage] if u not in stages and not self.done(u)]
            if missing:
                raise JobFailed(f"stage {stage} needs {missing} finished first (or run the whole pipeline)")
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
        from maskkit.selective.importance import importance_counts, score_importance

        c = self.config
        names = self.results("task_model")["label_names"]
        model = AutoModelForSequenceClassification.from_pretrained(os.path.join(self.folder("task_model"), "model"))
        model = on_best_device(model)
        train = as_dataset(self.task_data["train"], "train")
        # a sample across the whole set (files are often sorted by label), the same for a given seed
        rows = train.shuffle(seed=c.first_seed).select(range(min(c.scoring_limit, len(train))))
        label_ids = {name: i for i, name in enumerate(names)}
        gold = [label_ids[str(v)] for v in label_values(rows, c.label_column, "train")]
        started = time.time()
        scored = score_importance(model, self.tokenizer, rows[c.text_column], gold, c.method, c.delta,
                                  max_length=c.max_length)  # fmt: skip
        seconds = time.time() - started
        path = os.path.join(self.folder("scoring"), "scored.jsonl")
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            for row, ids, scores in zip(scored.rows, scored.token_ids, scored.scores):
                f.write(json.dumps({"row": row, "token_ids": ids, "scores": scores}) + "\n")
        os.replace(tmp, path)
        stop_ids = self.stop_word_ids()
        counts = importance_counts(scored, c.importance_threshold(), stop_ids)
        self.log(f"[scoring] {len(scored.rows)} of {len(rows)} sentences kept; {scored.wrong} misclassified, "
                 f"{scored.empty} empty, {scored.truncated} cut to max_length; {counts['without_important_token']} "
                 f"with no important token, {counts['only_stop_words_important']} whose important tokens are all "
                 "stop words (never masked)")  # fmt: skip
        return {"method": c.method, "sentences": len(rows), "kept": len(scored.rows), "misclassified": scored.wrong,
                "empty": scored.empty, "truncated": scored.truncated, **counts,
                "sentences_per_s": len(rows) / seconds}  # fmt: skip

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
        examples = importance_examples(scored, self.tokenizer, c.importance_threshold())
        result = train_importance_classifier(
            self.model_dir, self.tokenizer, examples, os.path.join(self.folder("importance_classifier"), "model"),
            c.class_weights, c.classifier_epochs, batch_size=c.batch_size, seed=c.first_seed, progress=c.progress,
        )  # fmt: skip
        self.log(f"[importance_classifier] held-out {result.heldout}")
        return {"heldout": result.heldout, "train_sentences": result.train_sentences,
                "heldout_sentences": result.heldout_sentences, "important_share": result.important_share}  # fmt: skip

    def in_domain_texts(self) -> list[str]:
        c = self.config
        if c.in_domain:
            with open(c.in_domain, encoding="utf-8") as f:
                return [line.rstrip("\n") for _, line in zip(range(c.in_domain_limit), f)]
        task = {row["text"] for row in self.task_data["train"]}
        other = [r["text"] for r in self.task_data.get("unlabelled", []) if r["text"] not in task]
        return other[: c.in_domain_limit]

    def stage_in_domain(self) -> dict[str, Any]:
        from transformers import AutoModelForTokenClassification

        from maskkit.selective.in_domain import score_in_domain

        c = self.config
        folder = self.folder("in_domain")
        classifier = on_best_device(
            AutoModelForTokenClassification.from_pretrained(os.path.join(self.folder("importance_classifier"), "model"))
        )
        started = time.time()
        result = score_in_domain(classifier, self.tokenizer, self.in_domain_texts(), folder, c.max_length,
                                 progress=c.progress)  # fmt: skip
        seconds = time.time() - started
        result.dataset.save_to_disk(os.path.join(folder, "dataset"))
        self.log(f"[in_domain] {result.rows} texts scored ({result.empty_skipped} empty lines skipped)")
        return {"rows": result.rows, "empty_skipped": result.empty_skipped, "texts_per_s": result.rows / seconds}

    def stop_words(self) -> tuple[str, ...]:
        """The words selective masking leaves unmasked: the broad English stop list, negations included as
        in the official code (spaCy's is_stop), unless `mask_negations`; none without `exclude_stop_words`."""
        from maskkit.stopwords import english_stop_words, is_negation

        c = self.config
        if not c.exclude_stop_words:
            return ()
        return tuple(sorted(w for w in english_stop_words() if not (c.mask_negations and is_negation(w))))

    def stop_word_ids(self) -> set[int]:
        """Vocabulary ids of the stop words ScoredSelector leaves unmasked (the same lookup it makes)."""
        from maskkit.masking.selectors import ScoredSelector

        return set(ScoredSelector(exclude_words=self.stop_words()).bind(self.tokenizer).exclude_ids)

    def pretrain(self, stage: str, mode: str) -> dict[str, Any]:
        from datasets import load_from_disk

        from maskkit.collate import MaskingCollator
        from maskkit.finetune.pretrain import PretrainConfig, further_pretrain
        from maskkit.masking.selectors import ScoredSelector

        c = self.config
        selector = ScoredSelector(rate=c.rate, mode=mode, min_score=0.5, exclude_words=self.stop_words())
        collator = MaskingCollator(self.tokenizer, selector, seed=c.first_seed)
        data = load_from_disk(os.path.join(self.folder("in_domain"), "dataset"))
        config = PretrainConfig(
            output_dir=os.path.join(self.folder(stage), "model"), max_steps=c.pretrain_steps, lr=c.pretrain_lr,
            batch_size=c.batch_size, max_length=c.max_length, head_warmup_steps=c.head_warmup_steps,
            seed=c.first_seed, progress=c.progress, logging_steps=max(c.pretrain_steps // 5, 1),
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
