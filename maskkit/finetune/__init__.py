"""Training loops on transformers.Trainer: further pre-training with a sparse MLM head, classifier
fine-tuning recipes (LLRD, head+tail truncation, pooled heads), and multi-seed reports."""
