"""Level-of-detail pyramid for OHLCV bars (numpy only, no Qt).

Level ``L`` merges runs of ``2**L`` consecutive bars into one candle: open of the first bar, close of
the last, the true high/low of the run and the summed volume. Buckets are aligned on multiples of
``2**L`` so panning never re-buckets (no flicker) and every level is derived from the one below in
half its size: building all levels costs about twice one pass over the data, once at load time.
A frame then only slices the level whose buckets are about two pixels wide.

The live last bar touches one bucket per level (≈20 at a million bars), so it stays O(log n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
_FIELDS = ("open", "high", "low", "close", "volume")


class _Level:
    """One level's bucket arrays with spare capacity, so appends are amortised O(1)."""

    def __init__(self, arrays: dict[str, FloatArray]) -> None:
        self.size = len(arrays["open"])
        capacity = max(16, self.size + self.size // 4)
        self._data: dict[str, FloatArray] = {}
        for name in _FIELDS:
            buffer = np.empty(capacity, dtype=np.float64)
            buffer[: self.size] = arrays[name]
            self._data[name] = buffer

    def view(self, name: str) -> FloatArray:
        return self._data[name][: self.size]

    def grow_to(self, size: int) -> None:
        capacity = len(self._data["open"])
        if size > capacity:
            new_capacity = max(size, capacity * 2)
            for name in _FIELDS:
                buffer = np.empty(new_capacity, dtype=np.float64)
                buffer[: self.size] = self._data[name][: self.size]
                self._data[name] = buffer
        self.size = size

    def set(self, index: int, o: float, h: float, lo: float, c: float, v: float) -> None:
        data = self._data
        data["open"][index] = o
        data["high"][index] = h
        data["low"][index] = lo
        data["close"][index] = c
        data["volume"][index] = v


def _merge_pairs(level: _Level) -> dict[str, FloatArray]:
    o, h, lo, c, v = (level.view(n) for n in _FIELDS)
    n = len(o)
    pairs = n // 2
    size = (n + 1) // 2
    out = {name: np.empty(size, dtype=np.float64) for name in _FIELDS}
    out["open"][:pairs] = o[0 : 2 * pairs : 2]
    out["close"][:pairs] = c[1 : 2 * pairs : 2]
    np.maximum(h[0 : 2 * pairs : 2], h[1 : 2 * pairs : 2], out=out["high"][:pairs])
    np.minimum(lo[0 : 2 * pairs : 2], lo[1 : 2 * pairs : 2], out=out["low"][:pairs])
    np.add(v[0 : 2 * pairs : 2], v[1 : 2 * pairs : 2], out=out["volume"][:pairs])
    if n % 2:  # an odd tail: the last bucket holds one child for now
        for name, arr in zip(_FIELDS, (o, h, lo, c, v), strict=True):
            out[name][pairs] = arr[-1]
    return out


@dataclass(frozen=True, slots=True)
class BucketSlice:
    """Visible buckets of one level: bucket ``i`` covers bars ``(first + i) * width`` onwards."""

    level: int
    first: int
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    @property
    def width(self) -> int:
        return 1 << self.level

    def __len__(self) -> int:
        return len(self.open)

    def centers(self) -> FloatArray:
        """x of each bucket's centre in bar-index units (bar i is centred on i)."""
        width = self.width
        return (np.arange(self.first, self.first + len(self), dtype=np.float64) * width) + (width - 1) / 2.0


class OhlcvPyramid:
    """All LOD levels of one series, plus the bar timestamps (UTC, int64 nanoseconds)."""

    def __init__(
        self,
        times_ns: NDArray[np.int64],
        open_: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        volume: FloatArray,
    ) -> None:
        n = len(open_)
        if not all(len(a) == n for a in (times_ns, high, low, close, volume)):
            raise ValueError("OHLCV arrays must have the same length")
        self._times = np.array(times_ns, dtype=np.int64)
        self._levels: list[_Level] = []
        base = {
            name: np.ascontiguousarray(arr, dtype=np.float64)
            for name, arr in zip(_FIELDS, (open_, high, low, close, volume), strict=True)
        }
        self._levels.append(_Level(base))
        while self._levels[-1].size > 1:
            self._levels.append(_Level(_merge_pairs(self._levels[-1])))
        self.version = 0  # bumped on every change so drawing caches know when to rebuild

    # -- reading -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._levels[0].size

    @property
    def max_level(self) -> int:
        return len(self._levels) - 1

    @property
    def times_ns(self) -> NDArray[np.int64]:
        return self._times[: len(self)]

    def field(self, name: str, level: int = 0) -> FloatArray:
        return self._levels[level].view(name)

    def level_for(self, bars_per_pixel: float, min_pixels: float = 2.0) -> int:
        """The finest level whose buckets are at least ``min_pixels`` wide on screen."""
        if bars_per_pixel <= 0 or not math.isfinite(bars_per_pixel):
            return 0
        needed = bars_per_pixel * min_pixels
        if needed <= 1.0:
            return 0
        return min(self.max_level, math.ceil(math.log2(needed)))

    def visible(self, level: int, x_min: float, x_max: float) -> BucketSlice:
        """Buckets of ``level`` overlapping bar indices [x_min, x_max], with one bucket of margin."""
        lvl = self._levels[level]
        first = max(0, (math.floor(x_min) >> level) - 1)
        last = min(lvl.size, (max(0, math.ceil(x_max)) >> level) + 2)
        if last <= first or len(self) == 0:
            empty = np.empty(0, dtype=np.float64)
            return BucketSlice(level, 0, empty, empty, empty, empty, empty)
        return BucketSlice(
            level,
            first,
            *(lvl.view(name)[first:last] for name in _FIELDS),
        )

    def price_range(self, x_min: float, x_max: float, max_buckets: int = 4096) -> tuple[float, float] | None:
        """Lowest low and highest high over the visible bars, read from a coarse enough level."""
        span = max(1.0, x_max - x_min)
        level = min(self.max_level, max(0, math.ceil(math.log2(span / max_buckets)))) if span > max_buckets else 0
        buckets = self.visible(level, x_min, x_max)
        if len(buckets) == 0:
            return None
        return float(buckets.low.min()), float(buckets.high.max())

    def volume_max(self, level: int, x_min: float, x_max: float) -> float:
        buckets = self.visible(level, x_min, x_max)
        return float(buckets.volume.max()) if len(buckets) else 0.0

    # -- live updates ------------------------------------------------------------------------------
    def update_last(self, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """Replace the newest bar (a live tick) and repair one bucket per level."""
        if len(self) == 0:
            raise ValueError("no bar to update")
        self._levels[0].set(len(self) - 1, open_, high, low, close, volume)
        self._repair_tail()

    def append(self, time_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """Add a new newest bar (the previous one closed)."""
        n = len(self)
        if n and time_ns <= int(self._times[n - 1]):
            raise ValueError("a new bar must be later than the last one")
        if n >= len(self._times):
            grown = np.empty(max(16, 2 * len(self._times)), dtype=np.int64)
            grown[:n] = self._times[:n]
            self._times = grown
        self._times[n] = time_ns
        base = self._levels[0]
        base.grow_to(n + 1)
        base.set(n, open_, high, low, close, volume)
        self._repair_tail()

    def _repair_tail(self) -> None:
        n = len(self)
        level = 1
        while True:
            child = self._levels[level - 1]
            if level == len(self._levels):
                if child.size > 1:  # the top level now has two buckets: add a level above it
                    self._levels.append(_Level(_merge_pairs(child)))
                break
            parent = self._levels[level]
            size = ((n - 1) >> level) + 1
            parent.grow_to(size)
            last = size - 1
            left = 2 * last
            right = min(left + 1, child.size - 1)
            o, h, lo, c, v = (child.view(name) for name in _FIELDS)
            if right == left:
                parent.set(last, o[left], h[left], lo[left], c[left], v[left])
            else:
                parent.set(
                    last, o[left], max(h[left], h[right]), min(lo[left], lo[right]), c[right], v[left] + v[right]
                )
            level += 1
        self.version += 1
