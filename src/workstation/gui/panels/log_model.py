"""The log monitor's table model: activity rows, appended in batches, capped, coloured by severity.

Filtering happens in the database (query_activity), so the model holds only what is shown and needs
no proxy. The cap keeps memory and view updates bounded however long the window runs: the oldest
rows leave as new ones arrive, in one removal per batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from workstation.monitoring.query import ActivityEntry

AnyIndex = QModelIndex | QPersistentModelIndex
MAX_ROWS = 5000
COLUMNS = ("Time", "Severity", "Source", "Component", "Message", "Correlation id")
SOURCE_LABELS = {
    "system_log": "log",
    "trading_event": "trading",
    "performance_log": "timing",
    "error_log": "error",
    "user_action": "action",
}
# Foreground per severity; readable on the dark and the light theme alike.
SEVERITY_COLOURS = {
    "DEBUG": QColor("#8a8f9c"),
    "INFO": QColor("#4f9cf0"),
    "WARNING": QColor("#e0a400"),
    "ERROR": QColor("#ef5350"),
    "CRITICAL": QColor("#ff1744"),
}
_ALERT_BACKGROUND = QBrush(QColor(239, 83, 80, 60))
_CRITICAL_BACKGROUND = QBrush(QColor(255, 23, 68, 45))


def local_time(ts: datetime) -> str:
    """Stored in UTC; shown in the user's time zone with milliseconds."""
    return ts.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class ActivityModel(QAbstractTableModel):
    def __init__(self, max_rows: int = MAX_ROWS, parent: Any = None) -> None:
        super().__init__(parent)
        self.max_rows = max_rows
        self._rows: list[ActivityEntry] = []
        self._alert_ids: frozenset[str] = frozenset()
        self._bold = QFont()
        self._bold.setBold(True)

    # -- contents ------------------------------------------------------------------------------------
    def append(self, entries: list[ActivityEntry]) -> int:
        """Add rows at the end and drop the oldest beyond the cap; returns how many were dropped."""
        if not entries:
            return 0
        entries = entries[-self.max_rows :]
        overflow = len(self._rows) + len(entries) - self.max_rows
        dropped = 0
        if overflow > 0:
            dropped = min(overflow, len(self._rows))
            self.beginRemoveRows(QModelIndex(), 0, dropped - 1)
            del self._rows[:dropped]
            self.endRemoveRows()
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(entries) - 1)
        self._rows.extend(entries)
        self.endInsertRows()
        return dropped

    def replace(self, entries: list[ActivityEntry]) -> None:
        self.beginResetModel()
        self._rows = list(entries[-self.max_rows :])
        self.endResetModel()

    def clear(self) -> None:
        self.replace([])

    def entry(self, row: int) -> ActivityEntry:
        return self._rows[row]

    def entries(self) -> list[ActivityEntry]:
        return list(self._rows)

    def set_alert_correlation_ids(self, ids: frozenset[str]) -> None:
        """Rows belonging to an active alert get a tinted background."""
        if ids == self._alert_ids:
            return
        self._alert_ids = ids
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1), [Qt.ItemDataRole.BackgroundRole]
            )

    # -- Qt model interface --------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return local_time(entry.timestamp)
            if column == 1:
                return entry.severity
            if column == 2:
                return SOURCE_LABELS.get(entry.source, entry.source)
            if column == 3:
                return entry.component
            if column == 4:
                # One line in the table; the detail pane shows the whole text.
                first, _, rest = entry.description.partition("\n")
                return first + (" …" if rest else "")
            return entry.correlation_id or ""
        if role == Qt.ItemDataRole.ForegroundRole and column in (1, 4):
            if column == 1 or entry.severity in ("WARNING", "ERROR", "CRITICAL"):
                return SEVERITY_COLOURS.get(entry.severity)
            return None
        if role == Qt.ItemDataRole.FontRole and column == 1 and entry.severity in ("ERROR", "CRITICAL"):
            return self._bold
        if role == Qt.ItemDataRole.BackgroundRole:
            if entry.correlation_id and entry.correlation_id in self._alert_ids:
                return _ALERT_BACKGROUND
            if entry.severity == "CRITICAL":
                return _CRITICAL_BACKGROUND
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return f"{entry.timestamp.isoformat()} (UTC)"
            if column == 4 and len(entry.description) > 80:
                return entry.description[:2000]
        return None
