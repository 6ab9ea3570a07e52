"""The window's layout memory: dock arrangement, geometry, dock shares and table columns, saved and restored.

Saved in the settings when the window closes (``window/state``, ``window/geometry``,
``window/fractions``, ``columns/<dock>/<table>``) and restored at the next start; the shares are
applied once the window is laid out (dock_layout.py). Also the snapshots of named layouts and
View → Reset layout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from PySide6.QtCore import QByteArray, QObject, QSettings
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTableView

from workstation.gui.dock_layout import DockLayout, Fractions

LAYOUT_VERSION = 2  # 2: the chart-centred default (models/blotter tabbed, the log beside them)


class WindowLayout(QObject):
    def __init__(
        self, window: QMainWindow, docks: Mapping[str, QDockWidget], dock_layout: DockLayout, settings: QSettings
    ) -> None:
        super().__init__(window)
        self._window = window
        self._docks = docks
        self._dock_layout = dock_layout
        self._settings = settings
        self._default_state = QByteArray()
        self._restored_fractions: Fractions | None = None

    def remember_default(self) -> None:
        """The arrangement as built from the registry (View → Reset layout returns to it)."""
        self._default_state = self._window.saveState(LAYOUT_VERSION)

    def restore(self) -> None:
        geometry = self._settings.value("window/geometry")
        state = self._settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self._window.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and self._window.restoreState(state, LAYOUT_VERSION):
            self._restored_fractions = load_fractions(self._settings.value("window/fractions"))
        for key, view in self.tables():
            header_state = self._settings.value(key)
            if isinstance(header_state, QByteArray):
                view.horizontalHeader().restoreState(header_state)

    def start(self) -> None:
        """The window is shown and laid out: the shares apply from now on (the restored ones first)."""
        self._dock_layout.start()
        if self._restored_fractions is not None:
            self._dock_layout.set_fractions(self._restored_fractions)

    def save(self) -> None:
        self._settings.setValue("window/geometry", self._window.saveGeometry())
        self._settings.setValue("window/state", self._window.saveState(LAYOUT_VERSION))
        self._settings.setValue("window/fractions", json.dumps(self._dock_layout.fractions()))
        for key, view in self.tables():
            self._settings.setValue(key, view.horizontalHeader().saveState())
        self._settings.sync()

    def layout_snapshot(self) -> tuple[QByteArray, QByteArray, Fractions]:
        """The arrangement, the geometry and the docks' shares (a named layout stores them)."""
        self._dock_layout.capture()
        return self._window.saveState(LAYOUT_VERSION), self._window.saveGeometry(), self._dock_layout.fractions()

    def restore_snapshot(self, state: QByteArray, geometry: QByteArray | None, fractions: Fractions) -> bool:
        """Bring back a named layout; the shares apply to the window's current size (``geometry`` is kept
        for reference but not forced: a layout saved on a large screen must still fit this one)."""
        for dock in self._docks.values():
            dock.setFloating(False)
        if not self._window.restoreState(state, LAYOUT_VERSION):
            return False
        self._dock_layout.set_fractions(fractions)
        return True

    def tables(self) -> list[tuple[str, QTableView]]:
        found = []
        for name, dock in self._docks.items():
            for view in dock.findChildren(QTableView):
                if view.objectName():
                    found.append((f"columns/{name}/{view.objectName()}", view))
        return found

    def reset(self) -> None:
        for dock in self._docks.values():
            dock.setFloating(False)
            dock.show()
        self._window.restoreState(self._default_state, LAYOUT_VERSION)
        self._dock_layout.reset()
        for key, view in self.tables():
            self._settings.remove(key)
            header = view.horizontalHeader()
            for column in range(header.count()):
                header.showSection(column)
                header.moveSection(header.visualIndex(column), column)
            view.resizeColumnsToContents()


def load_fractions(raw: object) -> Fractions | None:
    try:
        loaded = json.loads(str(raw)) if raw else None
    except json.JSONDecodeError:
        return None
    if not isinstance(loaded, dict):
        return None
    return {str(k): (float(v[0]), float(v[1])) for k, v in loaded.items() if isinstance(v, list) and len(v) == 2}
