"""Errors that mean "the user asked for something we cannot do", shown as one line, never a traceback."""

from __future__ import annotations


class WorkstationError(Exception):
    """A problem the user can act on. ``exit_code`` follows the CLI convention: 1 partial failure, 2 usage."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigurationError(WorkstationError):
    """Bad settings: a malformed URL, a missing credential, an unknown option value."""

    exit_code = 2


class DatabaseUnavailableError(WorkstationError):
    """The configured database cannot be reached or opened."""

    exit_code = 2


class JobCancelledError(WorkstationError):
    """A long job stopped because the user asked it to."""

    exit_code = 130
