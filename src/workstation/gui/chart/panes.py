"""Pane heights of the chart: weights turned into exact pixel heights, and a drag between two panes.

Defaults keep the price pane over half of the chart whatever is added under it: volume weighs 1.2,
each indicator pane 2, and the price pane max(6, 1.1 × the others together). A user who drags the
border between two panes sets both panes' weights (remembered by pane name); a pane without a
remembered weight keeps its default. QGraphicsGridLayout's stretch factors only share *extra* space
(after preferred sizes), so heights are set exactly instead, again on every resize.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PRICE, VOLUME = "price", "volume"
VOLUME_WEIGHT = 1.2
INDICATOR_WEIGHT = 2.0
MIN_PRICE_WEIGHT = 6.0
MIN_PANE_PX = 36  # a pane dragged smaller than this would only show its legend
GRAB_PX = 4  # how close to a border the mouse must be to drag it


class PaneHeights:
    def __init__(self) -> None:
        self._user: dict[str, float] = {}

    def user_weights(self) -> dict[str, float]:
        return dict(self._user)

    def set_user_weights(self, weights: Mapping[str, float]) -> None:
        self._user = {str(k): float(v) for k, v in weights.items() if float(v) > 0}

    def reset(self) -> None:
        self._user.clear()

    def weights(self, names: Sequence[str]) -> list[float]:
        defaults = {name: VOLUME_WEIGHT if name == VOLUME else INDICATOR_WEIGHT for name in names if name != PRICE}
        others = sum(self._user.get(name, weight) for name, weight in defaults.items())
        price_default = max(MIN_PRICE_WEIGHT, 1.1 * others)  # the date axis comes out of the others' share
        return [self._user.get(name, price_default if name == PRICE else defaults[name]) for name in names]

    def pixel_heights(self, names: Sequence[str], total: float, extra_last: float = 0.0) -> list[int]:
        """Heights of the panes in ``names`` (top to bottom) sharing ``total`` pixels.

        ``extra_last`` pixels (the date axis under the bottom pane) are added to the last pane only,
        so every pane's plot area keeps its share.
        """
        if not names:
            return []
        weights = self.weights(names)
        room = max(0.0, total - extra_last)
        scale = room / sum(weights) if sum(weights) > 0 else 0.0
        heights = [max(MIN_PANE_PX, round(w * scale)) for w in weights]
        heights[-1] += round(extra_last)
        # Rounding (and the minimum) must not make the panes overflow the chart: trim the largest.
        overflow = sum(heights) - int(total)
        if overflow > 0:
            largest = max(range(len(heights)), key=lambda i: heights[i])
            heights[largest] = max(MIN_PANE_PX, heights[largest] - overflow)
        return heights

    def drag(
        self, names: Sequence[str], heights: Sequence[float], upper: int, delta: float, extra_last: float = 0.0
    ) -> None:
        """Move the border under pane ``upper`` by ``delta`` pixels; every pane's weight becomes its height
        (the last pane's without the ``extra_last`` pixels of the date axis, as in ``pixel_heights``)."""
        sizes = [float(h) for h in heights]
        sizes[-1] -= extra_last
        lower = upper + 1
        pair = sizes[upper] + sizes[lower]
        sizes[upper] = min(max(MIN_PANE_PX, sizes[upper] + delta), pair - MIN_PANE_PX)
        sizes[lower] = pair - sizes[upper]
        for name, size in zip(names, sizes, strict=True):
            self._user[name] = size / 10.0  # weights in tens of pixels: only their ratios matter
