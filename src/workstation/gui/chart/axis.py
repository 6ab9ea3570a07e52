"""A bottom axis for x = bar index that labels ticks with the bars' dates (no weekend or night gaps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray

_NS_PER_SECOND = 1_000_000_000
_DAY = 86_400


def _format_for(seconds_per_tick: float, intraday: bool) -> str:
    if seconds_per_tick >= 300 * _DAY:
        return "%Y"
    if seconds_per_tick >= 55 * _DAY:
        return "%b %Y"
    if seconds_per_tick >= _DAY or not intraday:
        return "%d %b %y"
    return "%d %b %H:%M"


class DateIndexAxis(pg.AxisItem):  # type: ignore[misc]
    """Ticks stay at pyqtgraph's round bar indices; only the text turns them into dates (UTC)."""

    def __init__(self, orientation: str = "bottom", **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self._times: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._intraday = False

    def set_times(self, times_ns: NDArray[np.int64]) -> None:
        self._times = times_ns
        if len(times_ns) > 1:
            # Intraday when the median spacing of the last bars is under a day.
            tail = np.diff(times_ns[-64:])
            self._intraday = bool(np.median(tail) < _DAY * _NS_PER_SECOND)
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        levels: list[tuple[float, list[float]]] = super().tickValues(minVal, maxVal, size)
        n = len(self._times)
        # Bars are whole numbers: fractional ticks (deep zoom) would repeat a date.
        return [(max(1.0, spacing), [v for v in values if v == int(v) and 0 <= v < n]) for spacing, values in levels]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        n = len(self._times)
        if n == 0:
            return ["" for _ in values]
        indices = np.clip(np.asarray(values, dtype=np.int64), 0, n - 1)
        times = self._times[indices]
        span = float(self._times[-1] - self._times[0]) / _NS_PER_SECOND
        seconds_per_tick = spacing * span / max(n - 1, 1)
        fmt = _format_for(seconds_per_tick, self._intraday)
        stamps = times.astype("datetime64[ns]").astype("datetime64[s]").tolist()
        return [stamp.strftime(fmt) for stamp in stamps]


class VolumeAxis(pg.AxisItem):  # type: ignore[misc]
    """Right axis of the volume pane: 1.5M rather than 1.5e+06."""

    def __init__(self, orientation: str = "right", **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [human_count(v) for v in values]


def human_count(value: float) -> str:
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    return f"{value:.0f}"
