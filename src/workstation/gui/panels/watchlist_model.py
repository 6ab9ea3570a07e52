"""The watchlist's table model and its filter (search text, sector, named list).

Rows sort on their raw values (missing values last); the "Last bar" column shows a daily bar as its
session date in exchange time and an intraday bar in the display zone (``TimeFormat``).

Live data (``apply_ticks``, from the window's feed service) updates last, change, bid, ask and volume
in place: one ``dataChanged`` over the rows that changed, and a brief flash (green up, red down) on the
cells whose value moved, cleared by one timer for all rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from workstation.dashboard.watchlist import WatchlistRow
from workstation.gui.live_book import SymbolTick
from workstation.gui.price_format import format_price
from workstation.market.calendar import EXCHANGE_TZ

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
    ("Bid", "bid"),
    ("Ask", "ask"),
    ("Volume", "volume"),
    ("Name", "company_name"),
    ("Sector", "sector"),
    ("Last bar", "last_bar"),
    ("Bars", "bars"),
    ("Features", "feature_records"),
    ("RSI cov.", "rsi_coverage"),
    ("MA cov.", "ma_coverage"),
]
_NUMERIC = {"last_close", "change_pct", "bid", "ask", "volume", "bars", "feature_records", "rsi_coverage",
            "ma_coverage"}  # fmt: skip
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.EditRole,
        SORT_ROLE,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ToolTipRole,
    }
)
_LIVE = ("last_close", "change_pct", "bid", "ask", "volume")  # the columns a tick can change
FLASH_SECONDS = 0.4
_FLASH_UP, _FLASH_DOWN = QColor(38, 166, 154, 90), QColor(239, 83, 80, 90)


@dataclass(slots=True)
class _Live:
    """A row's live values (None: not streamed yet, the stored row's value shows)."""

    last: float | None = None
    change_pct: float | None = None
    bid: float | None = None
    ask: float | None = None
    volume: int | None = None
    flash_until: float = 0.0
    flash_up: bool = True
    flash_columns: tuple[str, ...] = ()


_NEW_YORK = ZoneInfo(EXCHANGE_TZ)


def _ny_date(moment: datetime) -> date:
    """The New York date of ``moment`` (zoneinfo: a tick's cost, where pandas costs tens of µs)."""
    return moment.astimezone(_NEW_YORK).date()


def _display(attribute: str, value: Any, when: TimeFormat) -> str:
    if value is None:
        return "—"
    if attribute in ("last_close", "bid", "ask"):
        return format_price(value)
    if attribute == "volume":
        return f"{value:,}"
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
        self._row_of: dict[str, int] = {}
        self._live: dict[str, _Live] = {}
        self._columns = {attribute: i for i, (_h, attribute) in enumerate(_COLUMNS)}
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flashes)
        self.live_updates = 0

    def time_format_changed(self) -> None:
        """The display zone changed: the time column is shown anew."""
        column = [a for _h, a in _COLUMNS].index("last_bar")
        if self._rows:
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

    def set_rows(self, rows: list[WatchlistRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._row_of = {row.symbol: i for i, row in enumerate(self._rows)}
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

    # -- live values --------------------------------------------------------------------------------------
    def apply_ticks(self, ticks: Iterable[SymbolTick]) -> int:
        """Show the feed's newest values; returns how many rows changed (one dataChanged for all)."""
        now = time.monotonic()
        first, last = len(self._rows), -1
        for tick in ticks:
            row = self._row_of.get(tick.symbol)
            if row is None:
                continue
            live = self._live.get(tick.symbol) or _Live()
            before = (live.last, live.bid, live.ask, live.volume)
            if tick.last is not None:
                previous = live.last if live.last is not None else self._rows[row].last_close
                live.last = tick.last
                live.change_pct = self._change(self._rows[row], tick)
                moved = previous is not None and tick.last != previous
                if moved:
                    live.flash_up = tick.last > previous  # type: ignore[operator]
                    live.flash_until = now + FLASH_SECONDS
                    live.flash_columns = ("last_close", "change_pct")
            if tick.bid is not None:
                live.bid = tick.bid
            if tick.ask is not None:
                live.ask = tick.ask
            live.volume = tick.volume if tick.volume is not None else live.volume
            self._live[tick.symbol] = live
            if before != (live.last, live.bid, live.ask, live.volume):
                first, last = min(first, row), max(last, row)
        if last < 0:
            return 0
        self.live_updates += 1
        self.dataChanged.emit(self.index(first, self._columns["last_close"]), self.index(last, self._columns["volume"]))
        if not self._flash_timer.isActive():
            self._flash_timer.start(int(FLASH_SECONDS * 1000))
        return last - first + 1

    @staticmethod
    def _change(row: WatchlistRow, tick: SymbolTick) -> float | None:
        """Against the previous session's close: the stored row's own when the tick is of its last bar's
        session (a replay of it, or today's bar stored already), else the stored last close."""
        if row.last_close is None or tick.last is None:
            return None
        reference: float | None = row.last_close
        when = tick.session_time
        if when is not None and row.last_bar is not None and _ny_date(when) <= _ny_date(row.last_bar):
            reference = row.last_close / (1 + row.change_pct / 100) if row.change_pct is not None else None
        return (tick.last / reference - 1.0) * 100.0 if reference else None

    def _end_flashes(self) -> None:
        now = time.monotonic()
        rows = [self._row_of[s] for s, live in self._live.items() if live.flash_columns and live.flash_until <= now]
        for live in self._live.values():
            if live.flash_columns and live.flash_until <= now:
                live.flash_columns = ()
        if rows:
            column = self._columns["last_close"]
            self.dataChanged.emit(self.index(min(rows), column), self.index(max(rows), column + 1))
        pending = [live.flash_until for live in self._live.values() if live.flash_columns]
        if pending:
            self._flash_timer.start(max(10, int((min(pending) - now) * 1000)))

    def live_value(self, symbol: str, attribute: str) -> Any:
        live = self._live.get(symbol)
        value = getattr(live, "last" if attribute == "last_close" else attribute) if live is not None else None
        return value

    def flashing(self, symbol: str) -> bool:
        live = self._live.get(symbol)
        return live is not None and bool(live.flash_columns) and live.flash_until > time.monotonic()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Views ask for a dozen roles per cell and paint: unanswered roles leave before any work (a
        # live watchlist repaints many times a second).
        if role not in _ROLES or not index.isValid():
            return None
        row = self._rows[index.row()]
        attribute = _COLUMNS[index.column()][1]
        live = self._live.get(row.symbol) if attribute in _LIVE else None
        if live is not None:
            value = getattr(live, "last" if attribute == "last_close" else attribute)
            if value is None and attribute in ("last_close", "change_pct"):
                value = getattr(row, attribute)
            flashing = attribute in live.flash_columns and live.flash_until > time.monotonic()
            if role == Qt.ItemDataRole.BackgroundRole and flashing:
                return _FLASH_UP if live.flash_up else _FLASH_DOWN
        else:
            value = getattr(row, attribute, None)
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
