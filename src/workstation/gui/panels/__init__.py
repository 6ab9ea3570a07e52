"""The dock panels that ship with the workstation, registered by objectName (see gui/registry.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from workstation.gui.registry import PanelRegistry, PanelSpec


def register_builtin_panels(registry: PanelRegistry) -> None:
    # Imported here so that importing the registry does not pull in pyqtgraph.
    from workstation.gui.panels.blotter import BlotterPanel
    from workstation.gui.panels.chart import ChartPanel
    from workstation.gui.panels.log_monitor import LogMonitorPanel
    from workstation.gui.panels.models import ModelPanel
    from workstation.gui.panels.ticket import OrderTicketPanel
    from workstation.gui.panels.watchlist import WatchlistPanel

    registry.register(
        PanelSpec("watchlistPanel", "Watchlist", WatchlistPanel, Qt.DockWidgetArea.LeftDockWidgetArea, order=10)
    )
    registry.register(PanelSpec("chartPanel", "Chart", ChartPanel, Qt.DockWidgetArea.RightDockWidgetArea, order=20))
    registry.register(PanelSpec("modelPanel", "Models", ModelPanel, Qt.DockWidgetArea.RightDockWidgetArea, order=30))
    registry.register(
        PanelSpec("logMonitorPanel", "Log monitor", LogMonitorPanel, Qt.DockWidgetArea.BottomDockWidgetArea, order=60)
    )
    registry.register(
        PanelSpec("orderTicketPanel", "Order ticket", OrderTicketPanel, Qt.DockWidgetArea.LeftDockWidgetArea, order=40)
    )
    registry.register(
        PanelSpec(
            "blotterPanel",
            "Blotter",
            BlotterPanel,
            Qt.DockWidgetArea.RightDockWidgetArea,
            order=50,
            beside="modelPanel",
        )
    )
