"""Moved to `maskkit.training.callbacks` (this alias goes in 0.4)."""

from maskkit.moved import alias

alias(__name__, "maskkit.training.callbacks")
