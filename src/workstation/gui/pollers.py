"""Periodic background work (log tail, alert rules, database health) on a thread of its own.

A ``Poller`` owns one QThread. A timer on the GUI thread asks for a round every ``interval_ms``;
the round's callable is built on the GUI thread (so it captures the current filters and engine)
and runs in the poller's thread. At most one round is in flight: a slow database makes the tail
slower, never a queue of piled-up queries. Results and failures come back as queued signals.

Unlike a JobManager job, a poll round is not shown in the status bar (it runs every second and
would only flicker there) and a failure is reported to the owner, which decides what to show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from workstation.errors import WorkstationError

logger = logging.getLogger(__name__)

PollRound = Callable[[], Any]


class _PollWorker(QObject):
    finished = Signal(int, object)
    failed = Signal(int, str)

    @Slot(int, object)
    def run(self, generation: int, fn: PollRound) -> None:
        try:
            result = fn()
        except WorkstationError as exc:
            self.failed.emit(generation, str(exc))
        except Exception as exc:  # a poll must never take its thread down; the owner shows the reason
            self.failed.emit(generation, f"{type(exc).__name__}: {exc}")
        else:
            self.finished.emit(generation, result)


class Poller(QObject):
    """Runs ``make_round()`` (built on the GUI thread) in a worker thread every ``interval_ms``."""

    result = Signal(object)
    failed = Signal(str)
    _request = Signal(int, object)

    def __init__(
        self, name: str, interval_ms: int, make_round: Callable[[], PollRound | None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self._make_round = make_round
        self._busy = False
        self._pending = False
        self._generation = 0
        self._thread = QThread()
        self._thread.setObjectName(f"poll-{name}")
        self._worker = _PollWorker()
        self._worker.moveToThread(self._thread)
        self._request.connect(self._worker.run)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll_now)
        self.rounds = 0

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def start(self, *, immediately: bool = True) -> None:
        if not self._thread.isRunning():
            self._thread.start()
        self._timer.start()
        if immediately:
            self.poll_now()

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Stop the timer and the thread (a round in progress is allowed to finish)."""
        self._timer.stop()
        self._thread.quit()
        return bool(self._thread.wait(timeout_ms))

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def invalidate(self) -> None:
        """Discard the answer of a round in flight (its parameters changed) and poll again at once."""
        self._generation += 1
        self.poll_now()

    @Slot()
    def poll_now(self) -> None:
        if not self._thread.isRunning():
            return
        if self._busy:
            self._pending = True  # one more round right after the current one, not a queue of them
            return
        fn = self._make_round()
        if fn is None:
            return
        self._busy = True
        self._pending = False
        self._request.emit(self._generation, fn)

    @Slot(int, object)
    def _on_finished(self, generation: int, result: object) -> None:
        self._busy = False
        self.rounds += 1
        if generation == self._generation:
            self.result.emit(result)
        if self._pending or generation != self._generation:
            self.poll_now()

    @Slot(int, str)
    def _on_failed(self, generation: int, message: str) -> None:
        self._busy = False
        self.rounds += 1
        if generation == self._generation:
            self.failed.emit(message)
        if self._pending or generation != self._generation:
            self.poll_now()
