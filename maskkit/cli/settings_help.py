"""What each setting means, once for every command that has it: the help of the flags generated from the
config dataclasses (`add_config_options`) and of the commands' own options. Units and, where a paper has
one, the paper's value are given; the default is added from the dataclass."""

from __future__ import annotations

SETTING_HELP = {
    # data and run folders
    "model": "model folder or hub id, e.g. roberta-base or org/name@REVISION (default: MiniLM-L6)",
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
    "in_domain_limit": "at most this many in-domain lines (documents) are used; 0: all (selective: from the profile)",
    "documents": "text files: 'line' (one document per line) or 'blank-line' (documents end at a blank line)",
    "packing": "'full': documents end to end in full blocks of max_length tokens (RoBERTa's FULL-SENTENCES); "
    "'document': a block never crosses a document (with one per line: line by line)",
    "streaming": "read the corpus lazily instead of memory-mapping it (a corpus larger than the disk cache)",
    "shuffle_buffer": "a streamed corpus's blocks are shuffled in a buffer of this many, by the run's seed (0: in "
    "file order; a memory-mapped corpus is shuffled whole by Trainer)",
    "num_proc": "processes that read, tokenise and pack a memory-mapped corpus (cached by fingerprint)",
    "seeds": "one run per seed (several seeds give the mean and sd)",
    "seed": "random seed of the run",
    # optimisation
    "lr": "peak learning rate of AdamW (Sun et al. 2019: 2e-5 for fine-tuning)",
    "batch_size": "examples per step and process",
    "eval_batch_size": "examples per evaluation batch",
    "evaluations": "with --max-steps: dev evaluations (checkpoints to choose the best from), evenly spaced, the same "
    "for every run whatever its rows; 0: one per epoch",
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
    "alpha": "weight of the soft (teacher) term; with weighting mix, 1 - alpha weighs the hard labels (from the "
    "recipe)",
    "temperature": "softmax temperature of teacher and student (Hinton et al.; soft labels record theirs)",
    "kind": "soft term: kl (T^2 * KL, Hinton et al.) or mse (MSE between logits, Xu et al. 2020) (from the recipe)",
    "self_ensemble": "teacher made of the student itself: ema (moving average of weights), average (mean weights "
    "of the last K snapshots) or outputs (mean logits of the last K snapshots) (from the recipe)",
    "weighting": "mix: alpha * soft + (1 - alpha) * hard; add: hard + alpha * soft (Xu et al.'s lambda) (from "
    "the recipe)",
    "ema_decay": "ema: weight of the old average after each step",
    "average_k": "average: how many snapshots the teacher averages",
    "average_interval": "average, outputs: optimizer steps between snapshots; 0: at each epoch's end (from the recipe)",
    # selective masking (Gu et al. 2020)
    "method": "token importance: buffer (the paper's), entropy or prob_drop (leave-one-out)",
    "delta": "buffer: a token is important when P(y|sentence) - P(y|buffer) < delta (the paper: 0.01)",
    "threshold": "score above which a token is labelled important (default: 0.5 for buffer, else delta)",
    "recipe": "named recipe that fills the settings marked 'from the recipe'. selective: official "
    "(thunlp/SelectiveMasking's code; the default with your own data) or maskkit (0.1's choices; the embedded "
    "default's). distill: hinton (KL at T, alpha mix), xu-sda (teacher = mean weights of the last K steps, CE + "
    "MSE), xu-sdv (teacher = mean outputs of the last K epochs, CE + MSE) or mean-teacher (EMA, KL)",
    "profile": "sizes: paper (all data; lengths 128/256 and pre-training at lr 2e-5, warmup 0.2 from the official "
    "scripts; fine-tuning 3 epochs at 2e-5; the default with your own data) or demo (the embedded default's toy "
    "sizes): fills every setting marked 'from the profile'",
    "aspect_column": "pair tasks (aspect-level sentiment): the aspect column; the buffer walks the text with the "
    "aspect held fixed, as the official ASC code",
    "sentences": "split documents into sentences for scoring and in-domain selection (from the recipe)",
    "top_sen_rate": "of each document's correctly classified sentences, the most confident share is scored "
    "(from the recipe; official 1)",
    "misclassified": "task sentences the task model gets wrong: unimportant (kept, every token 0: official) or "
    "drop (from the recipe)",
    "stop_word_labels": "label stop words unimportant in the classifier's data, as the official code (from the recipe)",
    "classifier_lr": "learning rate of the token-importance classifier (from the recipe; official 1e-5)",
    "classifier_selection": "best_f1 (keep the epoch with the best dev F1: official) or last (from the recipe)",
    "in_domain_selection": "official (argmax important, top max(1, int(rate*n)) per sentence by the important "
    "logit) or probability (P > 0.5, ranked by P, per example) (from the recipe)",
    "random_control": "the random arm draws as many tokens over all_tokens (official) or non_stop tokens (a "
    "stronger control) (from the recipe)",
    "pack_length": "pack in-domain sentences into sequences of this many tokens; 0: one line per example (from "
    "the recipe; official 256)",
    "max_predictions": "at most this many targets per pre-training sequence; 0: no cap (from the recipe; official 40)",
    "short_seq_prob": "packing: probability of a shorter target length, as BERT's data code (from the recipe; "
    "official 0.1)",
    "pretrain_warmup": "warmup share of further pre-training (from the profile; official 0.2)",
    "scoring_limit": "at most this many training rows are scored; 0: all (from the profile)",
    "task_epochs": "epochs of the task model that scores importance (from the profile)",
    "task_lr": "learning rate of the task model (from the profile)",
    "classifier_epochs": "epochs of the token-importance classifier (from the recipe; official 10)",
    "class_weights": "loss weights of the classes other and important (the paper: 1 3)",
    "rate": "share of each example's candidate units that become targets (the papers: 0.15)",
    "exclude_stop_words": "never mask stop words (the broad English list, negations included; selective: from "
    "the recipe)",
    "mask_negations": "with exclude_stop_words, still allow not, no, never, n't ... to be masked",
    "pretrain_steps": "further pre-training steps of each of the selective and random arms; 0: one epoch (from "
    "the profile)",
    "pretrain_lr": "learning rate of further pre-training (from the profile)",
    "finetune_epochs": "epochs of each final fine-tuning run (from the profile)",
    "finetune_lr": "learning rate of the final fine-tuning runs (from the profile)",
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
