"""Issue 16, item 6: the session comes back, quitting asks first, notifications are not repeated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from workstation.db.engine import create_db_engine
from workstation.db.models import MarketData

pytestmark = pytest.mark.gui


def _ready(qtbot: Any, window: Any) -> Any:
    chart = window.docks["chartPanel"].widget()
    qtbot.waitUntil(lambda: chart.view.bar_count() > 0, timeout=15_000)
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)
    return chart


def test_last_symbol_interval_and_filters_come_back(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    engine = create_db_engine(filled_url)
    start = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(MarketData),
            [
                {
                    "symbol": "MSFT", "interval": "1h", "timestamp": start + timedelta(hours=i), "open": Decimal(50),
                    "high": Decimal(51), "low": Decimal(49), "close": Decimal(50), "volume": 10, "source": "test",
                }
                for i in range(30)
            ],
        )  # fmt: skip
    engine.dispose()
    window = window_factory(filled_url)
    chart = _ready(qtbot, window)
    watchlist = window.docks["watchlistPanel"].widget()
    watchlist.sector.setCurrentText("Technology")
    watchlist.search.setText("micro")
    watchlist.table.selectRow(0)
    qtbot.waitUntil(lambda: window.context.symbol == "MSFT", timeout=5_000)
    qtbot.waitUntil(lambda: chart.title.text().startswith("MSFT ·") and "bars" in chart.title.text(), timeout=10_000)
    chart.interval.setCurrentText("1h")
    chart._interval_picked()
    qtbot.waitUntil(lambda: "1h · 30 bars" in chart.title.text(), timeout=10_000)
    window.close()
    second = window_factory(filled_url)
    chart2 = _ready(qtbot, second)
    watchlist2 = second.docks["watchlistPanel"].widget()
    qtbot.waitUntil(lambda: "MSFT · 1h · 30 bars" in chart2.title.text(), timeout=10_000)
    assert second.context.symbol == "MSFT"
    assert watchlist2.search.text() == "micro" and watchlist2.sector.currentText() == "Technology"
    assert watchlist2.selected_symbols() == ["MSFT"]
    assert second.docks["orderTicketPanel"].widget().symbol.text() == "MSFT"


def _open_limit_order(qtbot: Any, window: Any) -> None:
    ticket = window.docks["orderTicketPanel"].widget()
    qtbot.waitUntil(lambda: ticket.symbol.text() == "AAPL" and ticket._last is not None, timeout=15_000)
    ticket.quantity.setValue(2)
    ticket.order_type.setCurrentText("limit")
    ticket.limit_price.setValue(round(float(ticket._last[0]) * 0.5, 2))
    qtbot.waitUntil(lambda: ticket.submit_button.isEnabled(), timeout=15_000)
    handle = ticket.submit()
    qtbot.waitUntil(lambda: handle.state != "running", timeout=15_000)
    assert "accepted" in ticket.status.text()


def test_quitting_with_open_orders_asks_first(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    _open_limit_order(qtbot, window)
    assert not window.close()  # refused for now: the question is asked
    dialog = window.quit_dialog
    assert dialog is not None and dialog.isVisible()
    assert "1 open order(s) (AAPL) stay working at the broker" in dialog.text.text()
    dialog.reject()
    assert window.isVisible()
    window.close()
    window.quit_dialog.quit_button.click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5_000)


def test_quit_guards_are_open_to_other_panels(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    guards = window.context.quit_guards
    assert guards.names() == ["open orders", "strategies"]
    running = ["sma_cross on AAPL"]
    guards.register("strategies", lambda: f"Strategy {running[0]} is running" if running else None)
    assert not window.close()
    assert "Strategy sma_cross on AAPL is running" in window.quit_dialog.text.text()
    window.quit_dialog.reject()
    running.clear()  # the strategy stopped: nothing to ask
    assert window.close()


def test_the_same_notification_is_counted_not_stacked(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    for toast in window.notifications.active():
        toast.dismiss()
    for _ in range(3):
        window.context.notify.emit("warning", "Market data for AAPL is stale")
    active = window.notifications.active()
    assert len(active) == 1 and active[0].repeats == 3
    assert active[0].text.text().endswith("(×3)")
    for i in range(6):
        window.context.notify.emit("warning", f"warning {i}")
    assert len(window.notifications.active()) <= 4  # never a wall of pop-ups over the blotter


def _failing_worker(window: Any) -> None:
    from workstation.monitoring.recorders import record_error

    for _ in range(3):
        try:
            raise OSError("feed disconnected")
        except OSError as exc:
            record_error(exc, component="market.stream", correlation_id="job-feed")
    window.context.monitoring.flush(10)


def test_alerts_pop_up_once_and_not_again_at_the_next_start(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    qtbot.waitUntil(lambda: window.context.monitoring is not None, timeout=10_000)
    panel = window.docks["logMonitorPanel"].widget()
    _failing_worker(window)

    def popups(w: Any) -> list[Any]:
        return [t for t in w.notifications.active() if "market.stream failing repeatedly" in t.message]

    panel.alert_poller.poll_now()
    qtbot.waitUntil(lambda: len(popups(window)) == 1, timeout=5_000)
    panel.alert_poller.poll_now()  # the same alert again: no second pop-up
    qtbot.wait(500)
    assert len(popups(window)) == 1 and popups(window)[0].repeats == 1
    window.close()
    second = window_factory(filled_url)
    _ready(qtbot, second)
    qtbot.waitUntil(lambda: second.context.monitoring is not None, timeout=10_000)
    panel2 = second.docks["logMonitorPanel"].widget()
    panel2.alert_poller.poll_now()
    qtbot.waitUntil(lambda: any(a.rule == "worker_failing" for a in panel2.alerts.alerts()), timeout=5_000)
    qtbot.wait(300)
    assert popups(second) == []  # listed in the log monitor, not raised again
