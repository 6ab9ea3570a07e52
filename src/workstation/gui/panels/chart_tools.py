"""The chart's tool row: drawing tools (horizontal line, trend line, price alert), clear, and the time zone.

Drawings belong to the symbol: they are loaded with its bars and saved (``context.drawings``, a JSON
file in the user data directory) after every change. A fired alert is redrawn as fired.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QButtonGroup, QMenu, QMessageBox, QToolButton, QWidget

from workstation.dashboard.drawings import Drawing
from workstation.gui.chart.drawing_layer import DrawingLayer
from workstation.gui.chart.view import ChartView
from workstation.gui.context import WorkstationContext
from workstation.gui.display_time import fill_zone_menu
from workstation.gui.tables import named

_TOOLS = (
    ("hline", "Line", "Horizontal line: click a price on the chart"),
    ("trend", "Trend", "Trend line: click its start, then its end"),
    ("alert", "Alert", "Price alert: click a price; you are notified when the price reaches it"),
)


class ChartTools(QObject):
    def __init__(self, context: WorkstationContext, view: ChartView, parent: QWidget) -> None:
        super().__init__(parent)
        self._context = context
        self._view = view
        self._parent = parent
        self._symbol = ""
        self.layer = DrawingLayer(view.price_plot, self)
        self.layer.changed.connect(self._save)
        self.layer.toolChanged.connect(self._tool_changed)
        view.priceClicked.connect(self._clicked)
        self.buttons: dict[str, QToolButton] = {}
        self._group = QButtonGroup(self)
        self._group.setExclusive(False)
        for tool, text, tip in _TOOLS:
            button = named(QToolButton(), f"chartTool_{tool}")
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            button.toggled.connect(lambda on, t=tool: self._pick(t, on))
            self.buttons[tool] = button
            self._group.addButton(button)
        self.clear_button = named(QToolButton(), "chartToolClear")
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Delete every drawing and alert of this symbol")
        self.clear_button.clicked.connect(self.clear)
        self.zone_button = named(QToolButton(), "chartZone")
        self.zone_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.zone_button.setToolTip("Times are shown in this zone (daily bars: the exchange's session dates)")
        zone_menu = QMenu(self.zone_button)
        zone_menu.aboutToShow.connect(lambda: fill_zone_menu(zone_menu, context.display_time))
        self.zone_button.setMenu(zone_menu)
        context.display_time.changed.connect(self._zone_changed)
        context.price_alerts.fired.connect(self._alerts_fired)
        self._zone_changed()

    def widgets(self) -> list[QWidget]:
        return [*self.buttons.values(), self.clear_button, self.zone_button]

    # -- symbol and bars ----------------------------------------------------------------------------------
    def set_bars(self, symbol: str, times_ns: NDArray[np.int64], last_price: float | None) -> None:
        """New bars on the view: the symbol's drawings are placed on them."""
        self._symbol = symbol
        self.layer.set_bars(times_ns, last_price)
        self.layer.set_drawings(self._context.drawings.load(symbol) if symbol else [])

    def set_last_price(self, price: float) -> None:
        self.layer.set_last_price(price)

    # -- tools --------------------------------------------------------------------------------------------
    def _pick(self, tool: str, on: bool) -> None:
        if on:
            for other, button in self.buttons.items():
                if other != tool and button.isChecked():
                    button.setChecked(False)
            self.layer.set_tool(tool)
        elif self.layer.tool == tool:
            self.layer.set_tool(None)

    def _tool_changed(self, tool: object) -> None:
        for name, button in self.buttons.items():
            button.blockSignals(True)
            button.setChecked(name == tool)
            button.blockSignals(False)

    def _clicked(self, x: float, price: float) -> None:
        if self.layer.tool is not None and self._symbol:
            tool = self.layer.tool
            self._context.perform(
                f"chart/draw/{tool}", lambda: self.layer.click(x, price), metadata={"symbol": self._symbol}
            )

    def clear(self) -> None:
        if not self.layer.drawings():
            return
        answer = QMessageBox.question(
            self._parent, "Clear drawings", f"Delete every drawing and alert of {self._symbol}?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.layer.clear()

    def _save(self, drawings: list[Drawing]) -> None:
        if self._symbol:
            self._context.drawings.save(self._symbol, drawings)

    def _alerts_fired(self, symbol: str, _fired: list[Drawing]) -> None:
        if symbol == self._symbol:
            self.layer.set_drawings(self._context.drawings.load(symbol))

    def _zone_changed(self) -> None:
        display = self._context.display_time
        self.zone_button.setText(display.label())
        self._view.set_time_zone(display.zone)
