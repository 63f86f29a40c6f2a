"""Named recipes (what the pipeline does) and profiles (how much of it) of the selective-masking pipeline.

A recipe fixes the method's choices, a profile its sizes. A setting left unset (None) takes the recipe's
value, then the profile's; a setting given explicitly wins, and the run says which of the recipe's or the
profile's values it overrides. With your own data the defaults are the official recipe at the paper's
sizes; the embedded default runs the "maskkit" recipe at the demo's sizes.

- "official": thunlp/SelectiveMasking as its code does it. Documents are split into sentences; a sentence
  is scored by the buffer only when the task model labels it as its document's label (top_sen_rate 1);
  misclassified sentences and stop words are labelled unimportant in the classifier's data
  (data/sc_mask_gen.py, SC.create_mask skips spaCy's `is_stop`); the classifier trains from the base model
  for 10 epochs at lr 1e-5 keeping the epoch with the best dev F1 (scripts/run_mask_model.sh); in-domain
  tokens the classifier labels important are ranked by the important-class logit and the top
  max(1, int(0.15 n)) of each sentence are masked (ModelGen.forward); the random control masks as many
  tokens drawn uniformly over the whole sentence, stop words included; sentences of a document are packed
  into 256-token sequences with at most 40 predictions each (create_pretraining_data.py; the in-domain
  config.sh).
- "maskkit": maskkit 0.1's choices: whole lines cut to max_length, misclassified sentences dropped, stop
  words labelled as scored but never masked, a 3-epoch classifier at lr 5e-5 without model selection,
  in-domain tokens with P(important) > 0.5 ranked by P (probabilistic rounding of 0.15 n), and a random
  control drawn over the non-stop tokens (a stronger control: the gap to selective masking shrinks).

Profiles: "demo" (the embedded default's toy sizes) and "paper" (all of the task and in-domain data; from
the official scripts the classifier length 128 and task-guided pre-training at lr 2e-5 with warmup 0.2;
the task model and the final fine-tuning at BERT's usual 3 epochs and lr 2e-5, which are not read from
the official scripts). The official scripts do not fix the number of
task-guided pre-training steps (scripts/run_pretraining.sh says 50, its results folders hold checkpoints at
30k and 60k steps), so the paper profile makes one pass over the packed in-domain data
(`pretrain_steps = 0`) unless `pretrain_steps` is set.
"""

from __future__ import annotations

from typing import Any

from maskkit.registry import register_recipe

RECIPES: dict[str, dict[str, Any]] = {
    "official": {
        "sentences": True,
        "top_sen_rate": 1.0,
        "misclassified": "unimportant",
        "stop_word_labels": True,
        "exclude_stop_words": False,
        "classifier_epochs": 10.0,
        "classifier_lr": 1e-5,
        "classifier_selection": "best_f1",
        "in_domain_selection": "official",
        "random_control": "all_tokens",
        "pack_length": 256,
        "max_predictions": 40,
        "short_seq_prob": 0.1,
    },
    "maskkit": {
        "sentences": False,
        "top_sen_rate": 1.0,
        "misclassified": "drop",
        "stop_word_labels": False,
        "exclude_stop_words": True,
        "classifier_epochs": 3.0,
        "classifier_lr": 5e-5,
        "classifier_selection": "last",
        "in_domain_selection": "probability",
        "random_control": "non_stop",
        "pack_length": 0,
        "max_predictions": 0,
        "short_seq_prob": 0.0,
    },
}
PROFILES: dict[str, dict[str, Any]] = {
    "demo": {
        "scoring_limit": 400,
        "in_domain_limit": 4000,
        "max_length": 64,
        "task_epochs": 2.0,
        "task_lr": 1e-4,
        "pretrain_steps": 100,
        "pretrain_lr": 1e-4,
        "pretrain_warmup": 0.06,
        "finetune_epochs": 1.0,
        "finetune_lr": 1e-4,
    },
    "paper": {
        "scoring_limit": 0,
        "in_domain_limit": 0,
        "max_length": 128,
        "task_epochs": 3.0,
        "task_lr": 2e-5,
        "pretrain_steps": 0,
        "pretrain_lr": 2e-5,
        "pretrain_warmup": 0.2,
        "finetune_epochs": 3.0,
        "finetune_lr": 2e-5,
    },
}
CHOICES: dict[str, tuple[str, ...]] = {
    "misclassified": ("unimportant", "drop"),
    "classifier_selection": ("best_f1", "last"),
    "in_domain_selection": ("official", "probability"),
    "random_control": ("all_tokens", "non_stop"),
}


def check_choices(values: dict[str, Any]) -> None:
    from maskkit.errors import InputError

    for name, allowed in CHOICES.items():
        if values.get(name) is not None and values[name] not in allowed:
            raise InputError(f"{name} must be one of {list(allowed)}, got {values[name]!r}")


def resolve(values: dict[str, Any], recipe: str, profile: str) -> tuple[dict[str, Any], list[str]]:
    """Fills unset (None) settings from the recipe, then the profile; returns the filled settings and one
    line per explicit setting that differs from the recipe's or the profile's value."""
    from maskkit.recipes import check_name, fill_from

    check_name(recipe, RECIPES, "recipe")
    check_name(profile, PROFILES, "profile")
    return fill_from(values, [(RECIPES[recipe], f"recipe {recipe}"), (PROFILES[profile], f"profile {profile}")])


def describe(values: dict[str, Any], recipe: str, profile: str, overrides: list[str]) -> str:
    """The lines every run prints: the recipe, the profile and the sizes it uses."""

    def size(key: str, unit: str) -> str:
        return f"all {unit}" if values[key] == 0 else f"{values[key]} {unit}"

    lines = [
        f"selective masking: recipe {recipe} (maskkit.selective.{recipe}.v1), profile {profile}",
        f"  scoring {size('scoring_limit', 'training rows')}; in-domain {size('in_domain_limit', 'documents')}; "
        f"max_length {values['max_length']}; "
        + ("one epoch of pre-training" if values["pretrain_steps"] == 0 else f"{values['pretrain_steps']} "
           "pre-training steps") + f" at lr {values['pretrain_lr']}"
        + (f"; packed to {values['pack_length']} tokens" if values["pack_length"] else "; one line per example"),
    ]  # fmt: skip
    lines += [f"  you override {line}" for line in overrides]
    return "\n".join(lines)


for _name, _values in {**RECIPES, **PROFILES}.items():
    register_recipe(f"maskkit.selective.{_name}.v1", _name, _values)
