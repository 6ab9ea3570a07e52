"""logMonitorPanel and GUI monitoring: live tail, filters, details, trace, auto-scroll, alerts, user actions."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from workstation.db.logs import ErrorLog, UserActionLog

pytestmark = pytest.mark.gui


def _monitored(qtbot: Any, window_factory: Any, url: str) -> tuple[Any, Any]:
    window = window_factory(url)
    panel = window.docks["logMonitorPanel"].widget()
    qtbot.waitUntil(lambda: window.context.monitoring is not None and panel.tail_poller.rounds > 0, timeout=15_000)
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)
    return window, panel


def _descriptions(panel: Any) -> list[str]:
    return [e.description for e in panel.model.entries()]


def test_a_new_log_line_shows_in_the_monitor_within_two_seconds(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window, panel = _monitored(qtbot, window_factory, filled_url)
    assert window.findChild(type(window.docks["logMonitorPanel"]), "logMonitorPanel") is not None
    canary = f"canary {uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    logging.getLogger("workstation.test.monitor").warning(canary)
    qtbot.waitUntil(lambda: canary in _descriptions(panel), timeout=2000)
    assert time.monotonic() - start < 2.0
    row = _descriptions(panel).index(canary)
    assert panel.model.index(row, 1).data() == "WARNING"
    # The detail pane shows the row with its metadata as JSON; the tail is still following.
    panel.table.selectRow(row)
    detail = panel.detail.toPlainText()
    assert canary in detail and "WARNING · log · workstation.test.monitor" in detail
    assert panel.following
    assert "following the live tail" in panel.status.text()


def test_filters_narrow_the_tail(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    _window, panel = _monitored(qtbot, window_factory, filled_url)
    log = logging.getLogger("workstation.test.filters")
    tag = uuid.uuid4().hex[:6]
    log.info("routine %s", tag)
    log.error("broken %s", tag)
    qtbot.waitUntil(lambda: f"broken {tag}" in _descriptions(panel), timeout=5000)
    panel.severity.setCurrentIndex(panel.severity.findData("ERROR"))
    panel.text.setText(tag)
    panel.apply_filters()
    qtbot.waitUntil(lambda: _descriptions(panel) == [f"broken {tag}"], timeout=5000)
    panel.component.setText("workstation.elsewhere")
    panel.apply_filters()
    qtbot.waitUntil(lambda: panel.tail_poller.rounds > 0 and not _descriptions(panel), timeout=5000)


def test_trace_follows_one_user_action_through_its_jobs(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window, panel = _monitored(qtbot, window_factory, filled_url)
    context = window.context

    def broken(progress: object, cancel: object) -> None:
        raise RuntimeError("disk on fire")

    with qtbot.waitSignal(context.jobs.jobFailed, timeout=5000) as failed:
        context.perform("test/start-broken-job", lambda: context.jobs.submit("Broken job", broken))
    handle = failed.args[0]
    assert handle.correlation_id.startswith("gui-")  # the job inherited the action's id
    assert context.monitoring.flush(10)
    with context.engine.connect() as conn:
        action = conn.execute(select(UserActionLog).where(UserActionLog.correlation_id == handle.correlation_id)).one()
        error = conn.execute(select(ErrorLog).where(ErrorLog.correlation_id == handle.correlation_id)).first()
    assert action.request_path == "test/start-broken-job" and action.response_status == 0
    assert action.session_id == context.session_id and action.duration_ms is not None
    assert error is not None and "disk on fire" in error.error_message  # worker failure → error_logs
    panel.show_trace(handle.correlation_id)
    qtbot.waitUntil(lambda: "entries, oldest first" in panel.trace_label.text(), timeout=5000)
    sources = [e.source for e in panel.model.entries()]
    assert sources[0] == "user_action" and "error_log" in sources
    assert all(e.correlation_id == handle.correlation_id for e in panel.model.entries())
    panel.back_to_tail()
    assert panel.trace_bar.isHidden()
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=5000)


def test_auto_scroll_pauses_while_scrolled_back_and_resumes(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window, panel = _monitored(qtbot, window_factory, filled_url)
    window.resize(1400, 700)
    log = logging.getLogger("workstation.test.scroll")
    for i in range(150):
        log.info("line %d", i)
    qtbot.waitUntil(lambda: "line 149" in _descriptions(panel), timeout=5000)
    bar = panel.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)
    bar.setValue(0)  # the user scrolls back
    assert not panel.following
    assert panel.resume_button.isVisible()
    log.info("arrived while paused")
    qtbot.waitUntil(lambda: panel.unseen > 0, timeout=5000)
    assert bar.value() == 0
    assert "new)" in panel.resume_button.text()
    panel.resume_button.click()
    assert panel.following and bar.value() == bar.maximum()
    assert not panel.resume_button.isVisible()


def test_alerts_are_listed_highlighted_and_notified(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    from workstation.monitoring.alerts import AlertThresholds
    from workstation.monitoring.recorders import record_error

    window, panel = _monitored(qtbot, window_factory, filled_url)
    for _ in range(3):
        try:
            raise OSError("feed disconnected")
        except OSError as exc:
            record_error(exc, component="market.stream", correlation_id="job-feed")
    window.context.monitoring.flush(10)
    panel.alert_poller.poll_now()
    qtbot.waitUntil(lambda: any(a.rule == "worker_failing" for a in panel.alerts.alerts()), timeout=5000)
    assert panel.alerts.isVisible()
    assert "active alert" in panel.alerts.title.text()
    assert any("market.stream failing repeatedly" in t.message for t in window.notifications.active())
    qtbot.waitUntil(lambda: "job-feed" in {e.correlation_id for e in panel.model.entries()}, timeout=5000)
    row = next(i for i, e in enumerate(panel.model.entries()) if e.correlation_id == "job-feed")
    assert panel.model.index(row, 0).data(8) is not None  # BackgroundRole: tinted as part of an alert
    panel.thresholds = AlertThresholds(worker_failures=100, market_data_stale_after=None)
    panel.alert_poller.poll_now()
    qtbot.waitUntil(lambda: not panel.alerts.alerts(), timeout=5000)
    assert panel.alerts.isHidden()
    assert "Resolved:" in window.statusBar().currentMessage()


def test_menu_actions_and_selections_are_user_actions(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window, _panel = _monitored(qtbot, window_factory, filled_url)
    context = window.context
    window.shortcuts.get("view.reset").action.trigger()
    window.docks["chartPanel"].toggleViewAction().trigger()  # a dock toggle: recorded by the window-wide watch
    watchlist = window.docks["watchlistPanel"].widget()
    watchlist.search.setText("MSFT")
    watchlist.table.selectRow(0)
    qtbot.waitUntil(lambda: context.symbol == "MSFT", timeout=5000)
    context.monitoring.flush(10)
    with context.engine.connect() as conn:
        rows = conn.execute(select(UserActionLog).order_by(UserActionLog.id)).all()
    paths = [r.request_path for r in rows]
    assert "View/Reset layout" in paths
    assert "View/Panels/Chart" in paths
    assert "watchlist/select" in paths
    assert {r.session_id for r in rows} == {context.session_id}
    assert all(r.response_status == 0 and r.correlation_id.startswith("gui-") for r in rows)


def test_unhandled_exception_is_filed_and_shown(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    from workstation.gui.crash import CrashReporter

    window, _panel = _monitored(qtbot, window_factory, filled_url)
    reporter = CrashReporter(window)

    def boom() -> None:
        raise ZeroDivisionError("division by zero in a slot")

    with pytest.raises(ZeroDivisionError) as caught:
        window.context.perform("test/boom", boom)
    reporter.handle(ZeroDivisionError, caught.value, caught.value.__traceback__)
    qtbot.waitUntil(lambda: reporter.shown == 1, timeout=2000)
    window.context.monitoring.flush(10)
    with window.context.engine.connect() as conn:
        rows = conn.execute(select(ErrorLog).where(ErrorLog.component == "gui.uncaught")).all()
        action = conn.execute(select(UserActionLog).where(UserActionLog.request_path == "test/boom")).one()
    assert len(rows) == 1 and rows[0].error_type == "ZeroDivisionError"
    assert rows[0].correlation_id == action.correlation_id and action.response_status == 1
    assert f"correlation id: {action.correlation_id}" in (reporter.last_details or "")
    reporter.dialog.close()


def test_status_bar_shows_the_connection(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window, _panel = _monitored(qtbot, window_factory, filled_url)
    status = window.database_status
    qtbot.waitUntil(lambda: status.health is not None and status.health.ok, timeout=10_000)
    assert "3 symbols" in status.label.text() and " ms" in status.label.text()
    assert "Connected (sqlite)" in status.toolTip()
