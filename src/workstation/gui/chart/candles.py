"""Candlestick and volume items that draw only what is visible, at a level of detail fit for the zoom.

Each paint reads the view's x range and pixel size, picks the pyramid level whose merged candles are
about two pixels wide, and draws that slice with four batched QPainter calls (up/down wicks, up/down
bodies) from numpy-backed primitive arrays. The arrays are cached per (data version, level, slice),
so repaints that do not move the view (crosshair, hover) cost only the draw calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from workstation.gui.chart.lod import BucketSlice, OhlcvPyramid

# Below this on-screen width a body is indistinguishable from its wick: draw the high-low line only.
_MIN_BODY_PIXELS = 3.0
_BODY_FRACTION = 0.7


@dataclass(frozen=True, slots=True)
class CandleColors:
    up: QColor
    down: QColor

    @staticmethod
    def default() -> CandleColors:
        return CandleColors(up=QColor("#26a69a"), down=QColor("#ef5350"))


class _Batch:
    """Primitive arrays for one frame's slice, split by direction."""

    def __init__(self) -> None:
        self.up_lines = internals.PrimitiveArray(QLineF, 4)
        self.down_lines = internals.PrimitiveArray(QLineF, 4)
        self.up_rects = internals.PrimitiveArray(QRectF, 4)
        self.down_rects = internals.PrimitiveArray(QRectF, 4)
        self.key: tuple[Any, ...] | None = None


def _fill(array: Any, rows: np.ndarray) -> None:
    array.resize(len(rows))
    if len(rows):
        array.ndarray()[:] = rows


class _LodItem(pg.GraphicsObject):  # type: ignore[misc]
    """Shared plumbing: the pyramid, the visible slice and the cache key."""

    def __init__(self, pyramid: OhlcvPyramid, colors: CandleColors | None = None) -> None:
        super().__init__()
        self._pyramid = pyramid
        self._colors = colors or CandleColors.default()
        self._batch = _Batch()
        self._bounds = QRectF()
        self._compute_bounds()

    @property
    def pyramid(self) -> OhlcvPyramid:
        return self._pyramid

    def set_pyramid(self, pyramid: OhlcvPyramid) -> None:
        self._pyramid = pyramid
        self._batch.key = None
        self.data_changed()

    def set_colors(self, colors: CandleColors) -> None:
        self._colors = colors
        self.update()

    def data_changed(self, *, last_only: bool = False) -> None:
        """Call after changing the pyramid (live bar); only a grown extent re-lays out the scene.

        ``last_only``: only the newest bar changed (a live tick), so only a strip at the right end is
        repainted — the rest of the pane is not rasterized again (a full pane costs tens of ms).
        """
        old = QRectF(self._bounds)
        self._compute_bounds()
        if old != self._bounds:
            self.prepareGeometryChange()
            self.update()
            return
        n = len(self._pyramid)
        if last_only and n:
            # Wide enough for the newest level-of-detail bucket too (a bucket is < 1% of the bars).
            left = n - 1.5 - max(1.0, n * 0.01)
            self.update(QRectF(left, self._bounds.top(), n + 0.5 - left, self._bounds.height()))
        else:
            self.update()

    def _extent(self) -> tuple[float, float]:
        raise NotImplementedError

    def _compute_bounds(self) -> None:
        n = len(self._pyramid)
        if n == 0:
            self._bounds = QRectF()
            return
        low, high = self._extent()
        self._bounds = QRectF(-0.5, low, float(n), max(high - low, 1e-9))

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def _visible_slice(self) -> tuple[BucketSlice, float] | None:
        if len(self._pyramid) == 0:
            return None
        view = self.viewRect()
        pixel = self.pixelWidth()
        if view is None or pixel <= 0:
            return None
        level = self._pyramid.level_for(pixel)
        buckets = self._pyramid.visible(level, view.left(), view.right())
        bucket_pixels = buckets.width / pixel
        return buckets, bucket_pixels

    def _batch_for(self, buckets: BucketSlice, draw_bodies: bool) -> _Batch:
        key = (self._pyramid.version, buckets.level, buckets.first, len(buckets), draw_bodies)
        if self._batch.key != key:
            self._build(buckets, draw_bodies)
            self._batch.key = key
        return self._batch

    def _build(self, buckets: BucketSlice, draw_bodies: bool) -> None:
        raise NotImplementedError

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        visible = self._visible_slice()
        if visible is None:
            return
        buckets, bucket_pixels = visible
        # Bodies only where a bucket is wide enough to show one; otherwise high/low lines (level of detail).
        draw_bodies = bucket_pixels >= _MIN_BODY_PIXELS
        self._batch_for(buckets, draw_bodies)
        self._draw(painter, draw_bodies)

    def _draw(self, painter: QPainter, draw_bodies: bool) -> None:
        batch = self._batch
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for color, lines, rects in (
            (self._colors.up, batch.up_lines, batch.up_rects),
            (self._colors.down, batch.down_lines, batch.down_rects),
        ):
            pen = QPen(color)
            pen.setCosmetic(True)
            pen.setWidth(1)
            painter.setPen(pen)
            if len(lines):
                painter.drawLines(*lines.drawargs())
            if draw_bodies and len(rects):
                painter.setBrush(color)
                painter.drawRects(*rects.drawargs())


