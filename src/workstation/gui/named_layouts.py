"""Named layouts: save the window's arrangement under a name and bring it back (View → Layouts).

A layout is the dock arrangement (QMainWindow state), the window geometry and the docks' shares of
the window (dock_layout.py), stored in the window's settings under ``layouts/<name>/``. Loading one
restores the arrangement and applies its shares to the window as it is now, so a layout saved on a
large screen still fits a laptop.
"""

from __future__ import annotations

import json
from typing import Protocol

from PySide6.QtCore import QByteArray, QObject, QSettings
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QWidget

from workstation.gui.dock_layout import Fractions

_GROUP = "layouts"


class LayoutWindow(Protocol):
    """What a named layout needs from the main window."""

    def layout_snapshot(self) -> tuple[QByteArray, QByteArray, Fractions]: ...

    def restore_snapshot(self, state: QByteArray, geometry: QByteArray | None, fractions: Fractions) -> bool: ...


def _key(name: str) -> str:
    # QSettings treats "/" as a group separator.
    return name.replace("/", "∕").strip()


class NamedLayouts(QObject):
    def __init__(self, settings: QSettings, window: LayoutWindow, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._window = window

    def names(self) -> list[str]:
        self._settings.beginGroup(_GROUP)
        try:
            return sorted(self._settings.childGroups(), key=str.lower)
        finally:
            self._settings.endGroup()

    def save(self, name: str) -> None:
        key = _key(name)
        if not key:
            raise ValueError("a layout needs a name")
        state, geometry, fractions = self._window.layout_snapshot()
        self._settings.setValue(f"{_GROUP}/{key}/state", state)
        self._settings.setValue(f"{_GROUP}/{key}/geometry", geometry)
        self._settings.setValue(f"{_GROUP}/{key}/fractions", json.dumps(fractions))
        self._settings.sync()

    def load(self, name: str) -> bool:
        key = _key(name)
        state = self._settings.value(f"{_GROUP}/{key}/state")
        if not isinstance(state, QByteArray):
            return False
        geometry = self._settings.value(f"{_GROUP}/{key}/geometry")
        try:
            fractions = json.loads(str(self._settings.value(f"{_GROUP}/{key}/fractions", "{}")))
        except json.JSONDecodeError:
            fractions = {}
        saved_geometry = geometry if isinstance(geometry, QByteArray) else None
        return self._window.restore_snapshot(state, saved_geometry, fractions if isinstance(fractions, dict) else {})

    def delete(self, name: str) -> None:
        self._settings.remove(f"{_GROUP}/{_key(name)}")
        self._settings.sync()

    # -- the menu -----------------------------------------------------------------------------------------
    def fill_menu(self, menu: QMenu, parent: QWidget) -> None:
        """Rebuilt each time it opens: Save current layout as…, then one entry per layout, then Delete ›."""
        menu.clear()
        menu.addAction("Save current layout as…", lambda: self.ask_and_save(parent))
        names = self.names()
        if names:
            menu.addSection("Load")
            delete = QMenu("Delete", menu)
            for name in names:
                menu.addAction(name).triggered.connect(lambda _checked=False, n=name: self.load(n))
                delete.addAction(name).triggered.connect(lambda _checked=False, n=name: self.delete(n))
            menu.addMenu(delete)

    def ask_and_save(self, parent: QWidget) -> str | None:
        name, ok = QInputDialog.getText(parent, "Save layout", "Layout name:")
        if not ok or not name.strip():
            return None
        if name.strip() in self.names():
            answer = QMessageBox.question(parent, "Save layout", f"Replace the layout “{name.strip()}”?")
            if answer != QMessageBox.StandardButton.Yes:
                return None
        self.save(name.strip())
        return name.strip()
