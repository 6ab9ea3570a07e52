"""``install_monitoring``: one call that routes logging, timings, errors and events into the log tables."""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing.util
import sys
import threading
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine

from workstation.monitoring import recorders
from workstation.monitoring.handler import DatabaseLogHandler
from workstation.monitoring.redaction import register_secrets
from workstation.monitoring.sinks import DatabaseSink
from workstation.monitoring.spill import SpillStore, spill_dir_for
from workstation.monitoring.writer import LogWriter

_lock = threading.RLock()
_active: MonitoringHandle | None = None


class MonitoringHandle:
    """The installed monitoring of this process: flush it, read its counters, shut it down."""

    def __init__(self, engine: Engine, writer: LogWriter, handler: DatabaseLogHandler, component: str) -> None:
        self.engine = engine
        self.writer = writer
        self.handler = handler
        self.component = component
        self._logger: logging.Logger | None = None
        self._previous_level: int | None = None
        self._previous_hooks: tuple[Any, Any] | None = None
        self._closed = False

    @property
    def spill_directory(self) -> Path:
        return self.writer.spill.directory

    @property
    def in_outage(self) -> bool:
        return self.writer.in_outage

    def stats(self) -> dict[str, int]:
        return asdict(self.writer.stats)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Block until every row queued so far is in the database (or, if it is down, the spill file)."""
        return self.writer.flush(timeout)

    def shutdown(self, timeout: float = 60.0) -> None:
        """Write everything, stop the writer and uninstall the handler and hooks. Safe to call twice."""
        global _active
        with _lock:
            if self._closed:
                return
            self._closed = True
            if _active is self:
                _active = None
                recorders._activate(None, None)
            if self._logger is not None:
                self._logger.removeHandler(self.handler)
                if self._previous_level is not None:
                    self._logger.setLevel(self._previous_level)
            if self._previous_hooks is not None and sys.excepthook is _excepthook:
                sys.excepthook, threading.excepthook = self._previous_hooks
        self.writer.close(timeout)

    @property
    def closed(self) -> bool:
        return self._closed


def current_monitoring() -> MonitoringHandle | None:
    return _active


def install_monitoring(
    engine: Engine,
    *,
    component: str = "app",
    level: int = logging.INFO,
    logger: logging.Logger | None = None,
    batch_size: int = 1000,
    flush_interval: float = 0.25,
    max_queue: int = 100_000,
    block_timeout: float = 0.5,
    retry_interval: float = 2.0,
    spill_dir: Path | None = None,
    excepthooks: bool = True,
    secrets: Iterable[str | None] = (),
) -> MonitoringHandle:
    """Install the database log handler, the typed writers and (optionally) the exception hooks.

    Idempotent: called again with the same engine it returns the installed handle; with another
    engine it shuts the old one down (flushing it) and installs anew. ``level`` is the lowest level
    written; the logger's own level is lowered to it when needed. Spilled rows live in
    ``spill_dir`` (default: a folder per database in the user data directory).
    """
    global _active
    register_secrets(secrets)
    with _lock:
        if _active is not None and not _active.closed:
            if _active.engine is engine:
                return _active
            _active.shutdown()
        writer = LogWriter(
            DatabaseSink(engine),
            SpillStore(spill_dir or spill_dir_for(engine.url)),
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue=max_queue,
            block_timeout=block_timeout,
            retry_interval=retry_interval,
        )
        handler = DatabaseLogHandler(writer, level)
        handle = MonitoringHandle(engine, writer, handler, component)
        target = logger or logging.getLogger()
        handle._logger = target
        if target.getEffectiveLevel() > level or target.level == logging.NOTSET:
            handle._previous_level = target.level
            target.setLevel(level)
        target.addHandler(handler)
        if excepthooks:
            handle._previous_hooks = (sys.excepthook, threading.excepthook)
            sys.excepthook = _excepthook
            threading.excepthook = _thread_excepthook
        writer.start()
        _active = handle
        recorders._activate(writer.submit, component)
        atexit.register(handle.shutdown)
        # Pool workers leave through os._exit, which skips atexit; multiprocessing's finalizers still run.
        multiprocessing.util.Finalize(handle, handle.shutdown, exitpriority=100)
        return handle


def _previous_hooks() -> tuple[Any, Any]:
    handle = _active
    if handle is not None and handle._previous_hooks is not None:
        return handle._previous_hooks
    return sys.__excepthook__, threading.__excepthook__


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if not getattr(exc, "_workstation_recorded", False) and not issubclass(exc_type, KeyboardInterrupt):
        recorders.record_error(exc.with_traceback(tb), component="uncaught")
    previous = _previous_hooks()[0]
    previous(exc_type, exc, tb)
    handle = _active
    if handle is not None:
        handle.flush(10.0)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    exc = args.exc_value
    if exc is not None and not getattr(exc, "_workstation_recorded", False):
        name = args.thread.name if args.thread is not None else "thread"
        recorders.record_error(exc, component=f"thread:{name}")
    _previous_hooks()[1](args)


def mark_recorded(exc: BaseException) -> None:
    """Tell the exception hooks this exception is already in error_logs (no second row)."""
    with contextlib.suppress(AttributeError):
        exc._workstation_recorded = True  # type: ignore[attr-defined]
