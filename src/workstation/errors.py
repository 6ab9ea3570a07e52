"""Errors that mean "the user asked for something we cannot do", shown as one line, never a traceback.

Exit codes are defined here once, for every command (the README's table repeats them):

    0    success
    1    refused or partial: rejected rows, failed symbols, an order refused by a risk limit or the broker
    2    usage, configuration or input that can never be valid (bad option, number, symbol, URL, credentials)
    3    outcome unknown: an order that may have reached the broker (reconciliation will settle it)
    130  cancelled (Ctrl+C or a cancelled job)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    OUTCOME_UNKNOWN = 3
    CANCELLED = 130


class WorkstationError(Exception):
    """A problem the user can act on; ``exit_code`` is one of ExitCode (default: refused or partial)."""

    exit_code: int = ExitCode.REFUSED

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class RefusedError(WorkstationError):
    """A valid request that was refused (a risk limit, the broker) or only partly done."""

    exit_code = ExitCode.REFUSED


class InvalidInputError(WorkstationError):
    """Input that can never be valid: a malformed number or symbol, a quantity that cannot be traded."""

    exit_code = ExitCode.USAGE


class ConfigurationError(WorkstationError):
    """Bad settings: a malformed URL, a missing or rejected credential, an unknown option value."""

    exit_code = ExitCode.USAGE


class DatabaseUnavailableError(WorkstationError):
    """The configured database cannot be reached or opened."""

    exit_code = ExitCode.USAGE


class OutcomeUnknownError(WorkstationError):
    """The request may have taken effect (an order may have reached the broker); reconciliation settles it."""

    exit_code = ExitCode.OUTCOME_UNKNOWN


class JobCancelledError(WorkstationError):
    """A long job stopped because the user asked it to."""

    exit_code = ExitCode.CANCELLED
