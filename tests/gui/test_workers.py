"""Workers: results, progress, cancellation and failures reach the GUI thread; the lag probe sees stalls."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from workstation.gui.lag_probe import LagProbe
from workstation.gui.statusbar import JobsWidget
from workstation.gui.workers import JobManager
from workstation.jobs import CancelToken, ProgressUpdate
from workstation.monitoring.correlation import current_correlation_id

pytestmark = pytest.mark.gui


def test_job_runs_off_the_gui_thread_with_progress_and_correlation_id(qtbot: Any) -> None:
    manager = JobManager()
    widget = JobsWidget(manager)
    qtbot.addWidget(widget)
    seen: dict[str, object] = {}
    gate = threading.Event()

    def job(progress: Any, cancel: CancelToken) -> int:
        seen["thread"] = threading.current_thread()
        seen["cid"] = current_correlation_id()
        gate.wait(5)
        for i in range(1, 4):
            progress(ProgressUpdate(i, 3, f"step {i}"))
        return 42

    progress_events: list[tuple[int, int, str]] = []
    handle = manager.submit("Answer", job, correlation_id="gui-test")
    handle.progressed.connect(lambda d, t, m: progress_events.append((d, t, m)))
    assert widget.rows() == ["Answer"]
    with qtbot.waitSignal(handle.succeeded, timeout=5000) as blocker:
        gate.set()
    assert blocker.args == [42]
    assert seen["thread"] is not threading.main_thread()
    assert seen["cid"] == "gui-test"
    assert progress_events[-1] == (3, 3, "step 3")
    qtbot.waitUntil(lambda: not manager.running_jobs(), timeout=5000)
    assert widget.rows() == []


def test_cancel_sets_the_token_and_ends_quietly(qtbot: Any) -> None:
    manager = JobManager()
    started = threading.Event()

    def job(progress: Any, cancel: CancelToken) -> None:
        started.set()
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.01)

    failures: list[object] = []
    manager.jobFailed.connect(lambda h, m: failures.append(m))
    handle = manager.submit("Endless", job)
    assert started.wait(5)
    with qtbot.waitSignal(handle.cancelled, timeout=5000):
        handle.cancel()
    assert handle.state == "cancelled"
    assert not failures
    qtbot.waitUntil(lambda: not manager.running_jobs(), timeout=5000)


def test_failure_is_logged_with_traceback_and_announced(qtbot: Any, caplog: pytest.LogCaptureFixture) -> None:
    manager = JobManager()

    def job(progress: Any, cancel: CancelToken) -> None:
        raise ValueError("bad bar")

    with qtbot.waitSignal(manager.jobFailed, timeout=5000) as blocker:
        handle = manager.submit("Bad", job)
    assert blocker.args[1] == "ValueError: bad bar"
    assert handle.details is not None
    assert "Traceback" in handle.details
    assert any(r.exc_info and "Bad" in r.getMessage() for r in caplog.records)
    assert manager.shutdown(2000)


def test_lag_probe_measures_a_blocked_event_loop(qtbot: Any) -> None:
    probe = LagProbe(interval_ms=5)
    probe.start()
    qtbot.wait(50)
    time.sleep(0.15)  # a deliberate stall on the GUI thread
    qtbot.wait(50)
    probe.stop()
    assert probe.max_stall_ms >= 100.0
    assert probe.stalls_over_50ms >= 1


def test_lag_probe_keeps_ticking_while_a_cpu_heavy_worker_runs(qtbot: Any) -> None:
    """The worker really runs in parallel with the event loop (the ≤ 50 ms figure comes from bench_chart.py)."""
    manager = JobManager()
    probe = LagProbe(interval_ms=5)

    def heavy(progress: Any, cancel: CancelToken) -> int:
        total = 0
        for i in range(60):
            total += sum(j * j for j in range(20_000))
            progress(ProgressUpdate(i + 1, 60))
        return total

    probe.start()
    handle = manager.submit("Crunch", heavy)
    ticks_at_start = probe.ticks
    qtbot.waitUntil(lambda: handle.state == "succeeded", timeout=60_000)
    probe.stop()
    assert probe.ticks - ticks_at_start >= 5
    assert isinstance(QApplication.instance(), QApplication)
