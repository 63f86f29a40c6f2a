"""Self-distillation: soft labels from a fine-tuned model, the distillation loss, and a distillation
trainer with offline (column), live, or self-ensemble (EMA / checkpoint-average) teachers."""
