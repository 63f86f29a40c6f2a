"""A study's `[base]`: the model every arm starts from, the baseline included, further pre-trained first
on a general corpus (an encoder without an MLM head, such as MiniLM, made an MLM model again). One stage,
recorded and restorable like any other; a changed corpus or setting is a new stage.

    [base]
    texts = ["../shared/data/general_english/train-0*.txt"]   # files or globs; blank-line documents
    documents = "blank-line"
    eval_texts = "../shared/data/general_english/heldout.txt"   # held-out general text (fixed masks)
    domain_eval_texts = "../shared/data/movie_reviews_unlabeled/sentences.txt"   # and the task's domain
    steps = 2000
    curve = [250, 500, 1000]    # snapshots whose held-out loss draws the curve (choose the steps from it)

The stage reports held-out fixed-mask MLM loss and perplexity on the general and the domain text before
and after, at each `curve` step, and the top-5 fill-ins of `CLOZE` sentences (a sanity table).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maskkit.runs.stages import StageSettings
    from maskkit.study.plan import Study

CLOZE = (
    "The capital of France is [MASK].",
    "She drank a cup of [MASK] in the morning.",
    "The sun rises in the [MASK].",
    "He opened the [MASK] and walked into the room.",
    "Water freezes at zero degrees [MASK].",
    "The doctor told him to take the [MASK] twice a day.",
    "They went to the [MASK] to watch a movie.",
    "A week has seven [MASK].",
    "The children played in the [MASK] after school.",
    "The book was written by a famous [MASK].",
)


def held_out(path: str | None, tokenizer: Any, settings: dict[str, Any], collator: Any) -> Any:
    """The first `eval_blocks` packed blocks of a held-out file, with fixed masks (None without a file)."""
    from maskkit.training.corpus import corpus_blocks, load_corpus
    from maskkit.training.pretrain import fixed_masks

    if path is None:
        return None
    documents = settings["documents"] if path.endswith(".txt") else "line"
    corpus = load_corpus([path], documents=documents, log=lambda _: None)
    blocks = corpus_blocks(corpus, tokenizer, int(settings["max_length"]))
    blocks = blocks.select(range(min(int(settings["eval_blocks"]), len(blocks))))
    return fixed_masks(blocks, tokenizer, collator, int(settings["max_length"]))


def run_base(run: Study, c: StageSettings) -> dict[str, Any]:
    from transformers import AutoTokenizer

    from maskkit.collate import MaskingCollator
    from maskkit.masking.schemes import masking_from_settings
    from maskkit.runs.models import load_masked_lm, resolve_model_dir, seeded_init
    from maskkit.study.stage_runs import MODEL, Snapshots
    from maskkit.training.corpus import corpus_blocks, load_corpus
    from maskkit.training.mlm import fixed_mask_loss
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    s, folder = c.base, run.folder(c.stage_name)
    start = resolve_model_dir(c.model)
    tokenizer = AutoTokenizer.from_pretrained(start)
    selector, corruption = masking_from_settings({"scheme": s["scheme"]})
    collator = MaskingCollator(tokenizer, selector, corruption, seed=int(s["seed"]))
    blocks = corpus_blocks(load_corpus(s["texts"], documents=s["documents"], log=run.log), tokenizer,
                           int(s["max_length"]))  # fmt: skip
    general = held_out(s["eval_texts"], tokenizer, s, collator)
    domain = held_out(s["domain_eval_texts"], tokenizer, s, collator)
    config = PretrainConfig(output_dir=os.path.join(folder, MODEL), max_steps=int(s["steps"]), lr=float(s["lr"]),
                            batch_size=int(s["batch_size"]), max_length=int(s["max_length"]),
                            head_warmup_steps=int(s["head_warmup_steps"]), warmup_ratio=float(s["warmup_ratio"]),
                            save_steps=int(s["save_steps"]), seed=int(s["seed"]), progress=c.progress,
                            logging_steps=max(int(s["steps"]) // 20, 1))  # fmt: skip
    snapshots = Snapshots(list(s["curve"]), folder, tokenizer)

    def losses(model: Any) -> dict[str, float]:
        out = {}
        for name, data in (("general", general), ("domain", domain)):
            if data is not None:
                out[name] = fixed_mask_loss(model, data, tokenizer, int(s["batch_size"]))
        return out

    measured = CurveLog(os.path.join(folder, "curve.json"), losses, run.log)
    if "0" not in measured.points:
        with seeded_init(int(s["seed"])):  # the new head the run starts from (further_pretrain draws the same)
            measured.add(0, load_masked_lm(start)[0])
    before = measured.points["0"]
    callbacks = [*snapshots.callbacks, measured.callback(s["curve"])]
    result = further_pretrain(start, tokenizer, blocks, collator, config, callbacks=callbacks)
    curve = dict(measured.points)
    for step, path in snapshots.results.get("checkpoints", {}).items():
        if step not in curve:  # a snapshot saved before the measured points were recorded
            curve[step] = losses(load_masked_lm(path)[0])
    final = load_masked_lm(config.output_dir)[0]
    curve[str(result.steps)] = after = losses(final)
    run.log(
        "base: held-out fixed-mask loss "
        + "; ".join(
            f"{name} {before[name]:.2f} -> {after[name]:.2f} (perplexity {math.exp(after[name]):.0f})" for name in after
        )
    )
    return {"model": config.output_dir, "steps": result.steps, "train_loss": result.train_loss,
            "blocks": len(blocks), "loss_before": before, "loss_after": after, "curve": curve,
            "fill_mask": fill_mask(final, tokenizer)}  # fmt: skip


class CurveLog:
    """The held-out losses of a run measured as it reaches each curve step, logged at once and kept in a
    JSON file (written atomically), so that a run stopped half way leaves the points it measured and a
    resumed run does not measure them again."""

    def __init__(self, path: str, losses: Callable[[Any], dict[str, float]], log: Callable[[str], None]) -> None:
        self.path, self.losses, self.log = path, losses, log
        from maskkit.runs.files import read_json

        self.points: dict[str, dict[str, float]] = read_json(path) or {}

    def add(self, step: int, model: Any) -> None:
        from maskkit.runs.files import write_json

        self.points[str(step)] = point = self.losses(model)
        write_json(self.path, self.points)
        shown = "; ".join(f"{name} {loss:.3f} (perplexity {math.exp(loss):.1f})" for name, loss in point.items())
        self.log(f"base: step {step} held-out fixed-mask loss {shown}")

    def callback(self, steps: Iterable[int]) -> Any:
        from transformers import TrainerCallback

        wanted, curve = {int(step) for step in steps}, self

        class MeasureAtSteps(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
                step = state.global_step
                if step in wanted and str(step) not in curve.points and state.is_world_process_zero:
                    curve.add(step, model)
                return control

        return MeasureAtSteps()


def fill_mask(model: Any, tokenizer: Any, sentences: tuple[str, ...] = CLOZE, top: int = 5) -> dict[str, list[str]]:
    """Each cloze sentence's `top` fill-ins for its one [MASK], best first."""
    import torch

    model.eval()
    out = {}
    for sentence in sentences:
        text = sentence.replace("[MASK]", tokenizer.mask_token)
        encoded = tokenizer(text, return_tensors="pt")
        position = int((encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0])
        with torch.no_grad():
            logits = model(**encoded).logits[0, position]
        out[sentence] = [tokenizer.decode([int(i)]).strip() for i in logits.topk(top).indices]
    return out
