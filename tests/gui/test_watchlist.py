"""Issue 16, item 4: multi-select, counts, session dates, palette jumps and names, named watchlists."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog, QMessageBox
from sqlalchemy import insert

from workstation.db.engine import create_db_engine
from workstation.db.models import MarketData, StockInfo

pytestmark = pytest.mark.gui


def _ready(qtbot: Any, window: Any) -> Any:
    watchlist = window.docks["watchlistPanel"].widget()
    qtbot.waitUntil(lambda: watchlist.model.rowCount() >= 3 and window.context.symbol != "", timeout=15_000)
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)
    return watchlist


def _row_of(watchlist: Any, symbol: str) -> int:
    return next(r for r in range(watchlist.proxy.rowCount()) if watchlist.proxy.index(r, 0).data() == symbol)


def _ctrl_click(watchlist: Any, symbol: str) -> None:
    rect = watchlist.table.visualRect(watchlist.proxy.index(_row_of(watchlist, symbol), 0))
    QTest.mouseClick(
        watchlist.table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, rect.center()
    )
    # QTest leaves Ctrl "held" for the application afterwards; let it go as a user would.
    QTest.keyRelease(watchlist.table, Qt.Key.Key_Control)


def test_multi_select_is_published_for_training_and_strategies(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    watchlist = _ready(qtbot, window)
    assert window.context.selected_symbols == ["AAPL"]
    with qtbot.waitSignal(window.context.selectedSymbolsChanged) as changed:
        _ctrl_click(watchlist, "XOM")
    assert changed.args[0] == ["AAPL", "XOM"]
    assert watchlist.selected_symbols() == ["AAPL", "XOM"] == window.context.selected_symbols
    assert "2 selected" in watchlist.status.text()
    assert window.context.symbol == "XOM"  # the row clicked last is the one the chart shows


def test_footer_counts_what_is_shown(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    watchlist = _ready(qtbot, window)
    watchlist.search.setText("exxon")
    assert watchlist.status.text().startswith("1 of 3 symbols shown")
    watchlist.search.clear()
    watchlist.sector.setCurrentText("Technology")
    assert watchlist.status.text().startswith("2 of 3 symbols shown")
    watchlist.sector.setCurrentText("All sectors")
    assert watchlist.status.text().startswith("3 symbols · 3 with bars")


def test_daily_last_bar_is_the_session_date_in_exchange_time(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    engine = create_db_engine(filled_url)
    with engine.begin() as conn:
        conn.execute(insert(StockInfo).values(symbol="MID", company_name="Midnight Bars Inc.", sector="Energy"))
        conn.execute(
            insert(MarketData).values(
                symbol="MID", interval="1d", timestamp=datetime(2026, 10, 30, 4, 0, tzinfo=UTC),  # midnight New York
                open=Decimal(10), high=Decimal(11), low=Decimal(9), close=Decimal(10), volume=100, source="test",
            )
        )  # fmt: skip
    engine.dispose()
    window = window_factory(filled_url)
    watchlist = _ready(qtbot, window)
    column = [watchlist.model.headerData(c, Qt.Orientation.Horizontal) for c in range(10)].index("Last bar")
    shown = {watchlist.proxy.index(r, 0).data(): watchlist.proxy.index(r, column).data() for r in range(4)}
    assert shown["MID"] == "2026-10-30"
    assert all(":" not in text for text in shown.values()), shown  # the fixture's 21:00 UTC closes too


def test_selection_follows_a_palette_jump_even_through_a_filter(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    watchlist = _ready(qtbot, window)
    watchlist.search.setText("exxon")
    watchlist.table.selectRow(0)
    qtbot.waitUntil(lambda: window.context.symbol == "XOM", timeout=5_000)
    palette = window.open_palette()
    palette.query.setText("aapl")
    palette.run_current()
    assert window.context.symbol == "AAPL"
    assert watchlist.selected_symbols() == ["AAPL"]  # not XOM still highlighted
    assert watchlist.proxy.index(watchlist.table.currentIndex().row(), 0).data() == "AAPL"


def test_palette_matches_company_names(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ready(qtbot, window)
    palette = window.open_palette()
    palette.query.setText("microsoft")
    assert palette.results.item(0).text() == "Go to MSFT — Microsoft Corporation"
    palette.run_current()
    assert window.context.symbol == "MSFT"
    palette = window.open_palette()
    palette.query.setText("exxon mobil")
    assert palette.results.item(0).text().startswith("Go to XOM")


def test_named_watchlists_create_switch_rename_delete_and_persist(
    window_factory: Any, filled_url: str, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workstation.dashboard.watchlists import WatchlistStore

    window = window_factory(filled_url)
    watchlist = _ready(qtbot, window)
    lists = watchlist.lists
    _ctrl_click(watchlist, "XOM")
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Energy & Apple", True)))
    lists.ask_new()  # "New list from selection…"
    assert lists.active == "Energy & Apple"
    assert watchlist.proxy.rowCount() == 2
    assert lists.picker.currentText() == "Energy & Apple (2)"
    assert watchlist.status.text().startswith("2 of 3 symbols shown")
    # Add from the context-menu actions, then remove.
    watchlist.lists.switch(None)
    assert watchlist.proxy.rowCount() == 3
    watchlist.table.selectRow(_row_of(watchlist, "MSFT"))
    lists.add("Energy & Apple", watchlist.selected_symbols())
    assert WatchlistStore().symbols("Energy & Apple") == ["AAPL", "XOM", "MSFT"]
    lists.switch("Energy & Apple")
    watchlist.table.selectionModel().select(
        watchlist.proxy.index(_row_of(watchlist, "AAPL"), 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    lists.remove("Energy & Apple", watchlist.selected_symbols())
    assert sorted(watchlist.proxy.index(r, 0).data() for r in range(watchlist.proxy.rowCount())) == ["MSFT", "XOM"]
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Mine", True)))
    lists.ask_rename()
    assert lists.active == "Mine" and WatchlistStore().names() == ["Mine"]
    window.close()
    # Kept across restarts, the list that was shown included.
    second = window_factory(filled_url)
    watchlist2 = _ready(qtbot, second)
    assert watchlist2.lists.active == "Mine" and watchlist2.proxy.rowCount() == 2
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    watchlist2.lists.ask_delete()
    assert watchlist2.lists.active is None and watchlist2.proxy.rowCount() == 3
    assert WatchlistStore().names() == []


def test_a_palette_jump_outside_the_shown_list_clears_the_old_highlight(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    watchlist = _ready(qtbot, window)
    watchlist.lists.create("Tech", ["AAPL", "MSFT"])
    window.context.set_symbol("XOM")
    assert watchlist.selected_symbols() == []
    assert "XOM (on the chart) is not in “Tech”" in watchlist.status.text()


def test_table_context_menu_offers_the_lists(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    watchlist = _ready(qtbot, window)
    watchlist.lists.create("Tech", ["AAPL"])
    watchlist.lists.switch(None)
    watchlist.table.selectRow(_row_of(watchlist, "XOM"))
    from PySide6.QtWidgets import QMenu

    menu = QMenu()
    watchlist.lists.fill_selection_actions(menu)
    texts = [a.text() for a in menu.actions()]
    assert "Add 1 selected to" in texts
