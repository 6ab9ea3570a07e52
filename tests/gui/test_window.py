"""The main window: panels by objectName, symbol → chart, layout memory, shortcuts, failures, empty database."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget

pytestmark = pytest.mark.gui

PANELS = (
    "watchlistPanel",
    "chartPanel",
    "modelPanel",
    "orderTicketPanel",
    "blotterPanel",
    "logMonitorPanel",
    "strategiesPanel",
    "backtestPanel",
)


def _idle(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)


def _ready(qtbot: Any, window: Any) -> None:
    chart = window.docks["chartPanel"].widget()
    qtbot.waitUntil(lambda: chart.view.bar_count() > 0, timeout=15_000)
    _idle(qtbot, window)


def test_window_opens_with_all_seven_panels_by_object_name(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    for name in PANELS:
        dock = window.findChild(QDockWidget, name)
        assert dock is not None
        assert dock.isVisible()
        features = dock.features()
        for feature in ("DockWidgetMovable", "DockWidgetFloatable", "DockWidgetClosable"):
            assert features & getattr(QDockWidget.DockWidgetFeature, feature)
    toggles = [a.text() for a in window.panels_menu.actions()]
    assert toggles == [
        "Watchlist", "Chart", "Models", "Order ticket", "Blotter", "Log monitor", "Strategies", "Backtest"
    ]  # fmt: skip
    watchlist = window.docks["watchlistPanel"].widget()
    assert watchlist.model.rowCount() == 3
    assert window.onboarding.isHidden()
    assert "3 symbols" in window.database_label.text()


def test_selecting_a_symbol_loads_its_chart(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    watchlist = window.docks["watchlistPanel"].widget()
    chart = window.docks["chartPanel"].widget()
    watchlist.search.setText("exxon")
    assert watchlist.proxy.rowCount() == 1
    watchlist.table.selectRow(0)
    qtbot.waitUntil(lambda: chart.title.text().startswith("XOM ·") and "300 bars" in chart.title.text(), timeout=15_000)
    assert window.context.symbol == "XOM"
    assert chart.view.bar_count() == 300
    assert "rsi" in chart.view.subplot_names()
    # The crosshair readout shows the bar under the mouse.
    chart._show_readout(299)
    assert chart.readout_text().startswith("20")
    assert " C " in chart.readout_text()
    # Indicators come and go from the picker.
    chart.set_indicator("macd", True)
    assert "macd" in chart.view.subplot_names()
    assert "sma20:SMA(20)" in chart.view.overlay_names()
    chart.set_indicator("sma20", False)
    assert not [n for n in chart.view.overlay_names() if n.startswith("sma20:")]


def test_live_bar_updates_the_last_candle_and_appends(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    from datetime import timedelta

    import pandas as pd

    window = window_factory(filled_url)
    _ready(qtbot, window)
    chart = window.docks["chartPanel"].widget()
    last = pd.Timestamp(int(chart.view.pyramid.times_ns[-1]), tz="UTC").to_pydatetime()
    assert chart.update_live_bar("AAPL", "1d", last, 100, 500, 50, 120, 10)
    assert chart.view.pyramid.field("high")[-1] == 500
    assert chart.update_live_bar("AAPL", "1d", last + timedelta(days=1), 120, 121, 119, 120.5, 5)
    assert chart.view.bar_count() == 301
    assert not chart.update_live_bar("MSFT", "1d", last, 1, 1, 1, 1, 1)


def test_layout_and_columns_persist_across_restarts(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    window.docks["chartPanel"].hide()
    header = window.docks["watchlistPanel"].widget().table.horizontalHeader()
    header.hideSection(2)
    header.resizeSection(0, 123)
    window.close()
    second = window_factory(filled_url)
    _idle(qtbot, second)
    assert not second.docks["chartPanel"].isVisible()
    header2 = second.docks["watchlistPanel"].widget().table.horizontalHeader()
    assert header2.isSectionHidden(2)
    assert header2.sectionSize(0) == 123
    second.reset_layout()
    assert second.docks["chartPanel"].isVisible()
    assert not header2.isSectionHidden(2)


def test_shortcuts_trigger_their_actions(window_factory: Any, filled_url: str, qtbot: Any, tmp_path: Path) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    watch_table = window.docks["watchlistPanel"].widget().table
    assert QApplication.focusWidget() is watch_table
    QTest.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    chart = window.docks["chartPanel"].widget()
    assert chart.isAncestorOf(QApplication.focusWidget()) or QApplication.focusWidget() is chart.view
    before = chart.view.visible_range()
    QTest.keyClick(chart.view, Qt.Key.Key_Left)
    assert chart.view.visible_range()[0] < before[0]
    QTest.keyClick(chart.view, Qt.Key.Key_Home)
    assert chart.view.visible_range()[0] <= 0
    with qtbot.waitSignal(window.context.refreshRequested, timeout=2000):
        QTest.keyClick(window, Qt.Key.Key_F5)
    _idle(qtbot, window)
    # Ctrl+E exports the focused table; the export itself takes a path in tests.
    watch_table.setFocus()
    rows = window.export_focused_table(tmp_path / "watch.csv")
    assert rows == 3
    with (tmp_path / "watch.csv").open() as handle:
        exported = list(csv.reader(handle))
    assert exported[0][:8] == ["Symbol", "Last", "Chg %", "Bid", "Ask", "Volume", "Name", "Sector"]
    assert {r[0] for r in exported[1:]} == {"AAPL", "MSFT", "XOM"}
    # Ctrl+K opens the palette, which jumps to a symbol.
    QTest.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    from workstation.gui.dialogs.command_palette import CommandPalette

    palette = next(w for w in QApplication.topLevelWidgets() if isinstance(w, CommandPalette) and w.isVisible())
    palette.query.setText("msf")
    palette.run_current()
    assert window.context.symbol == "MSFT"
    # Ctrl+, opens the settings; the palette also runs any registered action by name.
    from workstation.gui.dialogs.settings_dialog import SettingsDialog

    QTest.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    settings = window.findChild(SettingsDialog)
    assert settings is not None
    assert settings.isVisible()
    settings.reject()
    palette = window.open_palette()
    palette.query.setText("reset layout")
    window.docks["chartPanel"].hide()
    palette.run_current()
    assert window.docks["chartPanel"].isVisible()


def test_customised_shortcut_is_saved_and_listed(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _idle(qtbot, window)
    window.shortcuts.set_shortcut("app.refresh", ["Ctrl+R"])
    dialog = window.open_shortcuts()
    texts = [dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())]
    assert "Refresh" in texts
    assert "Command palette…" in texts
    assert "Settings…" in texts
    dialog.reject()
    window.close()
    second = window_factory(filled_url)
    _idle(qtbot, second)
    assert second.shortcuts.get("app.refresh").sequences() == ["Ctrl+R"]
    with qtbot.waitSignal(second.context.refreshRequested, timeout=2000):
        QTest.keyClick(second, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    second.shortcuts.reset("app.refresh")
    assert second.shortcuts.get("app.refresh").sequences() == ["F5"]
    assert not second.shortcuts.conflicts()


def test_a_failing_worker_notifies_and_leaves_the_ui_usable(
    window_factory: Any, filled_url: str, qtbot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)

    def broken(progress: object, cancel: object) -> None:
        raise RuntimeError("disk on fire")

    with caplog.at_level(logging.ERROR), qtbot.waitSignal(window.context.jobs.jobFailed, timeout=5000):
        window.context.jobs.submit("Broken job", broken)
    toasts = window.notifications.active()
    assert any("Broken job failed: RuntimeError: disk on fire" in t.message for t in toasts)
    assert any(t.level == "error" and t.isVisible() for t in toasts)
    assert any("disk on fire" in r.getMessage() or r.exc_info for r in caplog.records)
    # Still usable: selecting another symbol loads its chart.
    watchlist = window.docks["watchlistPanel"].widget()
    chart = window.docks["chartPanel"].widget()
    watchlist.search.setText("MSFT")
    watchlist.table.selectRow(0)
    qtbot.waitUntil(lambda: chart.title.text().startswith("MSFT ·"), timeout=10_000)


def test_empty_database_offers_demo_csv_and_download(
    window_factory: Any, sqlite_url: str, qtbot: Any, tmp_path: Path
) -> None:
    window = window_factory(sqlite_url)
    qtbot.waitUntil(lambda: window.onboarding.isVisible(), timeout=10_000)
    texts = [a.text() for a in window.onboarding.actions()]
    assert {"Load demo universe", "Import CSV…", "Download…"} <= set(texts)
    watchlist = window.docks["watchlistPanel"].widget()
    assert watchlist.model.rowCount() == 0
    # A CSV with one bad row: the good rows are stored, the reject is reported with its row, the
    # features are built as a follow-up job and the watchlist fills — all without a subprocess.
    path = tmp_path / "ACME.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        + "".join(
            f"2024-{1 + i // 28:02d}-{1 + i % 28:02d},{100 + i},{101 + i},{99 + i},{100.5 + i},{100.5 + i},1000\n"
            for i in range(60)
        )
        + "2024-03-29,10,5,1,2,2,100\n"
    )
    with qtbot.waitSignal(window.onboarding.loadFinished, timeout=60_000) as finished:
        handle = window.onboarding.import_csv(str(path))
    assert finished.args == [True]
    messages = [t.message for t in window.notifications.active()] + [window.statusBar().currentMessage()]
    assert any("Import ACME.csv" in m and "1 rows rejected (row " in m for m in messages), messages
    qtbot.waitUntil(lambda: watchlist.model.rowCount() == 1, timeout=15_000)
    qtbot.waitUntil(lambda: window.onboarding.isHidden(), timeout=15_000)
    _idle(qtbot, window)
    row = watchlist.model.row_at(0)
    assert row.symbol == "ACME" and row.bars == 60
    assert row.feature_records == 60
    assert handle.correlation_id.startswith("job-")


def test_a_brand_new_database_gets_its_schema(window_factory: Any, tmp_path: Path, qtbot: Any) -> None:
    window = window_factory(f"sqlite:///{tmp_path / 'blank.db'}")
    qtbot.waitUntil(lambda: "0 symbols" in window.database_label.text(), timeout=20_000)
    assert window.onboarding.isVisible()
    assert not window.notifications.active()


def test_a_foreign_database_is_reported_not_changed(window_factory: Any, tmp_path: Path, qtbot: Any) -> None:
    import sqlite3

    path = tmp_path / "foreign.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE other (x INTEGER)")
    window = window_factory(f"sqlite:///{path}")
    qtbot.waitUntil(lambda: "no schema" in window.database_label.text(), timeout=10_000)
    assert any("workstation db upgrade" in t.message for t in window.notifications.active())
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["other"]


def test_interval_switch_and_markers(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from sqlalchemy import insert

    from workstation.db.engine import create_db_engine
    from workstation.db.models import MarketData, Model, Prediction
    from workstation.db.partitions import ensure_partitions

    engine = create_db_engine(filled_url)
    start = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
    ensure_partitions(engine, "market_data", [start, start + timedelta(days=30)])
    with engine.begin() as conn:
        conn.execute(
            insert(MarketData),
            [
                {
                    "symbol": "AAPL",
                    "interval": "1h",
                    "timestamp": start + timedelta(hours=i),
                    "open": Decimal(100 + i),
                    "high": Decimal(102 + i),
                    "low": Decimal(99 + i),
                    "close": Decimal(101 + i),
                    "volume": 1000,
                    "source": "test",
                }
                for i in range(50)
            ],
        )
        conn.execute(insert(Model).values(model_id="m", name="m", version="1", model_type="rf"))
        conn.execute(
            insert(Prediction).values(
                prediction_id="p",
                model_id="m",
                symbol="AAPL",
                timestamp=start + timedelta(hours=10, minutes=5),
                prediction_type="direction",
                prediction_value=Decimal(1),
                confidence=Decimal("0.8"),
            )
        )
    engine.dispose()
    window = window_factory(filled_url)
    _ready(qtbot, window)
    chart = window.docks["chartPanel"].widget()
    assert [chart.interval.itemText(i) for i in range(chart.interval.count())] == ["1d", "1h"]
    chart.interval.setCurrentText("1h")
    chart.reload()
    qtbot.waitUntil(lambda: "1h · 50 bars" in chart.title.text(), timeout=10_000)
    assert chart.view.marker_count() == 1
    assert chart.view._markers[0].data[0]["data"].startswith("m: direction 1")


def test_gui_command_starts_and_quits_headless(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WORKSTATION_DATA_DIR": str(tmp_path)}
    started = subprocess.run(
        [sys.executable, "-m", "workstation", "gui", "--quit-after", "2"], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr[-3000:]
    assert (tmp_path / "gui.ini").exists()
