"""Indicator lines and the grid, drawn with the same visible-slice, level-of-detail approach as the candles.

A line keeps a min/max pyramid (NaN-aware); when several values share a pixel the visible buckets are
drawn as their min→max envelope, which keeps every peak a plain decimation would lose.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from pyqtgraph.Qt import internals
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

FloatArray = NDArray[np.float64]


def _pairwise(values: FloatArray, reducer: Any) -> FloatArray:
    pairs = len(values) // 2
    out = np.empty((len(values) + 1) // 2, dtype=np.float64)
    out[:pairs] = reducer(values[0 : 2 * pairs : 2], values[1 : 2 * pairs : 2])
    if len(values) % 2:
        out[pairs] = values[-1]
    return out


class LineLodItem(pg.GraphicsObject):  # type: ignore[misc]
    """One value per bar index (NaN = gap), drawn from the visible slice only."""

    def __init__(self, values: FloatArray, color: str | QColor, width: float = 1.2, name: str = "") -> None:
        super().__init__()
        self.name = name
        self._pen = QPen(QColor(color))
        self._pen.setCosmetic(True)
        self._pen.setWidthF(width)
        self.set_values(values)

    def set_values(self, values: FloatArray) -> None:
        base = np.ascontiguousarray(values, dtype=np.float64)
        self._mins = [base]
        self._maxs = [base]
        with np.errstate(invalid="ignore"):
            while len(self._mins[-1]) > 1:
                # fmin/fmax ignore NaN, so a bucket with one value keeps it.
                self._mins.append(_pairwise(self._mins[-1], np.fmin))
                self._maxs.append(_pairwise(self._maxs[-1], np.fmax))
        finite = base[np.isfinite(base)]
        self.prepareGeometryChange()
        if len(finite):
            low, high = float(finite.min()), float(finite.max())
            self._bounds = QRectF(0.0, low, float(len(base)), max(high - low, 1e-9))
        else:
            self._bounds = QRectF()
        self._segments_key: tuple[int, int, int] | None = None
        self._segments = internals.PrimitiveArray(QLineF, 4)
        self.update()

    @property
    def values(self) -> FloatArray:
        return self._mins[0]

    def visible_extent(self, x_min: float, x_max: float) -> tuple[float, float] | None:
        """Finite min/max over the visible bars, read from a level with at most ~4096 buckets."""
        span = max(1.0, x_max - x_min)
        level = min(len(self._mins) - 1, max(0, math.ceil(math.log2(span / 4096)))) if span > 4096 else 0
        first = max(0, math.floor(x_min) >> level)
        last = min(len(self._mins[level]), (max(0, math.ceil(x_max)) >> level) + 1)
        if last <= first:
            return None
        lows = self._mins[level][first:last]
        highs = self._maxs[level][first:last]
        if not np.isfinite(lows).any():
            return None
        return float(np.nanmin(lows)), float(np.nanmax(highs))

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        view = self.viewRect()
        pixel = self.pixelWidth()
        if view is None or pixel <= 0 or len(self._mins[0]) == 0:
            return
        needed = pixel * 2.0
        level = 0 if needed <= 1 else min(len(self._mins) - 1, math.ceil(math.log2(needed)))
        first = max(0, (math.floor(view.left()) >> level) - 1)
        last = min(len(self._mins[level]), (max(0, math.ceil(view.right())) >> level) + 2)
        if last <= first:
            return
        key = (level, first, last)
        if key != self._segments_key:
            self._build_segments(level, first, last)
            self._segments_key = key
        if not len(self._segments):
            return
        # Separate segments (drawLines) rather than one path: stroking a long path with joins costs
        # several milliseconds per frame in the raster engine; a few thousand lines cost well under one.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self._pen)
        painter.drawLines(*self._segments.drawargs())

    def _build_segments(self, level: int, first: int, last: int) -> None:
        width = 1 << level
        centers = np.arange(first, last, dtype=np.float64) * width + (width - 1) / 2.0
        if level == 0:
            x, y = centers, self._mins[0][first:last]
        else:  # the min→max envelope of each bucket, joined to the next bucket
            x = np.repeat(centers, 2)
            y = np.empty(2 * (last - first), dtype=np.float64)
            y[0::2] = self._mins[level][first:last]
            y[1::2] = self._maxs[level][first:last]
        segments = np.column_stack((x[:-1], y[:-1], x[1:], y[1:]))
        segments = segments[np.isfinite(segments).all(axis=1)]
        self._segments.resize(len(segments))
        if len(segments):
            self._segments.ndarray()[:] = segments


class GridItem(pg.GraphicsObject):  # type: ignore[misc]
    """Thin grid lines at the axes' major ticks (pyqtgraph's axis grid costs ~30 ms a frame at 1600×900).

    One per pane: x ticks from a date axis (any of the panes', they share the bars), y ticks from the
    pane's own price axis. The colour follows the theme (subtle on both).
    """

    def __init__(self, x_axis: pg.AxisItem, y_axis: pg.AxisItem, color: str = "#2a2e39") -> None:
        super().__init__()
        self._x_axis = x_axis
        self._y_axis = y_axis
        self.set_color(color)
        self.setZValue(-100)

    def set_color(self, color: str) -> None:
        self._pen = QPen(QColor(color))
        self._pen.setCosmetic(True)
        self._pen.setWidth(1)
        self.update()

    def boundingRect(self) -> QRectF:
        view = self.viewRect()
        return QRectF(view) if view is not None else QRectF()

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        view = self.viewRect()
        if view is None:
            return
        lines: list[QLineF] = []
        box = self.getViewBox()
        pixels = box.boundingRect() if box is not None else QRectF()
        for axis, vertical in ((self._x_axis, True), (self._y_axis, False)):
            lo, hi = (view.left(), view.right()) if vertical else (view.top(), view.bottom())
            lo, hi = min(lo, hi), max(lo, hi)
            # The pane's own size, not the axis's: the date axis of an upper pane is hidden (zero size).
            length = pixels.width() if vertical else pixels.height()
            ticks = axis.tickValues(lo, hi, max(length, 1.0))
            if not ticks:
                continue
            for value in ticks[0][1]:
                if vertical:
                    lines.append(QLineF(value, view.top(), value, view.bottom()))
                else:
                    lines.append(QLineF(view.left(), value, view.right(), value))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self._pen)
        painter.drawLines(lines)