class CandlestickItem(_LodItem):
    """OHLC candles on x = bar index; merged high/low candles when bars are narrower than ~2 px."""

    def _extent(self) -> tuple[float, float]:
        top = self._pyramid.max_level
        return float(self._pyramid.field("low", top).min()), float(self._pyramid.field("high", top).max())

    def _build(self, buckets: BucketSlice, draw_bodies: bool) -> None:
        x = buckets.centers()
        up = buckets.close >= buckets.open
        down = ~up
        lines = np.column_stack((x, buckets.low, x, buckets.high))
        _fill(self._batch.up_lines, lines[up])
        _fill(self._batch.down_lines, lines[down])
        if draw_bodies:
            half = buckets.width * _BODY_FRACTION / 2.0
            bottom = np.minimum(buckets.open, buckets.close)
            height = np.abs(buckets.close - buckets.open)
            rects = np.column_stack((x - half, bottom, np.full_like(x, 2 * half), height))
            _fill(self._batch.up_rects, rects[up])
            _fill(self._batch.down_rects, rects[down])
        else:
            _fill(self._batch.up_rects, np.empty((0, 4)))
            _fill(self._batch.down_rects, np.empty((0, 4)))


class VolumeItem(_LodItem):
    """Volume bars under the candles; merged buckets show the summed volume of their bars."""

    def _extent(self) -> tuple[float, float]:
        top = self._pyramid.max_level
        # The bound grows with the coarsest bucket, which is the largest sum; the view rescales y anyway.
        return 0.0, float(self._pyramid.field("volume", top).max())

    def _build(self, buckets: BucketSlice, draw_bodies: bool) -> None:
        x = buckets.centers()
        up = buckets.close >= buckets.open
        down = ~up
        if draw_bodies:
            half = buckets.width * _BODY_FRACTION / 2.0
            rects = np.column_stack((x - half, np.zeros_like(x), np.full_like(x, 2 * half), buckets.volume))
            _fill(self._batch.up_rects, rects[up])
            _fill(self._batch.down_rects, rects[down])
            _fill(self._batch.up_lines, np.empty((0, 4)))
            _fill(self._batch.down_lines, np.empty((0, 4)))
        else:
            lines = np.column_stack((x, np.zeros_like(x), x, buckets.volume))
            _fill(self._batch.up_lines, lines[up])
            _fill(self._batch.down_lines, lines[down])
            _fill(self._batch.up_rects, np.empty((0, 4)))
            _fill(self._batch.down_rects, np.empty((0, 4)))

    def visible_max(self, x_min: float, x_max: float, pixel: float | None = None) -> float:
        """Largest volume bucket in the visible range at the level drawn for ``pixel`` bars per pixel
        (default: the view's current scale)."""
        pixel = self.pixelWidth() if pixel is None else pixel
        level = self._pyramid.level_for(pixel) if pixel > 0 else 0
        return self._pyramid.volume_max(level, x_min, x_max)
