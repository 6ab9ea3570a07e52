"""Quiet background calls: small, frequent reads (blotter polling, previews, account figures).

The JobManager is for jobs a user starts and may cancel (they show in the status bar with a
progress bar). A once-a-second blotter poll is not such a job: it runs here, on a small thread
pool, and its result comes back to the GUI thread through a queued signal. A failure is logged
and handed to the callback as a one-line message; it never raises on the GUI thread.

The runnables are not auto-deleted: Qt would destroy each Python QRunnable wrapper on the pool thread
the moment ``run`` returns, racing the interpreter on another thread. Each is kept here until its
result reaches the GUI thread and released there.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from workstation.errors import WorkstationError

logger = logging.getLogger(__name__)

Callback = Callable[[Any, str | None], None]
_still_running: list[QRunnable] = []  # calls a shutdown stopped waiting for (a process-long handful at most)


class _Relay(QObject):
    done = Signal(int, object, object)  # call id, result, error message or None


class _Call(QRunnable):
    def __init__(self, call_id: int, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._id, self._fn, self._relay = call_id, fn, relay

    def run(self) -> None:
        try:
            result = self._fn()
        except WorkstationError as exc:
            self._relay.done.emit(self._id, None, str(exc))
        except Exception as exc:
            logger.warning("background call failed", exc_info=True)
            self._relay.done.emit(self._id, None, f"{type(exc).__name__}: {exc}")
        else:
            self._relay.done.emit(self._id, result, None)


class BackgroundCalls(QObject):
    """Runs callables on its own pool; ``callback(result, error)`` runs on the GUI thread."""

    def __init__(self, max_threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._relay = _Relay(self)
        self._relay.done.connect(self._deliver)
        self._callbacks: dict[int, Callback] = {}
        self._running: dict[int, _Call] = {}  # released on the GUI thread once delivered (see above)
        self._ids = itertools.count(1)
        self._closed = False

    def run(self, fn: Callable[[], Any], callback: Callback | None = None) -> None:
        if self._closed:
            return
        call_id = next(self._ids)
        if callback is not None:
            self._callbacks[call_id] = callback
        call = _Call(call_id, fn, self._relay)
        call.setAutoDelete(False)
        self._running[call_id] = call
        self._pool.start(call)

    def pending(self) -> int:
        return len(self._callbacks)

    def wait(self, timeout_ms: int = 5000) -> bool:
        return bool(self._pool.waitForDone(timeout_ms))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop accepting calls, drop the queued ones and wait for the running ones."""
        self._closed = True
        self._pool.clear()
        stopped = self.wait(timeout_ms)
        self._callbacks.clear()
        if not stopped:  # still running: keep them alive past this object, or Python frees them mid-run
            _still_running.extend(self._running.values())
        self._running.clear()
        return stopped

    @Slot(int, object, object)
    def _deliver(self, call_id: int, result: Any, error: Any) -> None:
        self._running.pop(call_id, None)
        callback = self._callbacks.pop(call_id, None)
        if callback is not None and not self._closed:
            callback(result, error)
