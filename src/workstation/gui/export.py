"""CSV export of any table model (Ctrl+E exports the focused table)."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget


def export_model_csv(model: QAbstractItemModel, path: str | Path) -> int:
    """Write the model's rows as shown (filtered and sorted) with its headers; returns the row count.

    Cells use the raw value (EditRole) when the model offers one, so numbers keep their precision
    instead of the rounded, thousands-separated display text.
    """
    columns = model.columnCount()
    headers = [
        str(model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "") for c in range(columns)
    ]
    rows = 0
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for r in range(model.rowCount()):
            values = []
            for c in range(columns):
                index = model.index(r, c)
                value = model.data(index, Qt.ItemDataRole.EditRole)
                if value is None or value == float("inf"):
                    value = model.data(index, Qt.ItemDataRole.DisplayRole)
                    value = "" if value in (None, "—") else value
                values.append(value)
            writer.writerow(values)
            rows += 1
    return rows


def focused_table(fallback: QAbstractItemView | None = None) -> QAbstractItemView | None:
    """The item view that has keyboard focus (or contains it), else ``fallback``."""
    widget: QWidget | None = QApplication.focusWidget()
    while widget is not None:
        if isinstance(widget, QAbstractItemView):
            return widget
        widget = widget.parentWidget()
    return fallback
