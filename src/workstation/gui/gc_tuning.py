"""Garbage collection that does not freeze the window.

A full (generation 2) collection holds the GIL while it walks every tracked object. With the Qt,
pyqtgraph, pandas and SQLAlchemy objects of a running window plus the frames and rows of a job in
flight, that walk took 300–800 ms here, and the event loop stood still for all of it — the largest
stall measured while ingest, feature build and training ran together.

So, once the window is built: the start-up objects are frozen (``gc.freeze``: never walked again,
they live as long as the window anyway), young generations are collected less often, automatic
full collections are practically switched off, and a full collection runs instead when the window is
idle (no job running), where the small unfrozen heap takes a few milliseconds. Reference counting
still frees almost everything at once; only cyclic garbage waits for the idle collection.
"""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtCore import QObject, QTimer

from workstation.gui.workers import JobManager

logger = logging.getLogger(__name__)

THRESHOLDS = (50_000, 20, 1_000)
IDLE_COLLECT_MS = 60_000


class IdleCollector(QObject):
    def __init__(self, jobs: JobManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._timer = QTimer(self)
        self._timer.setInterval(IDLE_COLLECT_MS)
        self._timer.timeout.connect(self.collect_if_idle)
        self.collections = 0
        self.last_ms = 0.0

    def install(self) -> None:
        previous = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
        self._timer.start()
        # The window's life is the process's in the app; in tests (many windows) the defaults come back.
        self.destroyed.connect(lambda *_args: _restore(previous))

    def collect_if_idle(self) -> bool:
        if self._jobs.running_jobs():
            return False  # a job's live data would make the walk long; try again later
        start = time.perf_counter()
        gc.collect()
        self.last_ms = (time.perf_counter() - start) * 1000.0
        self.collections += 1
        if self.last_ms > 50:
            logger.info("idle garbage collection took %.0f ms", self.last_ms)
        return True


def _restore(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(*thresholds)
    gc.unfreeze()
