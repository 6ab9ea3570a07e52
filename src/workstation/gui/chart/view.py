"""The chart canvas: a price pane with candles and overlays, a volume pane and indicator panes.

x is the bar index (no weekend gaps). Every pane has the same furniture: a right price axis with
readable tick density and tags, a subtle grid, a legend (each indicator with its parameters and its
value under the crosshair) and a crosshair line; the bottom pane shows the dates. y follows the
visible bars in every pane (price, volume, indicators), so a zoom, a pan, Home or End only move x.
Pane heights are exact (panes.py) and the borders between panes can be dragged.

Entry points for other parts of the window: ``set_bars``, ``update_last_bar`` / ``append_bar`` (the
live forming bar: O(log n), the LOD cache is repaired, not rebuilt), ``set_overlay`` / ``set_subplot``,
``set_markers`` (+ ``markerClicked``), ``price_clicked`` (drawing tools), ``set_time_zone``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent

from workstation.gui.chart.axis import PriceAxis, VolumeAxis
from workstation.gui.chart.candles import CandleColors, CandlestickItem, VolumeItem
from workstation.gui.chart.chrome import ChartTheme, LastPriceLine, Pane
from workstation.gui.chart.interaction import ChartInteraction
from workstation.gui.chart.legend import LegendGroup
from workstation.gui.chart.lines import LineLodItem
from workstation.gui.chart.lod import OhlcvPyramid
from workstation.gui.chart.markers import Marker, MarkerLayer
from workstation.gui.chart.panes import PRICE, VOLUME, PaneHeights

FloatArray = NDArray[np.float64]
_OVERLAY_COLORS = ("#f6c344", "#42a5f5", "#ab47bc", "#ff7043", "#66bb6a", "#8d6e63", "#26c6da", "#ec407a")
_DEFAULT_VISIBLE_BARS = 180


@dataclass(frozen=True, slots=True)
class SubplotSpec:
    """One indicator pane: named lines, and a fixed y range (RSI 0-100) or None to follow the data.

    ``title`` is the legend's name of the indicator with its parameters (``MACD(12, 26, 9)``) and
    ``link`` what a click on it asks for (the indicator's key).
    """

    lines: Mapping[str, FloatArray]
    y_range: tuple[float, float] | None = None
    levels: Sequence[float] = ()
    title: str = ""
    link: str | None = None


def _set_y(plot: pg.PlotItem, low: float, high: float) -> None:
    """Set a y range only when it moved: an unchanged range must not re-layout the axis text."""
    current_low, current_high = plot.getViewBox().viewRange()[1]
    tolerance = (high - low) * 1e-9
    if abs(current_low - low) > tolerance or abs(current_high - high) > tolerance:
        plot.setYRange(low, high, padding=0)


class ChartView(ChartInteraction, pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """A candlestick chart that stays fast at a million bars (see candles.py and lod.py)."""

    crosshairMoved = Signal(int)  # bar index under the mouse, -1 when the mouse left the panes
    paneHeightsChanged = Signal(dict)  # pane name -> weight, after the user dragged a border
    legendLinkActivated = Signal(str)  # a legend entry was clicked (its link: an indicator key)
    markerClicked = Signal(object)  # the Marker clicked
    priceClicked = Signal(float, float)  # bar index, price: a left click on the price pane

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent=parent)
        self.setObjectName("chartView")
        self.ci.layout.setSpacing(0)
        self.ci.layout.setContentsMargins(0, 0, 0, 0)
        self._pyramid = OhlcvPyramid(*(np.empty(0, dtype=np.int64),), *(np.empty(0) for _ in range(5)))
        self._theme = ChartTheme.for_dark(True)
        self.heights = PaneHeights()
        self._panes: dict[str, Pane] = {}
        price = self._add_pane(PRICE, PriceAxis())
        volume = self._add_pane(VOLUME, VolumeAxis())
        self.price_plot: pg.PlotItem = price.plot
        self.volume_plot: pg.PlotItem = volume.plot
        self._axis = price.dates  # the x ticks of every grid (all panes share the bars)
        self.candles = CandlestickItem(self._pyramid)
        self.volume = VolumeItem(self._pyramid)
        self.price_plot.addItem(self.candles)
        self.volume_plot.addItem(self.volume)
        self.last_line = LastPriceLine(self.price_plot, price.axis)
        self._overlays: dict[str, LineLodItem] = {}
        self._subplots: dict[str, SubplotSpec] = {}
        self._marker_layer = MarkerLayer(self.price_plot, self.markerClicked.emit)
        self._hover = -1
        self._drag = None
        self._mouse_proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=60, slot=self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.price_plot.getViewBox().sigXRangeChanged.connect(self._fit_y)
        self._relayout()

    # -- panes ---------------------------------------------------------------------------------------------
    def _add_pane(self, name: str, axis: PriceAxis) -> Pane:
        pane = Pane(self, name, axis, self._theme, on_link=self.legendLinkActivated.emit)
        if self._panes:
            first = next(iter(self._panes.values()))
            pane.plot.setXLink(first.plot)
            # A pane added after the bars (an indicator) dates and grids the same bars, in the same zone.
            pane.dates.set_times(first.dates.times)
            pane.dates.set_zone(first.dates.zone)
            n = len(first.dates.times)
            pane.plot.setLimits(xMin=-0.05 * n - 10, xMax=1.05 * n + 10, minXRange=5)
        self._panes[name] = pane
        return pane

    def _relayout(self) -> None:
        """Rows in order, dates under the bottom pane only, exact pane heights."""
        panes = list(self._panes.values())
        for row, pane in enumerate(panes):
            if self.ci.getItem(row, 0) is not pane.plot:
                if pane.plot in self.ci.items:
                    self.ci.removeItem(pane.plot)
                self.ci.addItem(pane.plot, row=row, col=0)
            pane.show_dates(row == len(panes) - 1)
        self._apply_heights()

    def _apply_heights(self) -> None:
        if getattr(self, "closed", False):
            return  # pyqtgraph's close() cleared the scene (our plots are gone), then resizes the view
        panes = list(getattr(self, "_panes", {}).values())  # resize events come before __init__ ends
        if not panes:
            return
        total = float(self.viewport().height()) if self.viewport() is not None else 0.0
        if total <= 0:
            return
        heights = self.heights.pixel_heights([p.name for p in panes], total, panes[-1].dates_height())
        for pane, height in zip(panes, heights, strict=True):
            pane.set_height(height)

    def pane_names(self) -> list[str]:
        return list(self._panes)

    def pane(self, name: str) -> Pane:
        return self._panes[name]

    def set_pane_weights(self, weights: Mapping[str, float]) -> None:
        self.heights.set_user_weights(weights)
        self._apply_heights()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._apply_heights()

    # -- data ----------------------------------------------------------------------------------------------
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
        for pane in self._panes.values():
            pane.dates.set_times(self._pyramid.times_ns)
        self.clear_overlays()
        n = len(self._pyramid)
        # Indicator panes stay: building a pyqtgraph PlotItem costs tens of milliseconds on the GUI
        # thread, and a reload re-shows the same indicators. Their lines are blank (never the old
        # symbol's values against the new bars) until the caller sets the new ones with set_subplot.
        blank = np.full(n, np.nan)
        for name in self._subplots:
            self._panes[name].blank(blank)
        self.set_markers([])
        for pane in self._panes.values():
            pane.plot.setLimits(xMin=-0.05 * n - 10, xMax=1.05 * n + 10, minXRange=5)
        self.last_line.update(self._pyramid)
        self.show_last(visible_bars)
        self._refresh_legends()

    def update_last_bar(self, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """A live tick for the newest bar: O(log n) pyramid repair and a repaint of the visible slice."""
        self._pyramid.update_last(open_, high, low, close, volume)
        self._after_live_change(last_only=True)

    def append_bar(self, time_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """A new bar opened; if the newest bar was on screen the view follows it."""
        was_following = self.price_plot.getViewBox().viewRange()[0][1] >= len(self._pyramid) - 1
        self._pyramid.append(time_ns, open_, high, low, close, volume)
        n = len(self._pyramid)
        for pane in self._panes.values():
            pane.dates.set_times(self._pyramid.times_ns)
            pane.plot.setLimits(xMin=-0.05 * n - 10, xMax=1.05 * n + 10)
        if was_following:
            self.pan_bars(1)
        self._after_live_change()

    def _after_live_change(self, *, last_only: bool = False) -> None:
        self.candles.data_changed(last_only=last_only)
        self.volume.data_changed(last_only=last_only)
        self.last_line.update(self._pyramid)
        _x_min, x_max = self.price_plot.getViewBox().viewRange()[0]
        if x_max >= len(self._pyramid) - 2:
            self._fit_y()

    def set_readout(self, html_text: str) -> None:
        """The bar under the crosshair (or the last bar), shown as the price pane's first legend line."""
        self._panes[PRICE].legend.set_header(html_text)

    def last_close(self) -> float | None:
        return float(self._pyramid.field("close")[-1]) if len(self._pyramid) else None

    # -- overlays, sub-plots, markers ------------------------------------------------------------------
    def set_overlay(
        self,
        name: str,
        values: FloatArray,
        color: str | None = None,
        *,
        legend: str | None = None,
        link: str | None = None,
    ) -> None:
        """A line on the price plot (moving average, Bollinger band…), one value per bar (NaN = no value).

        Lines sharing a ``legend`` title show as one legend entry (a band's upper / middle / lower).
        """
        self.remove_overlay(name)
        color = color or _OVERLAY_COLORS[len(self._overlays) % len(_OVERLAY_COLORS)]
        item = LineLodItem(values, color, width=1.2, name=name)
        self.price_plot.addItem(item)
        self._overlays[name] = item
        title = legend or name
        legend_box = self._panes[PRICE].legend
        group = legend_box.groups().get(title) or LegendGroup(title, color, link)
        group.lines.append(item.values)
        legend_box.set_group(title, group)

    def remove_overlay(self, name: str) -> None:
        item = self._overlays.pop(name, None)
        if item is None:
            return
        self.price_plot.removeItem(item)
        legend = self._panes[PRICE].legend
        for title, group in legend.groups().items():
            group.lines = [line for line in group.lines if line is not item.values]
            if not group.lines:
                legend.remove_group(title)
            else:
                legend.set_group(title, group)

    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    def clear_overlays(self) -> None:
        for name in list(self._overlays):
            self.remove_overlay(name)

    def set_subplot(self, name: str, spec: SubplotSpec) -> None:
        """Show an indicator pane; a pane of that name with the same lines and levels gets new values."""
        pane = self._panes.get(name)
        shown = self._subplots.get(name)
        if (
            pane is None
            or shown is None
            or list(shown.lines) != list(spec.lines)
            or list(shown.levels) != list(spec.levels)
        ):
            self.remove_subplot(name)
            pane = self._add_pane(name, PriceAxis())
            pane.set_lines(spec.lines, _OVERLAY_COLORS, spec.levels)
            self._relayout()
        else:
            pane.update_lines(spec.lines)
        pane.set_legend(spec.title or name, spec.link, _OVERLAY_COLORS[0])
        self._subplots[name] = spec
        self._fit_y()

    def remove_subplot(self, name: str) -> None:
        if self._subplots.pop(name, None) is None:
            return
        pane = self._panes.pop(name)
        self.ci.removeItem(pane.plot)
        self._relayout()

    def subplot_names(self) -> list[str]:
        return list(self._subplots)

    def clear_subplots(self) -> None:
        for name in list(self._subplots):
            self.remove_subplot(name)

    def set_markers(self, markers: Sequence[Marker]) -> None:
        self._marker_layer.set(markers)

    def marker_count(self) -> int:
        return self._marker_layer.count()

    @property
    def _markers(self) -> list[pg.ScatterPlotItem]:
        return self._marker_layer.items

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

    def set_time_zone(self, zone: tzinfo) -> None:
        for pane in self._panes.values():
            pane.dates.set_zone(zone)

    # -- internals -------------------------------------------------------------------------------------
    def _fit_y(self, *_args: object) -> None:
        x_min, x_max = self.visible_range()
        bounds = self._pyramid.price_range(x_min, x_max)
        if bounds is not None:
            low, high = bounds
            pad = (high - low) * 0.05 or abs(high) * 0.01 or 1.0
            _set_y(self.price_plot, low - pad, high + pad)
            # The level is the one the *new* range will be drawn at (the view's transform is still the
            # old one here: after Home the volume pane would keep a single bar's scale for summed bars).
            width = max(1.0, float(self.volume_plot.getViewBox().width()))
            volume_max = self.volume.visible_max(x_min, x_max, pixel=(x_max - x_min) / width)
            _set_y(self.volume_plot, 0.0, volume_max * 1.1 if volume_max > 0 else 1.0)
        for name, spec in self._subplots.items():
            plot = self._panes[name].plot
            if spec.y_range is not None:
                _set_y(plot, *spec.y_range)
                continue
            extent = self._panes[name].visible_extent(x_min, x_max)
            if extent is not None:
                y_low, y_high = extent
                pad = (y_high - y_low) * 0.08 or 1.0
                _set_y(plot, y_low - pad, y_high + pad)

    # -- theme -----------------------------------------------------------------------------------------
    def apply_theme(self, dark: bool) -> None:
        self._theme = ChartTheme.for_dark(dark)
        self.setBackground(self._theme.background)
        for pane in self._panes.values():
            pane.apply_theme(self._theme)
        self.last_line.apply_theme(self._theme)
        self.candles.set_colors(CandleColors.default())

    @property
    def theme(self) -> ChartTheme:
        return self._theme
