"""The dock panels that ship with the workstation, registered by objectName (see gui/registry.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from workstation.gui.registry import PanelRegistry, PanelSpec


def register_builtin_panels(registry: PanelRegistry) -> None:
    # Imported here so that importing the registry does not pull in pyqtgraph.
    from workstation.gui.panels.backtest import BacktestPanel
    from workstation.gui.panels.blotter import BlotterPanel
    from workstation.gui.panels.chart import ChartPanel
    from workstation.gui.panels.log_monitor import LogMonitorPanel
    from workstation.gui.panels.models import ModelPanel
    from workstation.gui.panels.strategies import StrategiesPanel
    from workstation.gui.panels.ticket import OrderTicketPanel
    from workstation.gui.panels.watchlist import WatchlistPanel

    left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
    # The chart at the centre: about 78 % of the width and 70 % of the height (over half the window);
    # watchlist and ticket in a column on its left; models, blotter (raised) and the log in a row below it.
    registry.register(PanelSpec("watchlistPanel", "Watchlist", WatchlistPanel, left, order=10, size=(0.22, 0.52)))
    registry.register(PanelSpec("chartPanel", "Chart", ChartPanel, right, order=20, size=(0.78, 0.70)))
    registry.register(PanelSpec("modelPanel", "Models", ModelPanel, right, order=30, size=(0.47, 0.30)))
    registry.register(
        PanelSpec("orderTicketPanel", "Order ticket", OrderTicketPanel, left, order=40, size=(0.22, 0.48))
    )
    registry.register(
        PanelSpec("blotterPanel", "Blotter", BlotterPanel, right, order=50, tab_with="modelPanel", size=(0.47, 0.30))
    )
    registry.register(
        PanelSpec(
            "logMonitorPanel", "Log monitor", LogMonitorPanel, right, order=60, beside="modelPanel", size=(0.31, 0.30)
        )
    )
    registry.register(
        PanelSpec("strategiesPanel", "Strategies", StrategiesPanel, right, order=70, tab_with="modelPanel")
    )
    # Tabbed with the models and blotter below the chart: a run's curves and trades beside the chart.
    registry.register(
        PanelSpec("backtestPanel", "Backtest", BacktestPanel, right, order=80, tab_with="modelPanel", size=(0.47, 0.30))
    )
