"""Dock sizes as shares of the window, kept when the window is resized.

Each docked panel has a width and a height expressed as fractions of the main window (its
``PanelSpec.size`` by default: the chart takes about three quarters of the width and seven tenths of
the height). Whenever the window changes size the fractions are applied again, so a window opened
at 1500×900 and then maximised keeps the same proportions instead of leaving the new pixels to
whichever dock Qt picks. The fractions follow the user: after a separator is dragged, a dock is
moved, floated, closed or another tab is raised, the current geometry becomes the new fractions.

Tabbed docks share one place: a tab that has not been shown yet takes its group's fractions.
"""

from __future__ import annotations

from collections.abc import Mapping

import shiboken6
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow

Fractions = dict[str, tuple[float, float]]
_CAPTURE_DELAY_MS = 150


class DockLayout(QObject):
    def __init__(
        self, window: QMainWindow, docks: Mapping[str, QDockWidget], defaults: Mapping[str, tuple[float, float]]
    ) -> None:
        super().__init__(window)
        self._window = window
        self._docks = dict(docks)
        self._defaults: Fractions = dict(defaults)
        self._fractions: Fractions = dict(defaults)
        self._applied_size: QSize | None = None  # None until the window has been laid out once
        self._apply_timer = QTimer(self, singleShot=True, interval=0)
        self._apply_timer.timeout.connect(self.apply)
        self._capture_timer = QTimer(self, singleShot=True, interval=_CAPTURE_DELAY_MS)
        self._capture_timer.timeout.connect(self.capture)
        window.installEventFilter(self)
        for dock in self._docks.values():
            dock.dockLocationChanged.connect(self._user_changed)
            dock.topLevelChanged.connect(self._user_changed)
            dock.visibilityChanged.connect(self._user_changed)

    # -- the fractions ------------------------------------------------------------------------------------
    def fractions(self) -> Fractions:
        return dict(self._fractions)

    def set_fractions(self, fractions: Mapping[str, tuple[float, float]]) -> None:
        """Take saved fractions (a restored session, a named layout) and apply them now."""
        self._fractions = {**self._defaults, **{k: (float(v[0]), float(v[1])) for k, v in fractions.items()}}
        self.apply()

    def reset(self) -> None:
        self._fractions = dict(self._defaults)
        self.apply()

    def share(self, name: str) -> float:
        """The part of the window's area that dock ``name`` covers (0 when hidden or floating)."""
        dock = self._docks.get(name)
        if dock is None or not self._placed(dock):
            return 0.0
        area = max(1, self._window.width() * self._window.height())
        return dock.width() * dock.height() / area

    # -- applying and capturing ---------------------------------------------------------------------------
    def apply(self) -> None:
        """Size every docked panel to its fractions of the window as it is now."""
        self._apply_timer.stop()
        self._capture_timer.stop()
        width, height = self._window.width(), self._window.height()
        docks = [d for d in self._docks.values() if self._placed(d)]
        sized: list[tuple[QDockWidget, tuple[float, float]]] = []
        for dock in docks:
            fraction = self._fraction_of(dock)
            if fraction is not None:
                sized.append((dock, fraction))
        if sized:
            self._window.resizeDocks(
                [d for d, _ in sized], [max(1, int(f[0] * width)) for _, f in sized], Qt.Orientation.Horizontal
            )
            self._window.resizeDocks(
                [d for d, _ in sized], [max(1, int(f[1] * height)) for _, f in sized], Qt.Orientation.Vertical
            )
        self._applied_size = self._window.size()

    def capture(self) -> None:
        """The docks' current geometry becomes their fractions (after the user changed the layout)."""
        if self._applied_size is None or self._apply_timer.isActive():
            return  # not laid out yet, or a resize is about to re-apply the fractions
        width, height = max(1, self._window.width()), max(1, self._window.height())
        for name, dock in self._docks.items():
            if self._placed(dock) and self._on_screen(dock):
                self._fractions[name] = (dock.width() / width, dock.height() / height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window:
            kind = event.type()
            if kind == QEvent.Type.Resize and self._applied_size is not None:
                self._apply_timer.start()
            elif kind == QEvent.Type.MouseButtonRelease:
                self._capture_timer.start()  # a separator between docks was dragged
        return False

    def settled(self) -> bool:
        """True once the fractions have been applied to the window's current size."""
        return self._applied_size == self._window.size() and not self._apply_timer.isActive()

    def start(self) -> None:
        """The window is shown and laid out: apply the fractions from now on."""
        self.apply()

    # -- internals ----------------------------------------------------------------------------------------
    def _user_changed(self, *_args: object) -> None:
        if not shiboken6.isValid(self._window):
            return  # the window is being destroyed: its docks hide one by one
        if self._applied_size is not None and self._window.size() == self._applied_size:
            self._capture_timer.start()

    def _placed(self, dock: QDockWidget) -> bool:
        return dock.isVisibleTo(self._window) and not dock.isFloating()

    @staticmethod
    def _on_screen(dock: QDockWidget) -> bool:
        # A tab that is not raised keeps a geometry outside the window.
        return dock.x() >= 0 and dock.y() >= 0 and dock.width() > 0 and dock.height() > 0 and dock.isVisible()

    def _fraction_of(self, dock: QDockWidget) -> tuple[float, float] | None:
        found = self._fractions.get(dock.objectName())
        if found is not None:
            return found
        for other in self._window.tabifiedDockWidgets(dock):
            found = self._fractions.get(other.objectName())
            if found is not None:
                return found
        return None
