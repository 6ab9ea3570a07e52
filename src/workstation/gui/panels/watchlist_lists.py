"""Named watchlists in the watchlist panel: the list picker and its menu (new, rename, delete, add, remove).

"All symbols" is always first; the named lists follow (dashboard/watchlists.py keeps them in the user
data directory, with the one last shown). New lists start from the selected symbols; the table's
context menu adds the selection to a list or removes it from the list shown.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QInputDialog, QMenu, QMessageBox, QToolButton, QWidget

from workstation.dashboard.watchlists import WatchlistError, WatchlistStore
from workstation.gui.tables import named

ALL_SYMBOLS = "All symbols"


class NamedLists(QObject):
    changed = Signal(object)  # the symbols of the list shown (frozenset[str]) or None for all symbols

    def __init__(self, store: WatchlistStore, selected: Callable[[], list[str]], parent: QWidget) -> None:
        super().__init__(parent)
        self.store = store
        self._selected = selected
        self._parent = parent
        self.picker = named(QComboBox(), "watchlistList")
        self.picker.setToolTip("The watchlist shown: all symbols, or one of your lists")
        self.picker.currentIndexChanged.connect(self._picked)
        self.menu_button = named(QToolButton(), "watchlistListMenu")
        self.menu_button.setText("Lists")
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.menu_button)
        menu.aboutToShow.connect(lambda: self.fill_menu(menu))
        self.menu_button.setMenu(menu)
        self._fill_picker()

    # -- what is shown ------------------------------------------------------------------------------------
    @property
    def active(self) -> str | None:
        return self.store.active

    def symbols(self) -> frozenset[str] | None:
        return frozenset(self.store.symbols(self.store.active)) if self.store.active else None

    def switch(self, name: str | None) -> None:
        self.store.set_active(name)
        self._fill_picker()
        self.changed.emit(self.symbols())

    def _picked(self, index: int) -> None:
        name = self.picker.itemData(index)
        if name != self.store.active:
            self.store.set_active(name)
            self.changed.emit(self.symbols())

    def _fill_picker(self) -> None:
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.addItem(ALL_SYMBOLS, None)
        for name in self.store.names():
            self.picker.addItem(f"{name} ({len(self.store.symbols(name))})", name)
        index = self.picker.findData(self.store.active) if self.store.active else 0
        self.picker.setCurrentIndex(max(index, 0))
        self.picker.blockSignals(False)

    # -- changes ------------------------------------------------------------------------------------------
    def create(self, name: str, symbols: list[str]) -> None:
        self.store.create(name, symbols)
        self.switch(name.strip())

    def rename(self, old: str, new: str) -> None:
        self.store.rename(old, new)
        self._fill_picker()

    def delete(self, name: str) -> None:
        self.store.delete(name)
        self.switch(self.store.active)

    def add(self, name: str, symbols: list[str]) -> None:
        self.store.add(name, symbols)
        self._refresh(name)

    def remove(self, name: str, symbols: list[str]) -> None:
        self.store.remove(name, symbols)
        self._refresh(name)

    def _refresh(self, name: str) -> None:
        self._fill_picker()
        if name == self.store.active:
            self.changed.emit(self.symbols())

    # -- menus and dialogs --------------------------------------------------------------------------------
    def fill_menu(self, menu: QMenu) -> None:
        menu.clear()
        selected = self._selected()
        new = menu.addAction("New list from selection…" if selected else "New empty list…")
        new.triggered.connect(self.ask_new)
        active = self.store.active
        if active:
            menu.addAction(f"Rename “{active}”…").triggered.connect(self.ask_rename)
            menu.addAction(f"Delete “{active}”…").triggered.connect(self.ask_delete)
        self.fill_selection_actions(menu)

    def fill_selection_actions(self, menu: QMenu) -> None:
        """Add the selection to a list / remove it from the list shown (also the table's context menu)."""
        selected = self._selected()
        if not selected:
            return
        names = self.store.names()
        if names:
            add = menu.addMenu(f"Add {len(selected)} selected to")
            for name in names:
                add.addAction(name).triggered.connect(lambda _checked=False, n=name: self.add(n, self._selected()))
        active = self.store.active
        if active:
            remove = menu.addAction(f"Remove {len(selected)} selected from “{active}”")
            remove.triggered.connect(lambda: self.remove(active, self._selected()))

    def ask_new(self) -> None:
        name, ok = QInputDialog.getText(self._parent, "New watchlist", "Name of the new list:")
        if ok and name.strip():
            self._guarded(lambda: self.create(name, self._selected()))

    def ask_rename(self) -> None:
        old = self.store.active
        if old is None:
            return
        name, ok = QInputDialog.getText(self._parent, "Rename watchlist", "New name:", text=old)
        if ok and name.strip():
            self._guarded(lambda: self.rename(old, name))

    def ask_delete(self) -> None:
        name = self.store.active
        if name is None:
            return
        answer = QMessageBox.question(self._parent, "Delete watchlist", f"Delete the list “{name}”? Its symbols stay.")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(name)

    def _guarded(self, change: Callable[[], None]) -> None:
        try:
            change()
        except WatchlistError as exc:
            QMessageBox.warning(self._parent, "Watchlists", str(exc))
