"""Text augmentation for fine-tuning: EDA operations over words, with pluggable synonym sources."""
