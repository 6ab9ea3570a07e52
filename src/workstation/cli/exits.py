"""How a command line run ends: one exit code (errors.ExitCode), one line on stderr, and with ``--json``
one JSON object on stdout.

Every command honours the same contract, so cron and scripts can trust it:

* the exit code comes from ``errors.exit_code_for`` (0 ok, 1 refused or partial, 2 usage or input
  that can never be valid, 3 outcome unknown, 130 cancelled);
* an error prints one ``error: …`` line on stderr (click's usage errors keep their usage hint);
* when the command line asked for JSON, the error is also ``{"error": …, "exit_code": …}`` on stdout,
  unless the command already printed its JSON result (then that result stays the one object).

Whether JSON was asked for is decided here only, from the arguments: ``--json`` before a bare ``--``.
The arguments are all there is when parsing itself fails (an unknown option), and reading them works
for every command group without each one having to register anything.
"""

from __future__ import annotations

import json
import os
import select
import sys
from collections.abc import Sequence

import click

from workstation.errors import ExitCode, WorkstationError, exit_code_for

JSON_FLAG = "--json"


def json_requested(args: Sequence[str]) -> bool:
    """True when the command line asks for JSON output."""
    options = args[: list(args).index("--")] if "--" in args else args
    return JSON_FLAG in options


def error_message(exc: BaseException) -> str:
    """The one line that tells the user what went wrong."""
    if isinstance(exc, click.ClickException):
        return exc.format_message()
    if isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):
        return "cancelled"
    if isinstance(exc, WorkstationError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


def finish_with(exc: BaseException, *, as_json: bool, result_printed: bool) -> int:
    """Report ``exc`` the way the contract says and return the exit code; re-raise a bug (traceback)."""
    code = exit_code_for(exc)
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return code
    if isinstance(exc, SystemExit) and code != ExitCode.OK and _stdout_reader_gone(exc):
        return ExitCode.OK  # click catches the broken pipe itself and exits 1: the reader left, nothing failed
    # Exit: a command that printed its own result and chose its code. SystemExit: someone chose a code.
    if isinstance(exc, click.exceptions.Exit | SystemExit):
        return code
    if isinstance(exc, click.ClickException):
        exc.show()
    elif isinstance(exc, KeyboardInterrupt | click.exceptions.Abort):
        click.echo("cancelled", err=True)
    elif isinstance(exc, WorkstationError):
        click.echo(f"error: {exc}", err=True)
    if as_json and not result_printed:
        click.echo(json.dumps({"error": error_message(exc), "exit_code": code}))
    if not isinstance(exc, click.ClickException | click.exceptions.Abort | KeyboardInterrupt | WorkstationError):
        raise exc
    return code


def _stdout_reader_gone(exc: SystemExit) -> bool:
    """Whether nobody reads our stdout any more (``workstation … | head``): the write end of a pipe whose
    read end is closed polls as an error. Click raises the exit after the BrokenPipeError (8.4) or
    after leaving its handler (8.5), so the exception alone does not always tell."""
    if isinstance(exc.__context__, BrokenPipeError):
        return True
    stdout = sys.__stdout__
    if stdout is None or not hasattr(select, "poll"):
        return False
    try:
        poller = select.poll()
        poller.register(stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _fd, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def _silence_stdout() -> None:
    """The reader of our stdout went away: further writes (the interpreter's final flush) go nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
