"""Moved to `maskkit.runs.files` (this alias goes in 0.4)."""

from maskkit.moved import alias

alias(__name__, "maskkit.runs.files")
