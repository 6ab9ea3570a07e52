"""The panel registry: how a dock panel joins the window without the window knowing it.

A panel module registers a ``PanelSpec``; the main window builds one QDockWidget per spec, in
``order``, with the spec's objectName (part of the interface: layouts are saved under it and tests
find panels by it). Ctrl+<slot> focuses the panel; ``tab_with`` stacks it as a tab on another dock,
``beside`` places it to the right of another dock (docks are placed in areas first, then beside
others, then tabbed, whatever their ``order``, which is only the order of the View → Panels menu).
``size`` is the panel's default width and height as fractions of the window (dock_layout.py keeps
them when the window is resized); a tabbed panel without one shares its group's.

A later panel joins the same way, e.g. the strategies panel (Ctrl+7)::

    registry.register(PanelSpec("strategiesPanel", "Strategies", StrategiesPanel, order=70, tab_with="modelPanel"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from workstation.gui.context import WorkstationContext

PanelFactory = Callable[[WorkstationContext], QWidget]

# The panels of the workstation, by objectName, and their Ctrl+1…8 slots (7 and 8 are reserved for the
# strategies and backtest panels: a slot is used only when a panel of that name is registered).
PANEL_SLOTS = {
    "watchlistPanel": 1,
    "chartPanel": 2,
    "modelPanel": 3,
    "orderTicketPanel": 4,
    "blotterPanel": 5,
    "logMonitorPanel": 6,
    "strategiesPanel": 7,
    "backtestPanel": 8,
}


@dataclass(frozen=True, slots=True)
class PanelSpec:
    object_name: str
    title: str
    factory: PanelFactory
    area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    order: int = 100
    tab_with: str | None = None
    beside: str | None = None  # split side by side with this dock instead of stacking below it
    size: tuple[float, float] | None = None  # default (width, height) as fractions of the window

    @property
    def slot(self) -> int | None:
        return PANEL_SLOTS.get(self.object_name)


class PanelRegistry:
    def __init__(self) -> None:
        self._specs: dict[str, PanelSpec] = {}

    def register(self, spec: PanelSpec) -> None:
        if spec.object_name in self._specs:
            raise ValueError(f"a panel named {spec.object_name!r} is already registered")
        self._specs[spec.object_name] = spec

    def specs(self) -> list[PanelSpec]:
        return sorted(self._specs.values(), key=lambda s: (s.order, s.object_name))

    def __contains__(self, object_name: object) -> bool:
        return object_name in self._specs


def default_registry() -> PanelRegistry:
    """A registry holding every panel that ships with the workstation."""
    from workstation.gui.panels import register_builtin_panels

    registry = PanelRegistry()
    register_builtin_panels(registry)
    return registry
