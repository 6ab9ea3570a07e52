"""An event-loop lag probe: a fast QTimer that measures how late each tick arrives.

If the GUI thread is blocked (a query or a computation on the wrong thread, a long paint), the next
tick is late by the length of the stall. ``max_stall_ms`` is the number the benchmark reports.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer


class LagProbe(QObject):
    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._interval_s = interval_ms / 1000.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.max_stall_ms = 0.0
        self.ticks = 0
        self.stalls_over_50ms = 0

    def start(self) -> None:
        self.max_stall_ms = 0.0
        self.ticks = 0
        self.stalls_over_50ms = 0
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def _tick(self) -> None:
        now = time.perf_counter()
        stall_ms = max(0.0, (now - self._last - self._interval_s) * 1000.0)
        self._last = now
        self.ticks += 1
        if stall_ms > 50.0:
            self.stalls_over_50ms += 1
        self.max_stall_ms = max(self.max_stall_ms, stall_ms)
