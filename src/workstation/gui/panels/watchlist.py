"""watchlistPanel: every symbol (or one named list) with its last close, change, freshness and coverage.

Loads in a worker (dashboard.watchlist), sorts on the raw values, filters on a search box, a sector
and a named list, and drives the rest of the window: the current row is the symbol every panel
follows (``WorkstationContext.set_symbol``); the selected rows — several with Ctrl/Shift — are
``context.selected_symbols`` (training and strategies read them; ``selectedSymbolsChanged`` says when
they change). A symbol chosen elsewhere (the command palette) is selected here too, the filters
making room for it when they hid it. Search text and sector are remembered; so is the named list.
Live data: the window's feed service streams the shown symbols (``live.set_symbols`` follows every
load and filter change) and its coalesced ticks update last, change, bid, ask and volume in place.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.dashboard.watchlist import WatchlistRow, load_watchlist
from workstation.dashboard.watchlists import WatchlistStore
from workstation.gui.context import WorkstationContext
from workstation.gui.panels.watchlist_lists import NamedLists
from workstation.gui.panels.watchlist_model import ALL_SECTORS, WatchlistFilter, WatchlistModel
from workstation.jobs import CancelToken, ProgressCallback

SEARCH_KEY = "watchlist/search"
SECTOR_KEY = "watchlist/sector"
_WATCHLIST_INTERVAL = "1d"  # the rows' last close and last bar are daily: shown as session dates


class WatchlistPanel(QWidget):
    symbolSelected = Signal(str)
    selectionChanged = Signal(list)  # the selected symbols (list[str]), in table order

    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._following = False
        self._picking = False
        self._hidden_note = ""
        self._streamed: list[str] = []
        display = context.display_time
        self.model = WatchlistModel(lambda when: display.format(when, daily=True), self)
        display.changed.connect(self.model.time_format_changed)
        self.proxy = WatchlistFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit(placeholderText="Search symbol or name…")
        self.search.setObjectName("watchlistSearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.sector = QComboBox()
        self.sector.setObjectName("watchlistSector")
        self.sector.addItem(ALL_SECTORS)
        self.sector.currentTextChanged.connect(self._sector_changed)
        self.lists = NamedLists(WatchlistStore(), self.selected_symbols, self)
        self.lists.changed.connect(self._list_changed)
        self.proxy.set_symbols(self.lists.symbols())
        self.table = QTableView()
        self.table.setObjectName("watchlistTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.proxy.rowsInserted.connect(lambda *_: self._show_counts())
        self.proxy.rowsRemoved.connect(lambda *_: self._show_counts())
        self.proxy.modelReset.connect(self._show_counts)
        self.proxy.layoutChanged.connect(self._show_counts)
        self.status = QLabel()
        self.status.setObjectName("watchlistStatus")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.search, 3)
        top.addWidget(self.sector, 2)
        lists = QHBoxLayout()
        lists.addWidget(self.lists.picker, 1)
        lists.addWidget(self.lists.menu_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(lists)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        self.setFocusProxy(self.table)
        self.search.setText(str(context.settings.value(SEARCH_KEY, "")))  # the filters of the last session
        self._saved_sector = str(context.settings.value(SECTOR_KEY, ALL_SECTORS))
        context.symbolChanged.connect(self.select_symbol)
        context.refreshRequested.connect(self.refresh)
        # The window announces the database once it is known to be usable (and again after a switch).
        context.databaseChanged.connect(self.refresh)
        context.live.ticksReady.connect(self.model.apply_ticks)
        for changed in (self.proxy.modelReset, self.proxy.rowsInserted, self.proxy.rowsRemoved):
            changed.connect(self._stream_shown)
        self.proxy.layoutChanged.connect(self._stream_shown)

    # -- loading ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        engine = self._context.engine
        self.status.setText("Loading…")

        def job(progress: ProgressCallback, cancel: CancelToken) -> list[WatchlistRow]:
            return load_watchlist(engine, _WATCHLIST_INTERVAL)

        self._context.jobs.submit("Load watchlist", job, on_success=self._set_rows, on_failure=self._failed)

    def _failed(self, message: str) -> None:
        self.status.setText(f"Could not load the watchlist: {message}")

    def _set_rows(self, rows: list[WatchlistRow]) -> None:
        selected = self._context.symbol
        first_load = self.model.rowCount() == 0
        self.model.set_rows(rows)
        if first_load and rows and not self._context.settings.contains("columns/watchlistPanel/watchlistTable"):
            self.table.resizeColumnsToContents()
            headers = [self.model.headerData(c, Qt.Orientation.Horizontal) for c in range(self.model.columnCount())]
            name = headers.index("Name")  # long company names must not push the rest out of sight
            self.table.setColumnWidth(name, min(self.table.columnWidth(name), 150))
        self._context.symbols = [r.symbol for r in rows]
        self._context.symbol_names = {r.symbol: r.company_name for r in rows if r.company_name}
        sectors = sorted({r.sector for r in rows if r.sector})
        current = self.sector.currentText() if self.sector.count() > 1 else self._saved_sector
        self.sector.blockSignals(True)
        self.sector.clear()
        self.sector.addItems([ALL_SECTORS, *sectors])
        self.sector.setCurrentText(current if current in sectors else ALL_SECTORS)
        self.sector.blockSignals(False)
        self.proxy.set_sector(None if self.sector.currentText() == ALL_SECTORS else self.sector.currentText())
        if not selected:
            # The symbol of the last session, else the first with bars.
            remembered = self._context.remembered_symbol()
            known = {r.symbol for r in rows}
            with_bars = [r.symbol for r in rows if r.bars]
            selected = remembered if remembered in known else (with_bars[0] if with_bars else "")
            if selected:
                self._context.set_symbol(selected)
                return  # symbolChanged selects it here
        if selected:
            self.select_symbol(selected)
        self._show_counts()

    def shown_symbols(self) -> list[str]:
        return [str(self.proxy.index(row, 0).data()) for row in range(self.proxy.rowCount())]

    def _stream_shown(self, *_args: object) -> None:
        """The live feed streams what the table shows (in its order: the first ones win a symbol limit)."""
        shown = self.shown_symbols()
        if shown != self._streamed:
            self._streamed = shown
            self._context.live.set_symbols(shown)

    # -- filters ------------------------------------------------------------------------------------------
    def _search_changed(self, text: str) -> None:
        self.proxy.set_text(text)
        self._context.settings.setValue(SEARCH_KEY, text)
        self._show_counts()

    def _sector_changed(self, text: str) -> None:
        self.proxy.set_sector(None if text == ALL_SECTORS else text)
        if self.sector.count() > 1:  # not while the list of sectors is being filled
            self._context.settings.setValue(SECTOR_KEY, text)
            self._saved_sector = text
        self._show_counts()

    def _list_changed(self, symbols: Any) -> None:
        self.proxy.set_symbols(symbols)
        self._show_counts()

    def _show_counts(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        with_bars = sum(1 for r in range(total) if self.model.row_at(r).bars)
        parts = [f"{shown} of {total} symbols shown" if shown != total else f"{total} symbols"]
        parts.append(f"{with_bars} with bars")
        selected = len(self.selected_symbols())
        if selected > 1:
            parts.append(f"{selected} selected")
        text = " · ".join(parts)
        self.status.setText(f"{text}\n{self._hidden_note}" if self._hidden_note else text)

    # -- selection ----------------------------------------------------------------------------------------
    def selected_symbols(self) -> list[str]:
        """The selected symbols in table order (the current symbol alone with a single selection)."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [str(self.proxy.index(row, 0).data()) for row in rows]

    def select_symbol(self, symbol: str) -> None:
        """Follow a symbol chosen elsewhere (palette, start-up): not a click of the user in this table."""
        if self._picking:
            return  # the user's own click (Ctrl/Shift may be building a multi-selection): leave it alone
        row = self._proxy_row(symbol)
        if row is None and self.proxy.filtered and self._source_row(symbol) is not None:
            # Hidden by the search or the sector: they make room for it (a list is the user's choice).
            self.search.clear()
            self.sector.setCurrentText(ALL_SECTORS)
            row = self._proxy_row(symbol)
        self._hidden_note = ""
        if row is None:
            self.table.clearSelection()  # never leave the previous symbol highlighted
            self.table.selectionModel().setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.Clear)
            if self.lists.active and self._source_row(symbol) is not None:
                self._hidden_note = f"{symbol} (on the chart) is not in “{self.lists.active}”."
            self._show_counts()
            return
        index = self.proxy.index(row, 0)
        # A multi-selection that holds the symbol as its current row stays (the user built it).
        if self.table.currentIndex().row() != row or symbol not in self.selected_symbols():
            self._following = True
            try:
                # Explicit flags: the view's own would read the keyboard (Ctrl held: toggle, keeping the old row).
                flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                self.table.selectionModel().setCurrentIndex(index, flags)
            finally:
                self._following = False
        self.table.scrollTo(index)
        self._show_counts()

    def _proxy_row(self, symbol: str) -> int | None:
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data() == symbol:
                return row
        return None

    def _source_row(self, symbol: str) -> int | None:
        for row in range(self.model.rowCount()):
            if self.model.row_at(row).symbol == symbol:
                return row
        return None

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        symbol = str(self.proxy.index(current.row(), 0).data())
        self.symbolSelected.emit(symbol)
        if self._following:
            self._context.set_symbol(symbol)
            return
        # The user picked a symbol: one recorded action, and the chart loads it starts share its id.
        self._picking = True
        try:
            self._context.perform(
                "watchlist/select", lambda: self._context.set_symbol(symbol), metadata={"symbol": symbol}
            )
        finally:
            self._picking = False

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        symbols = self.selected_symbols()
        self._context.set_selected_symbols(symbols)
        self.selectionChanged.emit(symbols)
        self._show_counts()

    def _context_menu(self, point: QPoint) -> None:
        menu = QMenu(self)
        self.lists.fill_selection_actions(menu)
        menu.addAction("New list from selection…").triggered.connect(self.lists.ask_new)
        menu.popup(self.table.viewport().mapToGlobal(point))
