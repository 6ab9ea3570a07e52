"""One correlation id, one timing, one user action and every error of a CLI invocation, through monitoring.

``cli_invocation`` is entered by the ``workstation`` group's callback; monitoring itself is
installed only when the command first asks for its database engine (``engine_created``), so
commands that never touch the database, and ``workstation --version``, pay nothing. This module
imports only the standard library and the correlation module at load time.
"""

from __future__ import annotations

import getpass
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from workstation.monitoring.correlation import correlation_scope

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from workstation.monitoring.install import MonitoringHandle

_log = logging.getLogger("workstation.monitoring.cli")


@dataclass
class CliInvocation:
    correlation_id: str
    argv: list[str]
    started: float = field(default_factory=time.perf_counter)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    cpu_started: float = field(default_factory=time.process_time)
    command_path: str | None = None
    handle: MonitoringHandle | None = None
    owns_handle: bool = False
    stderr_handler: logging.Handler | None = None


_current: ContextVar[CliInvocation | None] = ContextVar("workstation_cli_invocation", default=None)


class _StderrWarnings(logging.StreamHandler):  # type: ignore[type-arg]
    """What ``logging.lastResort`` did before a handler was installed: warnings on stderr, message only.

    Monitoring's own notices (a database outage, a replay) stay out of the terminal: they are in
    the log tables, and a command's error output remains its one line.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setLevel(logging.WARNING)
        self.addFilter(lambda record: not record.name.startswith("workstation.monitoring"))

    @property
    def stream(self) -> Any:  # follow sys.stderr when it is swapped (tests capture it)
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


@contextmanager
def cli_invocation(argv: list[str] | None = None) -> Iterator[CliInvocation]:
    """Scope one command line run. Outcome and exception are read when the click context closes."""
    with correlation_scope(prefix="cli") as cid:
        invocation = CliInvocation(correlation_id=cid, argv=list(sys.argv[1:] if argv is None else argv))
        token = _current.set(invocation)
        try:
            yield invocation
        finally:
            try:
                _finish(invocation, sys.exc_info()[1])
            finally:
                _current.reset(token)


def engine_created(engine: Engine) -> None:
    """Called by AppContext when a command first uses the database: install monitoring on that engine."""
    invocation = _current.get()
    if invocation is None or invocation.handle is not None:
        return
    from workstation.monitoring.install import current_monitoring, install_monitoring

    try:
        import click

        ctx = click.get_current_context(silent=True)
        invocation.command_path = ctx.command_path if ctx is not None else None
        existing = current_monitoring()
        if existing is not None:  # e.g. the GUI runs a command in-process: use its monitoring
            invocation.handle = existing
            return
        root = logging.getLogger()
        if not root.handlers:
            invocation.stderr_handler = _StderrWarnings()
            root.addHandler(invocation.stderr_handler)
        invocation.handle = install_monitoring(engine, component="cli")
        invocation.owns_handle = True
    except Exception as exc:  # monitoring must never stop a command from running
        _log.debug("monitoring not installed: %s", exc)


def _finish(invocation: CliInvocation, exc: BaseException | None) -> None:
    handle = invocation.handle
    if handle is None:
        return
    try:
        _record(invocation, exc)
    finally:
        if invocation.owns_handle:
            handle.shutdown()
        if invocation.stderr_handler is not None:
            logging.getLogger().removeHandler(invocation.stderr_handler)


def _record(invocation: CliInvocation, exc: BaseException | None) -> None:
    import click

    from workstation.errors import WorkstationError, exit_code_for
    from workstation.monitoring.install import mark_recorded
    from workstation.monitoring.recorders import record_error, record_performance, record_user_action
    from workstation.monitoring.redaction import redact_argv

    elapsed = time.perf_counter() - invocation.started
    cpu = time.process_time() - invocation.cpu_started
    code = exit_code_for(exc)
    words = (invocation.command_path or "workstation").split()
    path = " ".join(words[1:]) or "workstation"
    user_facing = click.exceptions.Exit | click.ClickException | click.exceptions.Abort | WorkstationError
    # A closed pipe (`workstation … | head`) is the reader leaving, not a failure.
    expected = exc is None or isinstance(exc, user_facing | KeyboardInterrupt | BrokenPipeError)
    if exc is not None and not expected:
        record_error(exc, component="cli", request_path=path)
        mark_recorded(exc)
    elif exc is not None and code != 0:
        _log.warning("workstation %s failed (exit %d): %s", path, code, exc or type(exc).__name__)
    memory_mb = None
    try:
        import psutil

        memory_mb = psutil.Process().memory_info().rss / 1_048_576
    except Exception:
        pass
    record_performance(
        "cli." + ".".join(words[1:]) if len(words) > 1 else "cli",
        elapsed * 1000.0,
        status="success" if code == 0 else "error",
        component="cli",
        memory_usage_mb=memory_mb,
        cpu_usage_percent=(cpu / elapsed * 100.0) if elapsed > 0 else 0.0,
        metadata={"exit_code": code},
    )
    try:
        user = getpass.getuser()
    except Exception:
        user = None
    record_user_action(
        "cli_command",
        user_id=user,
        session_id=invocation.correlation_id,
        request_path=path,
        request_method="CLI",
        response_status=code,
        duration_ms=round(elapsed * 1000.0, 3),
        metadata={"argv": redact_argv(invocation.argv)},
        timestamp=invocation.started_at,
    )
