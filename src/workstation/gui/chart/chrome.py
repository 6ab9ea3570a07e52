"""What every chart pane carries besides its data: axes, grid, legend, crosshair; plus the last-price line.

A ``Pane`` is one pyqtgraph PlotItem with a date axis (shown under the bottom pane only), a price
axis on the right, a grid drawn at the axes' ticks, a legend and a crosshair (a vertical line in
every pane, a horizontal line and a price tag in the pane under the mouse, the time tag on the
bottom axis). ``ChartTheme`` holds the colours of both themes: grid lines stay subtle on both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from workstation.gui.chart.axis import AxisTag, DateIndexAxis, PriceAxis
from workstation.gui.chart.legend import LegendGroup, PaneLegend
from workstation.gui.chart.lines import GridItem, LineLodItem
from workstation.gui.chart.lod import OhlcvPyramid

FloatArray = NDArray[np.float64]
UP, DOWN = "#26a69a", "#ef5350"


@dataclass(frozen=True, slots=True)
class ChartTheme:
    background: str
    axis: str
    grid: str
    crosshair: str
    tag: str  # the crosshair tags' background
    legend: str

    @staticmethod
    def for_dark(dark: bool) -> ChartTheme:
        if dark:
            return ChartTheme("#131722", "#b2b5be", "#232734", "#758696", "#4c525e", "#b2b5be")
        # Light: a grid one shade off white, as the charting sites draw it (black lines crowd the candles).
        return ChartTheme("#ffffff", "#50535e", "#f0f2f5", "#9598a1", "#50535e", "#50535e")


class Pane:
    def __init__(
        self,
        owner: pg.GraphicsLayoutWidget,
        name: str,
        axis: PriceAxis,
        theme: ChartTheme,
        on_link: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.axis = axis
        self.dates = DateIndexAxis("bottom")
        self.plot = pg.PlotItem(axisItems={"bottom": self.dates, "right": axis})
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.enableAutoRange(x=False, y=False)
        self.plot.showAxis("right")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        for each in (axis, self.dates):
            # Text only on the major ticks: measuring and laying out minor-tick labels was ~half a frame.
            each.setStyle(maxTextLevel=0)
        self.grid = GridItem(self.dates, axis, theme.grid)
        self.plot.addItem(self.grid, ignoreBounds=True)
        self.legend = PaneLegend(self.plot.getViewBox(), on_link)
        pen = pg.mkPen(theme.crosshair, style=Qt.PenStyle.DashLine)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        for line in (self.vline, self.hline):
            line.hide()
            self.plot.addItem(line, ignoreBounds=True)
        self.lines: list[LineLodItem] = []
        self._levels: list[pg.InfiniteLine] = []
        self.apply_theme(theme)
        del owner  # the owner adds the plot to its layout (rows are its business)

    # -- layout -------------------------------------------------------------------------------------------
    def show_dates(self, shown: bool) -> None:
        if shown:
            self.plot.showAxis("bottom")
        else:
            self.plot.hideAxis("bottom")

    def dates_height(self) -> float:
        return float(self.dates.maximumHeight()) if self.dates.isVisible() else 0.0

    def set_height(self, height: int) -> None:
        self.plot.setMinimumHeight(height)
        self.plot.setMaximumHeight(height)
        self.plot.setPreferredHeight(height)

    # -- indicator lines ----------------------------------------------------------------------------------
    def set_lines(self, lines: Mapping[str, FloatArray], colors: Sequence[str], levels: Sequence[float]) -> None:
        for i, (name, values) in enumerate(lines.items()):
            item = LineLodItem(values, colors[i % len(colors)], width=1.1, name=name)
            self.plot.addItem(item)
            self.lines.append(item)
        for level in levels:
            line = pg.InfiniteLine(pos=level, angle=0, pen=pg.mkPen("#777777", style=Qt.PenStyle.DotLine))
            self.plot.addItem(line)
            self._levels.append(line)

    def update_lines(self, lines: Mapping[str, FloatArray]) -> None:
        for item, values in zip(self.lines, lines.values(), strict=True):
            item.set_values(values)

    def blank(self, values: FloatArray) -> None:
        for item in self.lines:
            item.set_values(values)
        self.set_legend_lines()

    def set_legend(self, title: str, link: str | None, color: str) -> None:
        self.legend.set_group("main", LegendGroup(title, color, link, [item.values for item in self.lines]))

    def set_legend_lines(self) -> None:
        group = self.legend.groups().get("main")
        if group is not None:
            group.lines = [item.values for item in self.lines]
            self.legend.set_group("main", group)

    def visible_extent(self, x_min: float, x_max: float) -> tuple[float, float] | None:
        extents = [e for e in (item.visible_extent(x_min, x_max) for item in self.lines) if e is not None]
        if not extents:
            return None
        return min(e[0] for e in extents), max(e[1] for e in extents)

    # -- crosshair ----------------------------------------------------------------------------------------
    def crosshair_at(self, index: int, y: float | None, theme: ChartTheme | None = None) -> None:
        self.vline.setPos(index)
        self.vline.show()
        if y is None:
            self.hline.hide()
            self.axis.set_tag("crosshair", None)
            self.dates.set_tag("crosshair", None)
            return
        self.hline.setPos(y)
        self.hline.show()
        self.axis.set_tag("crosshair", AxisTag(y, self.axis.tag_text(y), self._tag_color))

    def dates_tag(self, index: int, theme: ChartTheme) -> None:
        self.dates.set_tag("crosshair", AxisTag(index, self.dates.format_index(index), theme.tag))

    def crosshair_off(self) -> None:
        self.vline.hide()
        self.hline.hide()
        self.axis.set_tag("crosshair", None)
        self.dates.set_tag("crosshair", None)

    # -- theme --------------------------------------------------------------------------------------------
    def apply_theme(self, theme: ChartTheme) -> None:
        color = QColor(theme.axis)
        for axis in (self.axis, self.dates):
            axis.setPen(color)
            axis.setTextPen(color)
        self.grid.set_color(theme.grid)
        pen = pg.mkPen(theme.crosshair, style=Qt.PenStyle.DashLine)
        self.vline.setPen(pen)
        self.hline.setPen(pen)
        self.legend.set_text_color(theme.legend)
        self._tag_color = theme.tag


class LastPriceLine:
    """A dashed line at the last close across the price pane, with the price in a tag on its axis."""

    def __init__(self, plot: pg.PlotItem, axis: PriceAxis) -> None:
        self._axis = axis
        self.line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(UP, style=Qt.PenStyle.DashLine))
        self.line.setZValue(5)
        self.line.hide()
        plot.addItem(self.line, ignoreBounds=True)
        self.price: float | None = None
        self._color = ""

    def update(self, pyramid: OhlcvPyramid) -> None:
        n = len(pyramid)
        if n == 0:
            self.price = None
            self.line.hide()
            self._axis.set_tag("last", None)
            return
        close = pyramid.field("close")
        last = float(close[-1])
        reference = float(close[-2]) if n > 1 else float(pyramid.field("open")[-1])
        color = UP if last >= reference else DOWN
        if last == self.price and color == self._color and self.line.isVisible():
            return  # a live tick that did not move the close: nothing to repaint
        if color != self._color:
            self.line.setPen(pg.mkPen(color, style=Qt.PenStyle.DashLine))
            self._color = color
        self.price = last
        self.line.setPos(last)
        self.line.show()
        self._axis.set_tag("last", AxisTag(last, self._axis.tag_text(last), color))

    def apply_theme(self, theme: ChartTheme) -> None:
        """The line keeps the market's colours in both themes."""
        del theme
