"""The live window against the real ReplayServer on loopback (alpaca-py's client, no mock of the stream):
the demo universe ticks in the watchlist and the chart, a second window consumes through the database
instead of opening a second connection, the status bar follows a dropped connection, a quiet feed
raises one stale alert."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from workstation.db.engine import create_db_engine
from workstation.gui.live_feed import DEMO_SPEED_KEY, STALE_KEY
from workstation.gui.qsettings import open_settings
from workstation.market.demo import load_demo_universe
from workstation.market.replay.server import ReplayServer
from workstation.market.stream.remote import RemoteFeed

pytestmark = [pytest.mark.gui, pytest.mark.slow]  # real websockets and a replay clock: seconds each


@pytest.fixture(scope="session")
def _demo_template(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo_template") / "demo.db"
    shutil.copyfile(_sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    load_demo_universe(engine, symbols=3, years=1, seed=7)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def demo_url(_demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "demo.db"
    shutil.copyfile(_demo_template, path)
    monkeypatch.setenv("WORKSTATION_LIVE", "auto")  # no keys in tests: auto means the demo replay
    return f"sqlite:///{path}"


@pytest.fixture
def live_windows(window_factory: Callable[..., Any], demo_url: str) -> Iterator[Callable[..., Any]]:
    made: list[Any] = []

    def make(speed: float = 600.0, stale: float = 0.0) -> Any:
        settings = open_settings()
        settings.setValue(DEMO_SPEED_KEY, speed)
        settings.setValue(STALE_KEY, stale)
        settings.sync()
        window = window_factory(demo_url)
        made.append(window)
        return window

    yield make
    for window in made:
        window.context.live.stop()


def _watchlist(window: Any) -> Any:
    return window.docks["watchlistPanel"].widget()


def _cell(window: Any, symbol: str, header: str) -> str:
    model = _watchlist(window).model
    columns = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    row = next(r for r in range(model.rowCount()) if model.row_at(r).symbol == symbol)
    return str(model.index(row, columns.index(header)).data())


def _started(qtbot: Any, window: Any) -> Any:
    live = window.context.live
    qtbot.waitUntil(lambda: live.feed is not None and _watchlist(window).model.rowCount() == 3, timeout=20_000)
    return live


def test_the_demo_universe_ticks_in_the_watchlist_and_the_chart(qtbot: Any, live_windows: Callable[..., Any]) -> None:
    window = live_windows()
    live = _started(qtbot, window)
    assert live.mode == "demo" and live.feed.is_owner
    assert isinstance(live.feed, RemoteFeed) and live.feed.pid != os.getpid()  # the feed's work is off this process
    symbol = window.context.symbol
    chart = window.docks["chartPanel"].widget()
    qtbot.waitUntil(lambda: chart.live_updates >= 2 and _cell(window, symbol, "Bid") != "—", timeout=15_000)
    first_last, first_readout = _cell(window, symbol, "Last"), chart.readout_text()
    qtbot.waitUntil(
        lambda: _cell(window, symbol, "Last") != first_last and chart.readout_text() != first_readout, timeout=15_000
    )
    assert _cell(window, symbol, "Volume") != "—"
    assert float(_cell(window, symbol, "Ask").replace(",", "")) >= float(_cell(window, symbol, "Bid").replace(",", ""))
    qtbot.waitUntil(lambda: "market 20" in window.feed_status.text(), timeout=5_000)  # refreshed every second
    assert window.feed_status.text().startswith("Demo replay (synthetic) · ") and "msg/s" in window.feed_status.text()
    assert "Synthetic data" in window.feed_status.toolTip()
    # Coalesced: many more messages than screen updates.
    assert live.book.total > 2 * live.flushes > 0
    assert live.server is not None and live.server.connections == 1
    # The subscription follows what the watchlist shows, on the same connection.
    _watchlist(window).search.setText(symbol)
    qtbot.waitUntil(lambda: live.feed.symbols == (symbol,), timeout=5_000)
    qtbot.wait(500)  # messages already on their way when the unsubscription left
    live.book.drain()
    qtbot.wait(1_000)
    assert {t.symbol for t in live.book.drain().ticks} <= {symbol}
    assert live.feed.status().connections == 1 and live.server.connections == 1


def test_a_second_window_consumes_through_the_database(qtbot: Any, live_windows: Callable[..., Any]) -> None:
    first = live_windows()
    owner = _started(qtbot, first)
    assert owner.feed.is_owner
    second = live_windows()
    consumer = _started(qtbot, second)
    assert not consumer.feed.is_owner
    symbol = second.context.symbol
    before = _cell(second, symbol, "Last")
    # Minute bars stored by the owner reach the second window through market_data_events.
    qtbot.waitUntil(lambda: _cell(second, symbol, "Last") != before, timeout=20_000)
    qtbot.waitUntil(lambda: "via window" in second.feed_status.text(), timeout=10_000)
    assert owner.server.connections == 1  # one data connection for the account
    assert consumer.server is not None and consumer.server.connections == 0
    assert _cell(second, symbol, "Bid") == "—"  # quotes are not stored: a consumer shows bars only


def test_the_status_bar_follows_a_dropped_connection(qtbot: Any, live_windows: Callable[..., Any]) -> None:
    window = live_windows()
    live = _started(qtbot, window)
    qtbot.waitUntil(lambda: live.status.state == "connected" and live.status.connections == 1, timeout=15_000)
    server = live.server
    port = server.port
    server.stop()  # the replay goes away: the connection drops
    qtbot.waitUntil(lambda: live.status.state == "reconnecting", timeout=10_000)
    assert "reconnecting" in window.feed_status.text()
    replacement = ReplayServer(
        window.context.engine,
        symbols=list(live.plan.demo_symbols),
        interval="1h",
        start=live.plan.demo_start,
        speed=600.0,
        port=port,
    ).start()
    try:
        qtbot.waitUntil(lambda: live.status.state == "connected" and live.status.connections == 2, timeout=20_000)
        total = live.book.total
        qtbot.waitUntil(lambda: live.book.total > total, timeout=10_000)
        assert "reconnecting" not in window.feed_status.text()
    finally:
        replacement.stop()


def test_a_quiet_feed_raises_one_stale_alert(qtbot: Any, live_windows: Callable[..., Any]) -> None:
    window = live_windows(speed=0.01, stale=0.5)  # the first replayed message is 100 s away
    live = _started(qtbot, window)
    qtbot.waitUntil(lambda: live.status.state == "stale", timeout=15_000)
    assert "stale" in window.feed_status.text() and "no data for" in window.feed_status.text()
    toasts = [t for t in window.notifications.active() if "Market data stale" in t.message]
    assert len(toasts) == 1 and toasts[0].level == "warning"
    qtbot.wait(2_500)  # several status rounds later: still one alert, not one per round
    assert live.stale_alerts == 1
    assert len([t for t in window.notifications.active() if "Market data stale" in t.message]) == 1
