"""watchlistPanel: every symbol with its last close, change, freshness and feature coverage.

Loads in a worker (dashboard.watchlist), sorts on the raw values, filters on a search box and a
sector, and drives the rest of the window through ``WorkstationContext.set_symbol``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.dashboard.watchlist import WatchlistRow, load_watchlist
from workstation.gui.context import WorkstationContext
from workstation.jobs import CancelToken, ProgressCallback

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_ALL_SECTORS = "All sectors"
AnyIndex = QModelIndex | QPersistentModelIndex

# (header, attribute, formatter)
_COLUMNS: list[tuple[str, str]] = [
    ("Symbol", "symbol"),
    ("Name", "company_name"),
    ("Sector", "sector"),
    ("Last", "last_close"),
    ("Chg %", "change_pct"),
    ("Last bar", "last_bar"),
    ("Bars", "bars"),
    ("Features", "feature_records"),
    ("RSI cov.", "rsi_coverage"),
    ("MA cov.", "ma_coverage"),
]
_NUMERIC = {"last_close", "change_pct", "bars", "feature_records", "rsi_coverage", "ma_coverage"}


def _display(attribute: str, value: Any) -> str:
    if value is None:
        return "—"
    if attribute == "last_close":
        return f"{value:,.2f}"
    if attribute == "change_pct":
        return f"{value:+.2f}%"
    if attribute in ("rsi_coverage", "ma_coverage"):
        return f"{value * 100:.0f}%"
    if attribute in ("bars", "feature_records"):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    return str(value)


class WatchlistModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[WatchlistRow] = []

    def set_rows(self, rows: list[WatchlistRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> WatchlistRow:
        return self._rows[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _COLUMNS[section][0]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        attribute = _COLUMNS[index.column()][1]
        value = getattr(row, attribute)
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(attribute, value)
        if role in (SORT_ROLE, Qt.ItemDataRole.EditRole):
            if value is None:  # missing values sort last in ascending order
                return float("inf") if attribute in _NUMERIC else ""
            return value.isoformat() if isinstance(value, datetime) else value
        if role == Qt.ItemDataRole.TextAlignmentRole and attribute in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and attribute == "change_pct" and value is not None:
            return QColor("#26a69a") if value >= 0 else QColor("#ef5350")
        if role == Qt.ItemDataRole.ToolTipRole and attribute == "symbol":
            return f"{row.symbol} — {row.company_name or ''} ({row.exchange or 'exchange unknown'})"
        return None


class WatchlistFilter(QSortFilterProxyModel):
    """Matches the search text against symbol and name, and an optional sector."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._sector: str | None = None
        self.setSortRole(SORT_ROLE)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_sector(self, sector: str | None) -> None:
        self.beginFilterChange()
        self._sector = sector
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, WatchlistModel)
        row = model.row_at(source_row)
        if self._sector and row.sector != self._sector:
            return False
        if not self._text:
            return True
        return self._text in row.symbol.lower() or self._text in (row.company_name or "").lower()


class WatchlistPanel(QWidget):
    symbolSelected = Signal(str)

    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._following = False
        self.model = WatchlistModel(self)
        self.proxy = WatchlistFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QLineEdit(placeholderText="Search symbol or name…")
        self.search.setObjectName("watchlistSearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.sector = QComboBox()
        self.sector.setObjectName("watchlistSector")
        self.sector.addItem(_ALL_SECTORS)
        self.sector.currentTextChanged.connect(
            lambda text: self.proxy.set_sector(None if text == _ALL_SECTORS else text)
        )
        self.table = QTableView()
        self.table.setObjectName("watchlistTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.status = QLabel()
        self.status.setObjectName("watchlistStatus")
        top = QHBoxLayout()
        top.addWidget(self.search, 3)
        top.addWidget(self.sector, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        self.setFocusProxy(self.table)
        context.symbolChanged.connect(self.select_symbol)
        context.refreshRequested.connect(self.refresh)
        # The window announces the database once it is known to be usable (and again after a switch).
        context.databaseChanged.connect(self.refresh)

    def refresh(self) -> None:
        engine = self._context.engine
        self.status.setText("Loading…")

        def job(progress: ProgressCallback, cancel: CancelToken) -> list[WatchlistRow]:
            return load_watchlist(engine)

        self._context.jobs.submit("Load watchlist", job, on_success=self._set_rows, on_failure=self._failed)

    def _failed(self, message: str) -> None:
        self.status.setText(f"Could not load the watchlist: {message}")

    def _set_rows(self, rows: list[WatchlistRow]) -> None:
        selected = self._context.symbol
        first_load = self.model.rowCount() == 0
        self.model.set_rows(rows)
        if first_load and rows and not self._context.settings.contains("columns/watchlistPanel/watchlistTable"):
            self.table.resizeColumnsToContents()
            self.table.setColumnWidth(1, min(self.table.columnWidth(1), 150))
        self._context.symbols = [r.symbol for r in rows]
        sectors = sorted({r.sector for r in rows if r.sector})
        current = self.sector.currentText()
        self.sector.blockSignals(True)
        self.sector.clear()
        self.sector.addItems([_ALL_SECTORS, *sectors])
        self.sector.setCurrentText(current if current in sectors else _ALL_SECTORS)
        self.sector.blockSignals(False)
        with_data = sum(1 for r in rows if r.bars)
        self.status.setText(f"{len(rows)} symbols, {with_data} with bars")
        if selected:
            self.select_symbol(selected)
        elif rows and with_data:
            first = next(r.symbol for r in rows if r.bars)
            self._context.set_symbol(first)

    def select_symbol(self, symbol: str) -> None:
        """Follow a symbol chosen elsewhere (palette, start-up): not a click of the user in this table."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data() == symbol:
                if self.table.currentIndex().row() != row:
                    self._following = True
                    try:
                        self.table.setCurrentIndex(index)
                    finally:
                        self._following = False
                    self.table.scrollTo(index)
                return

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        symbol = str(self.proxy.index(current.row(), 0).data())
        self.symbolSelected.emit(symbol)
        if self._following:
            self._context.set_symbol(symbol)
            return
        # The user picked a symbol: one recorded action, and the chart loads it starts share its id.
        self._context.perform("watchlist/select", lambda: self._context.set_symbol(symbol), metadata={"symbol": symbol})
