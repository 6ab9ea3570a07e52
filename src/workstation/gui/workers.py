"""Background jobs for the window: a core callable runs in its own QThread, never on the GUI thread.

A job is any ``fn(progress: ProgressCallback, cancel: CancelToken) -> result`` from the core. Its
progress becomes a (throttled) Qt signal, "cancel" sets the CancelToken, a JobCancelledError ends it
quietly, and any other exception is logged with its traceback (``logging.exception``, so the
monitoring handler files an error_logs row under the job's correlation id) and reported to the GUI
as a failure, which the window shows as a non-modal notification.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from workstation.errors import JobCancelledError, WorkstationError
from workstation.gui.pollers import Poller
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate
from workstation.monitoring.correlation import correlation_scope, current_correlation_id, new_correlation_id

logger = logging.getLogger(__name__)

JobFunction = Callable[[ProgressCallback, CancelToken], Any]

# Progress faster than this would flood the GUI event loop with queued signals for nothing.
_PROGRESS_INTERVAL_S = 0.05
_ids = itertools.count(1)


class _Worker(QObject):
    """Lives in the job's thread; only ever talks to the GUI through queued signals."""

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()

    def __init__(self, label: str, fn: JobFunction, token: CancelToken, correlation_id: str) -> None:
        super().__init__()
        self._label = label
        self._fn = fn
        self._token = token
        self._correlation_id = correlation_id
        self._last_emit = 0.0

    def _progress(self, update: ProgressUpdate) -> None:
        now = time.monotonic()
        if update.done >= update.total > 0 or now - self._last_emit >= _PROGRESS_INTERVAL_S:
            self._last_emit = now
            self.progressed.emit(int(update.done), int(update.total), update.message)

    @Slot()
    def run(self) -> None:
        _lower_priority()
        with correlation_scope(self._correlation_id):
            try:
                self._token.raise_if_cancelled()
                result = self._fn(self._progress, self._token)
            except JobCancelledError:
                logger.info("job %r cancelled", self._label)
                self.cancelled.emit()
            except WorkstationError as exc:  # a user-level problem: one line, still logged
                logger.exception("job %r failed: %s", self._label, exc)
                self.failed.emit(str(exc), traceback.format_exc())
            except Exception as exc:
                logger.exception("job %r failed", self._label)
                self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            else:
                self.succeeded.emit(result)


class JobHandle(QObject):
    """The GUI-side face of one job: its signals are delivered on the GUI thread."""

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, label: str, correlation_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job_id = next(_ids)
        self.label = label
        self.correlation_id = correlation_id
        self.token = CancelToken()
        self.state = "running"
        self.error: str | None = None
        self.details: str | None = None
        self.result: Any = None
        self.progress: tuple[int, int, str] = (0, 0, "")

    def cancel(self) -> None:
        if self.state == "running":
            self.token.cancel()

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress = (done, total, message)
        self.progressed.emit(done, total, message)

    @Slot(object)
    def _on_success(self, result: object) -> None:
        self.state, self.result = "succeeded", result
        self.succeeded.emit(result)

    @Slot(str, str)
    def _on_failure(self, message: str, details: str) -> None:
        self.state, self.error, self.details = "failed", message, details
        self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self.state = "cancelled"
        self.cancelled.emit()


class JobManager(QObject):
    """Starts jobs, keeps the running ones, and announces starts, ends and failures to the window."""

    jobStarted = Signal(object)
    jobEnded = Signal(object)
    jobFailed = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: dict[int, tuple[JobHandle, QThread, _Worker]] = {}
        self._pollers: list[Poller] = []

    def submit(
        self,
        label: str,
        fn: JobFunction,
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        correlation_id: str | None = None,
    ) -> JobHandle:
        """Run ``fn`` in a new thread; callbacks run on the GUI thread.

        The job belongs to the user action that started it: without an explicit id it takes the
        current correlation id (a user action's scope, or the job whose callback submits it), so one
        action can be traced through every job it caused. Callbacks run under the job's id too.
        """
        cid = correlation_id or current_correlation_id() or new_correlation_id("job")
        handle = JobHandle(label, cid, self)
        thread = QThread()
        thread.setObjectName(f"job-{handle.job_id}")
        worker = _Worker(label, fn, handle.token, cid)
        worker.moveToThread(thread)
        worker.progressed.connect(handle._on_progress)
        worker.succeeded.connect(handle._on_success)
        worker.failed.connect(handle._on_failure)
        worker.cancelled.connect(handle._on_cancelled)
        for signal in (worker.succeeded, worker.failed, worker.cancelled):
            # Direct: QThread.quit is thread-safe, and a queued quit would wait for the GUI loop (deadlock
            # in shutdown(), which blocks the GUI thread on thread.wait()).
            signal.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.started.connect(worker.run)
        thread.finished.connect(lambda: self._finish(handle.job_id))
        if on_success is not None:
            handle.succeeded.connect(_in_scope(cid, on_success))
        if on_failure is not None:
            handle.failed.connect(_in_scope(cid, on_failure))
        handle.failed.connect(lambda message: self.jobFailed.emit(handle, message))
        self._running[handle.job_id] = (handle, thread, worker)
        self.jobStarted.emit(handle)
        thread.start()
        return handle

    def _finish(self, job_id: int) -> None:
        entry = self._running.pop(job_id, None)
        if entry is None:
            return
        handle, thread, worker = entry
        if handle.state == "running":  # the thread ended without a verdict (should not happen)
            handle.state = "failed"
        handle.ended.emit()
        self.jobEnded.emit(handle)
        worker.deleteLater()
        thread.deleteLater()

    def running_jobs(self) -> list[JobHandle]:
        return [entry[0] for entry in self._running.values()]

    def cancel_all(self) -> None:
        for handle in self.running_jobs():
            handle.cancel()

    def add_poller(self, poller: Poller) -> Poller:
        """Adopt a periodic poller so that shutdown() stops its thread with the jobs."""
        self._pollers.append(poller)
        return poller

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job, stop the pollers and wait for the threads (on quit); True when all stopped in time."""
        self.cancel_all()
        stopped = True
        for poller in self._pollers:
            stopped &= poller.stop(timeout_ms)
        for _handle, thread, _worker in list(self._running.values()):
            stopped &= bool(thread.wait(timeout_ms))
        return stopped


def _in_scope(correlation_id: str, callback: Callable[[Any], None]) -> Callable[[Any], None]:
    """``callback`` run under the job's correlation id (follow-up jobs it submits inherit the id)."""

    def run(value: Any) -> None:
        with correlation_scope(correlation_id):
            callback(value)

    return run


# Background work yields the CPU to the GUI thread: on a busy two-core machine the event loop would
# otherwise wait in the run queue behind the jobs. Linux applies a nice value per thread (and the
# processes a job starts, such as the feature build's pool, inherit it).
JOB_NICENESS = 10


def _lower_priority() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)
