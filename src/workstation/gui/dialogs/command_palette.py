"""Ctrl+K: type to jump to a symbol (by ticker or company name) or run any registered action.

Tickers that start with the text come first, then tickers that contain it, then companies whose name
contains it ("micro" finds MSFT — Microsoft Corporation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from workstation.gui.shortcuts import ShortcutRegistry

_MAX_SYMBOLS = 50


class CommandPalette(QDialog):
    def __init__(
        self,
        registry: ShortcutRegistry,
        symbols: list[str],
        go_to_symbol: Callable[[str], None],
        parent: QWidget | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("commandPalette")
        self.resize(520, 380)
        self._registry = registry
        self._symbols = symbols
        self._names = dict(names or {})
        self._go_to_symbol = go_to_symbol
        self.query = QLineEdit(placeholderText="Symbol or command…")
        self.query.setObjectName("paletteQuery")
        self.results = QListWidget()
        self.results.setObjectName("paletteResults")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.query)
        layout.addWidget(self.results)
        self.query.textChanged.connect(self._populate)
        self.query.returnPressed.connect(self.run_current)
        self.results.itemActivated.connect(lambda _item: self.run_current())
        self.query.installEventFilter(self)
        self._populate("")

    def _populate(self, text: str) -> None:
        needle = text.strip().lower()
        self.results.clear()
        symbols = [s for s in self._symbols if needle and s.lower().startswith(needle)]
        symbols += [s for s in self._symbols if needle and needle in s.lower() and s not in symbols]
        chosen = set(symbols)
        symbols += [s for s in self._symbols if needle and s not in chosen and needle in self._names.get(s, "").lower()]
        for symbol in symbols[:_MAX_SYMBOLS]:
            name = self._names.get(symbol)
            item = QListWidgetItem(f"Go to {symbol} — {name}" if name else f"Go to {symbol}")
            item.setData(Qt.ItemDataRole.UserRole, ("symbol", symbol))
            self.results.addItem(item)
        for entry in self._registry.entries():
            label = f"{entry.category}: {entry.text}"
            if needle and needle not in label.lower():
                continue
            if not entry.action.isEnabled():
                continue
            keys = entry.action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            item = QListWidgetItem(f"{label}    {keys}" if keys else label)
            item.setData(Qt.ItemDataRole.UserRole, ("action", entry.action_id))
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)

    def run_current(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        kind, value = item.data(Qt.ItemDataRole.UserRole)
        self.accept()
        if kind == "symbol":
            self._go_to_symbol(value)
        else:
            self._registry.get(value).action.trigger()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Arrow keys move through the results while the cursor stays in the search box.
        if (
            watched is self.query
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up)
        ):
            step = 1 if event.key() == Qt.Key.Key_Down else -1
            row = max(0, min(self.results.count() - 1, self.results.currentRow() + step))
            self.results.setCurrentRow(row)
            return True
        return False
