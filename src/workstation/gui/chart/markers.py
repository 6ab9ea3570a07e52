"""Markers on the price pane: predictions and fills, each with a tooltip and a click that names it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyqtgraph as pg


@dataclass(frozen=True, slots=True)
class Marker:
    """A point on the chart: a prediction (direction, confidence) or a fill (side, price).

    ``key`` identifies what the marker stands for (an order id, a prediction id) for ``markerClicked``.
    """

    index: int
    price: float
    up: bool
    label: str
    size: float = 12.0
    key: str | None = None
    kind: str = "prediction"  # or "fill": a click on a fill explains the trade


class MarkerLayer:
    def __init__(self, plot: pg.PlotItem, clicked: Callable[[Marker], None]) -> None:
        self._plot = plot
        self._clicked = clicked
        self.items: list[pg.ScatterPlotItem] = []
        self._markers: list[Marker] = []

    def set(self, markers: Sequence[Marker]) -> None:
        for item in self.items:
            self._plot.removeItem(item)
        self.items = []
        self._markers = list(markers)
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
        item.sigClicked.connect(self._on_click)
        self.items.append(item)
        self._plot.addItem(item)

    def count(self) -> int:
        return sum(len(item.data) for item in self.items)

    def _on_click(self, _item: object, points: Sequence[pg.SpotItem], _event: object = None) -> None:
        if points:
            index = points[0].index()
            if 0 <= index < len(self._markers):
                self._clicked(self._markers[index])
