"""Errors that are the user's to fix (bad input, settings out of range, a missing file, a busy or
conflicting run folder), told apart from bugs: the command line prints a `UserError` as one clear line
and lets every other exception raise with its traceback.

Each keeps the builtin base it replaces (ValueError, TypeError, KeyError, ...), so code that caught those
still does.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix from its message alone."""


class InputError(UserError, ValueError):
    """A value, setting or piece of input data that cannot be used as given; the message says which."""


class WrongType(UserError, TypeError):
    """An argument or value of the wrong kind."""


class MissingKey(UserError, KeyError):
    """A column, key or field that is not there."""

    def __str__(self) -> str:  # the message itself, not KeyError's quoted repr
        return str(self.args[0]) if self.args else ""


class MissingFile(UserError, FileNotFoundError):
    """A file, folder or program that does not exist."""


class NotWritable(UserError, PermissionError):
    """A place the job cannot write into."""


class RunConflict(UserError, FileExistsError):
    """A run folder or output that holds another job's work, or that another job is writing now."""


class JobFailed(UserError, RuntimeError):
    """A step that cannot go on as asked (a tool that failed, a stage whose upstream is missing)."""
