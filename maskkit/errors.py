"""Errors that are the user's to fix (bad input, a busy or conflicting run folder), told apart from bugs.

Each keeps a builtin base (ValueError, FileExistsError), so code that caught those still does.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix from its message alone."""


class InputError(UserError, ValueError):
    """Input data that cannot be read as given: the message names the file, row and column."""


class RunConflict(UserError, FileExistsError):
    """A run folder or output that holds another job's work, or that another job is writing now."""
