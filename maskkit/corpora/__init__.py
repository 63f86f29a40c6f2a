"""Embedded default corpora that install offline (WordNet 3.0 glosses from Debian's wordnet-base)."""
