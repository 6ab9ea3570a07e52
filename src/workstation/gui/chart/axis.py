"""The chart's axes: readable tick density, no labels colliding where panes meet, and value tags.

* ``DateIndexAxis`` (bottom): x is the bar index (no weekend or night gaps); ticks are round numbers
  of bars about every 110 px, labelled with the bars' times in the display zone (daily bars as
  session dates).
* ``PriceAxis`` (right of every pane): a label about every 32 px; labels within a few pixels of the
  pane's top or bottom edge are left out, so one pane's "100" never sits on the next pane's "0".
* Both draw *tags*: small filled boxes at a value, on top of the axis (the crosshair's price and
  time, the last price). Tags repaint the axis without regenerating its cached tick picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from workstation.gui.display_time import EXCHANGE_ZONE

_NS_PER_SECOND = 1_000_000_000
_DAY = 86_400
_DATE_LABEL_PX = 110.0  # one date label per this many pixels
_PRICE_LABEL_PX = 32.0  # one price label per this many pixels (about two text heights)
_EDGE_PX = 9.0  # no label closer than this to a pane's top or bottom edge
# Every pane's right axis has this width, so the panes' x axes line up (pyqtgraph would size each to
# its own labels) and a tag such as "12,345.67" fits.
PRICE_AXIS_WIDTH = 74


@dataclass(frozen=True, slots=True)
class AxisTag:
    value: float
    text: str
    background: str
    foreground: str = "#ffffff"


def nice_step(raw: float) -> float:
    """The smallest 1-2-2.5-5 × 10^k step at least ``raw`` (tick spacing a reader can add up)."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= raw * (1 - 1e-9):
            return factor * power
    return 10.0 * power


class _TaggedAxis(pg.AxisItem):  # type: ignore[misc]
    """An axis that also paints tags (see module doc)."""

    def __init__(self, orientation: str, **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self._tags: dict[str, AxisTag] = {}

    def set_tag(self, key: str, tag: AxisTag | None) -> None:
        if tag is None:
            if self._tags.pop(key, None) is not None:
                self.update()
            return
        if self._tags.get(key) != tag:
            self._tags[key] = tag
            self.update()

    def tag(self, key: str) -> AxisTag | None:
        return self._tags.get(key)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None) -> None:
        super().paint(p, opt, widget)
        view = self.linkedView()
        if not self._tags or view is None or not self.isVisible():
            return
        metrics = QFontMetricsF(p.font())
        height = metrics.height() + 2
        bounds = self.boundingRect()
        for key in sorted(self._tags, key=lambda k: k == "crosshair"):  # the crosshair's tag on top
            tag = self._tags[key]
            text_width = metrics.horizontalAdvance(tag.text) + 8
            if self.orientation in ("left", "right"):
                y = self.mapFromScene(view.mapViewToScene(QPointF(0, tag.value))).y()
                if y < bounds.top() - height / 2 or y > bounds.bottom() + height / 2:
                    continue
                rect = QRectF(0, y - height / 2, max(bounds.width(), text_width), height)
            else:
                x = self.mapFromScene(view.mapViewToScene(QPointF(tag.value, 0))).x()
                if x < bounds.left() or x > bounds.right():
                    continue
                rect = QRectF(x - text_width / 2, 0, text_width, height)
            p.fillRect(rect, QColor(tag.background))
            p.setPen(QColor(tag.foreground))
            p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), tag.text)


