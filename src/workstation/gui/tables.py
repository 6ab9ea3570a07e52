"""Declarative tables: a list of ``Column``s turns any record type into a sortable Qt table.

``RecordTableModel.set_records`` merges a fresh snapshot by key instead of resetting the model:
rows that vanished are removed, changed rows emit dataChanged, new rows are appended. Views keep
their selection, current row and scroll position across the once-a-second refresh of a blotter.
Every table gets a right-click "Export CSV…" (gui/export.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QTableView, QWidget

from workstation.gui.export import export_model_csv

T = TypeVar("T")
W = TypeVar("W", bound=QWidget)
AnyIndex = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
UP, DOWN, MUTED = "#26a69a", "#ef5350", "#9e9e9e"


def named(widget: W, object_name: str) -> W:
    """Give a widget its objectName (part of the interface: tests and saved state find it by name)."""
    widget.setObjectName(object_name)
    return widget


def fmt_number(decimals: int = 2, *, signed: bool = False) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        if value is None:
            return "—"
        return f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"

    return fmt


def fmt_price(value: Any) -> str:
    """Cents as usual; sub-penny prices (allowed below $1) keep their digits."""
    if value is None:
        return "—"
    if isinstance(value, Decimal) and value != value.quantize(Decimal("0.01")):
        return f"{value.normalize():,f}"
    return f"{value:,.2f}"


def fmt_quantity(value: Any) -> str:
    if value is None:
        return "—"
    if not isinstance(value, Decimal):
        return f"{value:,}"
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_time(value: Any) -> str:
    """Stored times are UTC; the table shows the user's local time (the display edge)."""
    if not isinstance(value, datetime):
        return "—" if value is None else str(value)
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def sign_color(value: Any) -> str | None:
    if value is None or value == 0:
        return None
    return UP if value > 0 else DOWN


@dataclass(frozen=True, slots=True)
class Column(Generic[T]):
    header: str
    value: Callable[[T], Any]
    display: Callable[[Any], str] | None = None
    numeric: bool = False
    color: Callable[[T], str | None] | None = None
    tooltip: Callable[[T], str | None] | None = None
    # What the column sorts by when it is not the value itself (e.g. a leg right under its order).
    sort: Callable[[T], Any] | None = None


def _raw(value: Any) -> Any:
    """The value for export and sorting: exact decimals as text, times as ISO-8601 UTC."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _sort_key(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class RecordTableModel(QAbstractTableModel, Generic[T]):
    def __init__(
        self, columns: Sequence[Column[T]], key: Callable[[T], Hashable], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._key = key
        self._rows: list[T] = []
        self._position: dict[Hashable, int] = {}

    # -- updates -------------------------------------------------------------------------------------
    def set_records(self, records: Sequence[T]) -> None:
        fresh = {self._key(r): r for r in records}
        gone = sorted((i for k, i in self._position.items() if k not in fresh), reverse=True)
        for row in gone:  # bottom-up, so earlier indexes stay valid
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()
        if gone:
            self._position = {self._key(r): i for i, r in enumerate(self._rows)}
        last_column = len(self.columns) - 1
        for row, old in enumerate(self._rows):
            new = fresh[self._key(old)]
            if new != old:
                self._rows[row] = new
                self.dataChanged.emit(self.index(row, 0), self.index(row, last_column))
        added = [r for k, r in fresh.items() if k not in self._position]
        if added:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            self._rows.extend(added)
            for offset, record in enumerate(added):
                self._position[self._key(record)] = start + offset
            self.endInsertRows()

    def record(self, row: int) -> T:
        return self._rows[row]

    def records(self) -> list[T]:
        return list(self._rows)

    # -- Qt model interface ----------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self._rows[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = column.value(record)
            if column.display is not None:
                return column.display(value)
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.EditRole:
            return _raw(column.value(record))
        if role == SORT_ROLE:
            return _sort_key(column.sort(record) if column.sort is not None else column.value(record))
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and column.color is not None:
            color = column.color(record)
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(record)
        return None


def record_at(view: QTableView, proxy_row: int) -> Any:
    """The record behind a view row (through its sort proxy)."""
    proxy = view.model()
    assert isinstance(proxy, QSortFilterProxyModel)
    source = proxy.mapToSource(proxy.index(proxy_row, 0))
    model = proxy.sourceModel()
    assert isinstance(model, RecordTableModel)
    return model.record(source.row())


def selected_records(view: QTableView) -> list[Any]:
    rows = sorted({index.row() for index in view.selectionModel().selectedRows()})
    return [record_at(view, row) for row in rows]


def fit_columns_once(view: QTableView, saved: bool) -> None:
    """Size the columns to their contents on the first rows, unless the user's widths were restored."""
    if not saved and not view.property("columnsFitted") and view.model().rowCount() > 0:
        view.resizeColumnsToContents()
        view.setProperty("columnsFitted", True)


def make_table_view(
    object_name: str, model: RecordTableModel[Any], sort_column: int, order: Qt.SortOrder, parent: QWidget | None
) -> QTableView:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSortRole(SORT_ROLE)
    proxy.setSourceModel(model)
    view = QTableView(parent)
    view.setObjectName(object_name)  # named: the window saves its column state
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(sort_column, order)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def install_export_action(view: QTableView, notify: Callable[[str, str], None], title: str) -> QAction:
    """Right-click → "Export CSV…" on ``view`` (the rows as shown: filtered and sorted)."""
    action = QAction("Export CSV…", view)
    action.setObjectName("exportCsv")

    def export() -> None:
        path, _ = QFileDialog.getSaveFileName(view, f"Export {title} to CSV", f"{title}.csv", "CSV files (*.csv)")
        if not path:
            return
        try:
            rows = export_model_csv(view.model(), Path(path))
        except OSError as exc:
            notify("error", f"Export failed: {exc}")
            return
        notify("info", f"Exported {rows} {title} rows to {path}")

    action.triggered.connect(export)
    view.addAction(action)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    return action
