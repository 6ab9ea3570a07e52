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


def exit_code_for(exc: BaseException | None) -> int:
    """The exit code a command line run ends with when ``exc`` ended it (None: it ran to the end).

    The one mapping from how a run ended to ExitCode, used by the console script and by the record
    monitoring keeps of every invocation. An unexpected exception (a bug) ends with 1, Python's own
    status for it, and its traceback.
    """
    import click  # here, not at the top: every module imports errors, only the end of a run needs click

    if exc is None or isinstance(exc, BrokenPipeError):  # a closed pipe is the reader leaving
        return ExitCode.OK
    if isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):  # Ctrl+C, also at a prompt
        return ExitCode.CANCELLED
    if isinstance(exc, click.exceptions.Exit | click.ClickException | WorkstationError):
        return int(exc.exit_code)
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (ExitCode.OK if exc.code is None else ExitCode.REFUSED)
    return ExitCode.REFUSED