class DateIndexAxis(_TaggedAxis):
    """Ticks at round bar indices; the text turns them into dates or times in the display zone."""

    def __init__(self, orientation: str = "bottom", **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self._times: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._intraday = False
        self._zone: tzinfo = EXCHANGE_ZONE

    def set_times(self, times_ns: NDArray[np.int64]) -> None:
        self._times = times_ns
        if len(times_ns) > 1:
            # Intraday when the median spacing of the last bars is under a day.
            tail = np.diff(times_ns[-64:])
            self._intraday = bool(np.median(tail) < _DAY * _NS_PER_SECOND)
        self.picture = None
        self.update()

    def set_zone(self, zone: tzinfo) -> None:
        self._zone = zone
        self.picture = None
        self.update()

    @property
    def intraday(self) -> bool:
        return self._intraday

    @property
    def times(self) -> NDArray[np.int64]:
        return self._times

    @property
    def zone(self) -> tzinfo:
        return self._zone

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        labels = max(1.0, size / _DATE_LABEL_PX)
        return [(max(1.0, nice_step((maxVal - minVal) / labels)), 0.0)]

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        levels: list[tuple[float, list[float]]] = super().tickValues(minVal, maxVal, size)
        n = len(self._times)
        # Bars are whole numbers: fractional ticks (deep zoom) would repeat a date.
        return [(max(1.0, spacing), [v for v in values if v == int(v) and 0 <= v < n]) for spacing, values in levels]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        n = len(self._times)
        if n == 0:
            return ["" for _ in values]
        span = float(self._times[-1] - self._times[0]) / _NS_PER_SECOND
        seconds_per_tick = spacing * span / max(n - 1, 1)
        fmt = _format_for(seconds_per_tick, self._intraday)
        return [self.format_index(int(v), fmt) for v in values]

    def format_index(self, index: int, fmt: str | None = None) -> str:
        """The time of bar ``index`` as the axis shows it (daily bars: the exchange session's date)."""
        n = len(self._times)
        if n == 0:
            return ""
        stamp = datetime.fromtimestamp(int(self._times[min(max(index, 0), n - 1)]) / _NS_PER_SECOND, UTC)
        if not self._intraday:
            return stamp.astimezone(EXCHANGE_ZONE).strftime(fmt or "%a %d %b %Y")
        return stamp.astimezone(self._zone).strftime(fmt or "%a %d %b %y %H:%M")


def _format_for(seconds_per_tick: float, intraday: bool) -> str:
    if seconds_per_tick >= 300 * _DAY:
        return "%Y"
    if seconds_per_tick >= 55 * _DAY:
        return "%b %Y"
    if seconds_per_tick >= _DAY or not intraday:
        return "%d %b %y"
    return "%d %b %H:%M"


class PriceAxis(_TaggedAxis):
    """Right axis of a pane: a label about every 32 px, none at the pane's very edges."""

    def __init__(self, orientation: str = "right", **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.setStyle(autoExpandTextSpace=False, autoReduceTextSpace=False)
        self.setWidth(PRICE_AXIS_WIDTH)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        if maxVal <= minVal or size <= 0:
            return []
        labels = max(2.0, size / _PRICE_LABEL_PX)  # a short pane (volume) still gets a label
        return [(nice_step((maxVal - minVal) / labels), 0.0)]

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        levels: list[tuple[float, list[float]]] = super().tickValues(minVal, maxVal, size)
        if maxVal <= minVal or size <= 0:
            return levels
        edge = _EDGE_PX * (maxVal - minVal) / size
        low, high = minVal + edge, maxVal - edge
        return [(spacing, [v for v in values if low <= v <= high]) for spacing, values in levels]

    def tag_text(self, value: float) -> str:
        """A value as its tag shows it: cents for prices, four decimals below 1 (RSI, MACD read alike)."""
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4f}"

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        places = decimals_of(spacing)
        if spacing < 1 and values and max(abs(v) for v in values) >= 1:
            places = max(places, 2)  # prices read as dollars and cents
        return [f"{v:,.{places}f}" for v in values]


class VolumeAxis(PriceAxis):
    """Right axis of the volume pane: 1.5M rather than 1.5e+06."""

    def tag_text(self, value: float) -> str:
        return human_count(value)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [human_count(v) for v in values]


def decimals_of(step: float) -> int:
    """How many decimals a tick step needs to be written exactly: 25 → 0, 2.5 → 1, 0.05 → 2."""
    if step <= 0 or not math.isfinite(step):
        return 2
    exponent = Decimal(f"{step:.10g}").normalize().as_tuple().exponent
    return max(0, min(8, -int(exponent)))


def human_count(value: float) -> str:
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.0f}"
