"""Moved to `maskkit.dataset_stages` (this alias goes in 0.4)."""

from maskkit.moved import alias

alias(__name__, "maskkit.dataset_stages")
