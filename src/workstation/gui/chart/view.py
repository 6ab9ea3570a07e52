"""The chart canvas: price plot with candles and overlays, volume, indicator sub-plots, crosshair, markers.

x is the bar index (no weekend gaps); the bottom axis prints dates. y follows the visible bars, so a
wheel zoom or a drag pan only moves x and the prices always fill the plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor

from workstation.gui.chart.axis import DateIndexAxis, VolumeAxis
from workstation.gui.chart.candles import CandleColors, CandlestickItem, VolumeItem
from workstation.gui.chart.lines import GridItem, LineLodItem
from workstation.gui.chart.lod import OhlcvPyramid

FloatArray = NDArray[np.float64]
_OVERLAY_COLORS = ("#f6c344", "#42a5f5", "#ab47bc", "#ff7043", "#66bb6a", "#8d6e63", "#26c6da", "#ec407a")
_DEFAULT_VISIBLE_BARS = 180


@dataclass(frozen=True, slots=True)
class Marker:
    """A point on the chart: a prediction (direction, confidence) or a fill (side, price)."""

    index: int
    price: float
    up: bool
    label: str
    size: float = 12.0


@dataclass(frozen=True, slots=True)
class SubplotSpec:
    """One indicator pane: named lines, and a fixed y range (RSI 0-100) or None to follow the data."""

    lines: Mapping[str, FloatArray]
    y_range: tuple[float, float] | None = None
    levels: Sequence[float] = ()


def _set_y(plot: pg.PlotItem, low: float, high: float) -> None:
    """Set a y range only when it moved: an unchanged range must not re-layout the axis text."""
    current_low, current_high = plot.getViewBox().viewRange()[1]
    tolerance = (high - low) * 1e-9
    if abs(current_low - low) > tolerance or abs(current_high - high) > tolerance:
        plot.setYRange(low, high, padding=0)


def _line_item(plot: pg.PlotItem, values: FloatArray, color: str, name: str, *, width: float) -> LineLodItem:
    item = LineLodItem(values, color, width=width, name=name)
    plot.addItem(item)
    return item


class ChartView(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """A candlestick chart that stays fast at a million bars (see candles.py and lod.py)."""

    crosshairMoved = Signal(int)

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent=parent)
        self.setObjectName("chartView")
        self.ci.layout.setSpacing(0)
        self._pyramid = OhlcvPyramid(*(np.empty(0, dtype=np.int64),), *(np.empty(0) for _ in range(5)))
        self._axis = DateIndexAxis("bottom")
        self.price_plot: pg.PlotItem = self.addPlot(row=0, col=0, axisItems={"bottom": self._axis})
        self.volume_plot: pg.PlotItem = self.addPlot(row=1, col=0, axisItems={"right": VolumeAxis("right")})
        self.ci.layout.setRowStretchFactor(0, 5)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.volume_plot.setXLink(self.price_plot)
        self.volume_plot.hideAxis("bottom")
        for plot in (self.price_plot, self.volume_plot):
            plot.setMouseEnabled(x=True, y=False)
            plot.enableAutoRange(x=False, y=False)
            plot.showAxis("right")
            plot.hideAxis("left")
            plot.hideButtons()
            plot.setMenuEnabled(False)
        self._grid = GridItem(self._axis, self.price_plot.getAxis("right"))
        self.price_plot.addItem(self._grid, ignoreBounds=True)
        for axis in (self._axis, self.price_plot.getAxis("right"), self.volume_plot.getAxis("right")):
            # Text only on the major ticks: measuring and laying out minor-tick labels was ~half a frame.
            axis.setStyle(maxTextLevel=0)
        self.candles = CandlestickItem(self._pyramid)
        self.volume = VolumeItem(self._pyramid)
        self.price_plot.addItem(self.candles)
        self.volume_plot.addItem(self.volume)
        self._overlays: dict[str, LineLodItem] = {}
        self._subplots: dict[str, tuple[pg.PlotItem, list[LineLodItem], SubplotSpec]] = {}
        self._markers: list[pg.ScatterPlotItem] = []
        self._crosshair_lines: list[pg.InfiniteLine] = []
        self._hline = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine))
        self._add_crosshair(self.price_plot, with_hline=True)
        self._add_crosshair(self.volume_plot)
        self._mouse_proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=60, slot=self._on_mouse_moved)
        self.price_plot.getViewBox().sigXRangeChanged.connect(self._fit_y)

    # -- data ------------------------------------------------------------------------------------------
    @property
    def pyramid(self) -> OhlcvPyramid:
        return self._pyramid

    def bar_count(self) -> int:
        return len(self._pyramid)

    def set_bars(
        self,
        times_ns: NDArray[np.int64],
        open_: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray,
        *,
        visible_bars: int = _DEFAULT_VISIBLE_BARS,
    ) -> None:
        """Replace the series and show its newest ``visible_bars`` bars."""
        self._pyramid = OhlcvPyramid(times_ns, open_, high, low, close, volume)
        self.candles.set_pyramid(self._pyramid)
        self.volume.set_pyramid(self._pyramid)
        self._axis.set_times(self._pyramid.times_ns)
        self.clear_overlays()
        n = len(self._pyramid)
        # Indicator panes stay: building a pyqtgraph PlotItem costs tens of milliseconds on the GUI
        # thread, and a reload re-shows the same indicators. Their lines are blank (never the old
        # symbol's values against the new bars) until the caller sets the new ones with set_subplot.
        blank = np.full(n, np.nan)
        for _, lines, _ in self._subplots.values():
            for line in lines:
                line.set_values(blank)
        self.set_markers([])
        for plot in (self.price_plot, self.volume_plot):
            plot.setLimits(xMin=-0.05 * n - 10, xMax=1.05 * n + 10, minXRange=5)
        self.show_last(visible_bars)

    def update_last_bar(self, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """A live tick for the newest bar: O(log n) pyramid repair and a repaint of the visible slice."""
        self._pyramid.update_last(open_, high, low, close, volume)
        self._after_live_change()

    def append_bar(self, time_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """A new bar opened; if the newest bar was on screen the view follows it."""
        was_following = self.price_plot.getViewBox().viewRange()[0][1] >= len(self._pyramid) - 1
        self._pyramid.append(time_ns, open_, high, low, close, volume)
        self._axis.set_times(self._pyramid.times_ns)
        n = len(self._pyramid)
        for plot in (self.price_plot, self.volume_plot):
            plot.setLimits(xMin=-0.05 * n - 10, xMax=1.05 * n + 10)
        if was_following:
            self.pan_bars(1)
        self._after_live_change()

    def _after_live_change(self) -> None:
        self.candles.data_changed()
        self.volume.data_changed()
        _x_min, x_max = self.price_plot.getViewBox().viewRange()[0]
        if x_max >= len(self._pyramid) - 2:
            self._fit_y()

    # -- overlays, sub-plots, markers ------------------------------------------------------------------
    def set_overlay(self, name: str, values: FloatArray, color: str | None = None) -> None:
        """A line on the price plot (moving average, Bollinger band, …), one value per bar (NaN = no value)."""
        self.remove_overlay(name)
        color = color or _OVERLAY_COLORS[len(self._overlays) % len(_OVERLAY_COLORS)]
        item = _line_item(self.price_plot, values, color, name, width=1.2)
        self._overlays[name] = item

    def remove_overlay(self, name: str) -> None:
        item = self._overlays.pop(name, None)
        if item is not None:
            self.price_plot.removeItem(item)

    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    def clear_overlays(self) -> None:
        for name in list(self._overlays):
            self.remove_overlay(name)

    def set_subplot(self, name: str, spec: SubplotSpec) -> None:
        """Show an indicator pane; a pane of that name with the same lines and levels gets new values."""
        existing = self._subplots.get(name)
        if existing is not None:
            pane, items, shown = existing
            if [item.name for item in items] == list(spec.lines) and list(shown.levels) == list(spec.levels):
                for item, values in zip(items, spec.lines.values(), strict=True):
                    item.set_values(values)
                self._subplots[name] = (pane, items, spec)
                self._fit_y()
                return
        self.remove_subplot(name)
        plot: pg.PlotItem = self.addPlot(row=2 + len(self._subplots), col=0)
        self.ci.layout.setRowStretchFactor(2 + len(self._subplots), 2)
        plot.setXLink(self.price_plot)
        plot.hideAxis("bottom")
        plot.hideAxis("left")
        plot.showAxis("right")
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=True, y=False)
        plot.enableAutoRange(x=False, y=False)
        plot.setLabel("right", name)
        plot.getAxis("right").enableAutoSIPrefix(False)
        plot.getAxis("right").setStyle(maxTextLevel=0)
        items = [
            _line_item(plot, values, _OVERLAY_COLORS[i % len(_OVERLAY_COLORS)], line_name, width=1.1)
            for i, (line_name, values) in enumerate(spec.lines.items())
        ]
        for level in spec.levels:
            plot.addItem(pg.InfiniteLine(pos=level, angle=0, pen=pg.mkPen("#777777", style=Qt.PenStyle.DotLine)))
        self._add_crosshair(plot)
        self._subplots[name] = (plot, items, spec)
        self._fit_y()

    def remove_subplot(self, name: str) -> None:
        entry = self._subplots.pop(name, None)
        if entry is None:
            return
        plot = entry[0]
        for line in [line for line in self._crosshair_lines if line.getViewBox() is plot.getViewBox()]:
            self._crosshair_lines.remove(line)
        self.removeItem(plot)
        # Re-pack the remaining panes so no empty row is left behind.
        remaining = list(self._subplots.items())
        for _, (other, _, _) in remaining:
            self.removeItem(other)
        for row, (_, (other, _, _)) in enumerate(remaining, start=2):
            self.addItem(other, row=row, col=0)

    def subplot_names(self) -> list[str]:
        return list(self._subplots)

    def clear_subplots(self) -> None:
        for name in list(self._subplots):
            self.remove_subplot(name)

    def set_markers(self, markers: Sequence[Marker]) -> None:
        for item in self._markers:
            self.price_plot.removeItem(item)
        self._markers = []
        if not markers:
            return
        spots = [
            {
                "pos": (m.index, m.price),
                "symbol": "t1" if m.up else "t",
                "size": m.size,
                "brush": pg.mkBrush("#26a69a" if m.up else "#ef5350"),
                "pen": pg.mkPen("#101010"),
                "data": m.label,
            }
            for m in markers
        ]
        item = pg.ScatterPlotItem(spots=spots, hoverable=True, tip=lambda x, y, data: str(data))
        self._markers.append(item)
        self.price_plot.addItem(item)

    def marker_count(self) -> int:
        return sum(len(item.data) for item in self._markers)

    # -- navigation ------------------------------------------------------------------------------------
    def visible_range(self) -> tuple[float, float]:
        x_min, x_max = self.price_plot.getViewBox().viewRange()[0]
        return float(x_min), float(x_max)

    def set_visible_range(self, x_min: float, x_max: float) -> None:
        self.price_plot.setXRange(x_min, x_max, padding=0)

    def show_last(self, bars: int = _DEFAULT_VISIBLE_BARS) -> None:
        n = len(self._pyramid)
        self.set_visible_range(max(-0.5, n - bars - 0.5), n + max(2.0, bars * 0.03))

    def show_all(self) -> None:
        n = len(self._pyramid)
        self.set_visible_range(-0.5, n + max(2.0, n * 0.01))

    def pan_bars(self, bars: float) -> None:
        x_min, x_max = self.visible_range()
        self.set_visible_range(x_min + bars, x_max + bars)

    def pan(self, fraction: float) -> None:
        """Move by a fraction of the visible width (negative = back in time)."""
        x_min, x_max = self.visible_range()
        self.pan_bars((x_max - x_min) * fraction)

    def zoom(self, factor: float) -> None:
        """Zoom around the right edge (the newest visible bar stays put), >1 shows more bars."""
        x_min, x_max = self.visible_range()
        width = max(5.0, (x_max - x_min) * factor)
        self.set_visible_range(x_max - width, x_max)

    # -- internals -------------------------------------------------------------------------------------
    def _fit_y(self, *_args: object) -> None:
        x_min, x_max = self.visible_range()
        bounds = self._pyramid.price_range(x_min, x_max)
        if bounds is not None:
            low, high = bounds
            pad = (high - low) * 0.05 or abs(high) * 0.01 or 1.0
            _set_y(self.price_plot, low - pad, high + pad)
            volume_max = self.volume.visible_max(x_min, x_max)
            _set_y(self.volume_plot, 0.0, volume_max * 1.1 if volume_max > 0 else 1.0)
        for plot, lines, spec in self._subplots.values():
            if spec.y_range is not None:
                _set_y(plot, *spec.y_range)
                continue
            extents = [e for e in (item.visible_extent(x_min, x_max) for item in lines) if e is not None]
            if extents:
                y_low = min(e[0] for e in extents)
                y_high = max(e[1] for e in extents)
                pad = (y_high - y_low) * 0.08 or 1.0
                _set_y(plot, y_low - pad, y_high + pad)

    def _add_crosshair(self, plot: pg.PlotItem, *, with_hline: bool = False) -> None:
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine))
        plot.addItem(line, ignoreBounds=True)
        self._crosshair_lines.append(line)
        if with_hline:
            plot.addItem(self._hline, ignoreBounds=True)

    def _on_mouse_moved(self, event: tuple[QPointF]) -> None:
        position = event[0]
        vb = self.price_plot.getViewBox()
        plots = [self.price_plot, self.volume_plot, *(p for p, _, _ in self._subplots.values())]
        if not any(p.sceneBoundingRect().contains(position) for p in plots) or len(self._pyramid) == 0:
            self.crosshairMoved.emit(-1)
            return
        point = vb.mapSceneToView(position)
        index = round(point.x())
        index = min(max(index, 0), len(self._pyramid) - 1)
        for line in self._crosshair_lines:
            line.setPos(index)
        if self.price_plot.sceneBoundingRect().contains(position):
            self._hline.setPos(point.y())
        self.crosshairMoved.emit(index)

    def apply_theme(self, dark: bool) -> None:
        self.setBackground("#131722" if dark else "#ffffff")
        axis_color = QColor("#b2b5be" if dark else "#333333")
        plots = [self.price_plot, self.volume_plot, *(p for p, _, _ in self._subplots.values())]
        for plot in plots:
            for name in ("right", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(axis_color)
                axis.setTextPen(axis_color)
        self.candles.set_colors(CandleColors.default())
