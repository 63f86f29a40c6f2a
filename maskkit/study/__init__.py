"""Studies: which recipe (further pre-training, augmentation, self-distillation, fine-tuning) helps on a
task, over several seeds, with paired statistics (`maskkit study run CONFIG.toml`)."""
