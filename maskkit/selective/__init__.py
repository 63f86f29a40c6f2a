"""Selective masking (Gu et al. 2020, "Train No Evil"): token importance from a task model, a token-importance
classifier, in-domain scoring, and the staged pipeline that further pre-trains on the important tokens."""
