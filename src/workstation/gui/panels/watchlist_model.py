"""The watchlist's table model and its filter (search text, sector, named list).

Rows sort on their raw values (missing values last); the "Last bar" column shows a daily bar as its
session date in exchange time and an intraday bar in the display zone (``TimeFormat``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from workstation.dashboard.watchlist import WatchlistRow
from workstation.gui.price_format import format_price

TimeFormat = Callable[[datetime], str]
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ALL_SECTORS = "All sectors"
AnyIndex = QModelIndex | QPersistentModelIndex

# (header, attribute, formatter)
# The price and its change next to the symbol: on a laptop's narrow watchlist they are what shows.
_COLUMNS: list[tuple[str, str]] = [
    ("Symbol", "symbol"),
    ("Last", "last_close"),
    ("Chg %", "change_pct"),
    ("Name", "company_name"),
    ("Sector", "sector"),
    ("Last bar", "last_bar"),
    ("Bars", "bars"),
    ("Features", "feature_records"),
    ("RSI cov.", "rsi_coverage"),
    ("MA cov.", "ma_coverage"),
]
_NUMERIC = {"last_close", "change_pct", "bars", "feature_records", "rsi_coverage", "ma_coverage"}


def _display(attribute: str, value: Any, when: TimeFormat) -> str:
    if value is None:
        return "—"
    if attribute == "last_close":
        return format_price(value)
    if attribute == "change_pct":
        return f"{value:+.2f}%"
    if attribute in ("rsi_coverage", "ma_coverage"):
        return f"{value * 100:.0f}%"
    if attribute in ("bars", "feature_records"):
        return f"{value:,}"
    if isinstance(value, datetime):
        return when(value)
    return str(value)


class WatchlistModel(QAbstractTableModel):
    def __init__(self, when: TimeFormat, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[WatchlistRow] = []
        self._when = when

    def time_format_changed(self) -> None:
        """The display zone changed: the time column is shown anew."""
        column = [a for _h, a in _COLUMNS].index("last_bar")
        if self._rows:
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

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
            return _display(attribute, value, self._when)
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
    """Matches the search text against symbol and name, an optional sector and an optional named list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._sector: str | None = None
        self._symbols: frozenset[str] | None = None
        self.setSortRole(SORT_ROLE)

    def set_symbols(self, symbols: frozenset[str] | None) -> None:
        """Only these symbols (a named watchlist), or every symbol (None)."""
        self.beginFilterChange()
        self._symbols = symbols
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def filtered(self) -> bool:
        return bool(self._text) or self._sector is not None or self._symbols is not None

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
        if self._symbols is not None and row.symbol not in self._symbols:
            return False
        if self._sector and row.sector != self._sector:
            return False
        if not self._text:
            return True
        return self._text in row.symbol.lower() or self._text in (row.company_name or "").lower()
