"""Training on transformers.Trainer: further pre-training with a sparse MLM head (`pretrain`, `mlm`),
classifier fine-tuning recipes (`classify`: LLRD, head+tail truncation, pooled heads), the settings both
share (`settings`), and the Trainer bridges (`callbacks`: epochs for the collator; `checkpoints`)."""
