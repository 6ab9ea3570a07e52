"""Drawings on the price pane: horizontal lines, trend lines and price alerts, placed with the mouse.

Pick a tool, click the price pane: a horizontal line or an alert takes the clicked price, a trend
line its two clicked points. Lines and alerts can be dragged afterwards (a moved alert is armed
again); a right click on one deletes it. Points are kept as (bar time, price), so a drawing stays on
the same moment when the interval or the number of loaded bars changes; a point beyond the last bar
is extrapolated at the bars' usual spacing. ``changed`` hands the full list over to be saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QMenu

from workstation.dashboard.drawings import Drawing, Point, horizontal_line, moved, price_alert, trend_line

TOOLS = ("hline", "trend", "alert")
_COLORS = {"hline": "#42a5f5", "trend": "#ab47bc", "alert": "#ffa726", "fired": "#9e9e9e"}
_NS = 1_000_000_000


class DrawingLayer(QObject):
    changed = Signal(list)  # every drawing of the symbol after a user change (list[Drawing])
    toolChanged = Signal(object)  # the active tool (str) or None

    def __init__(self, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._plot = plot
        self._times: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._last_price: float | None = None
        self._drawings: list[Drawing] = []
        self._items: dict[str, pg.GraphicsObject] = {}
        self._tool: str | None = None
        self._pending: Point | None = None  # a trend line's first click

    # -- data ---------------------------------------------------------------------------------------------
    def set_bars(self, times_ns: NDArray[np.int64], last_price: float | None) -> None:
        self._times = times_ns
        self._last_price = last_price
        self._redraw()

    def set_last_price(self, price: float | None) -> None:
        self._last_price = price

    def set_drawings(self, drawings: Sequence[Drawing]) -> None:
        self._drawings = list(drawings)
        self._redraw()

    def drawings(self) -> list[Drawing]:
        return list(self._drawings)

    def item(self, drawing_id: str) -> pg.GraphicsObject | None:
        return self._items.get(drawing_id)

    # -- tools --------------------------------------------------------------------------------------------
    @property
    def tool(self) -> str | None:
        return self._tool

    def set_tool(self, tool: str | None) -> None:
        if tool is not None and tool not in TOOLS:
            raise ValueError(f"unknown drawing tool {tool!r}")
        self._tool = tool
        self._pending = None
        self.toolChanged.emit(tool)

    def click(self, x: float, price: float) -> Drawing | None:
        """A left click on the price pane at bar ``x`` and ``price`` with a tool active; the new drawing, if any."""
        if self._tool is None or not np.isfinite(price):
            return None
        created: Drawing | None = None
        if self._tool == "hline":
            created = horizontal_line(price)
        elif self._tool == "alert":
            created = price_alert(price, self._last_price if self._last_price is not None else price)
        elif self._pending is None:
            self._pending = (self.time_at(x), price)
            return None
        else:
            created = trend_line(self._pending, (self.time_at(x), price))
        self._pending = None
        self._tool = None  # one drawing per pick of a tool, as in most charting tools
        self.toolChanged.emit(None)
        self._drawings.append(created)
        self._redraw()
        self.changed.emit(self.drawings())
        return created

    def delete(self, drawing_id: str) -> None:
        self._drawings = [d for d in self._drawings if d.id != drawing_id]
        self._redraw()
        self.changed.emit(self.drawings())

    def clear(self) -> None:
        self._drawings = []
        self._redraw()
        self.changed.emit([])

    # -- time <-> bar index -------------------------------------------------------------------------------
    def time_at(self, x: float) -> datetime:
        n = len(self._times)
        if n == 0:
            return datetime.now(UTC)
        index = round(x)
        if 0 <= index < n:
            ns = int(self._times[index])
        else:
            anchor = 0 if index < 0 else n - 1
            ns = int(self._times[anchor]) + (index - anchor) * self._spacing()
        return datetime.fromtimestamp(ns / _NS, UTC)

    def index_of(self, when: datetime | None) -> float:
        n = len(self._times)
        if when is None or n == 0:
            return 0.0
        ns = int(when.timestamp() * _NS)
        if ns > int(self._times[-1]):
            return (n - 1) + (ns - int(self._times[-1])) / self._spacing()
        if ns < int(self._times[0]):
            return (ns - int(self._times[0])) / self._spacing()
        return float(min(int(np.searchsorted(self._times, ns, side="left")), n - 1))

    def _spacing(self) -> int:
        if len(self._times) < 2:
            return 86_400 * _NS
        return max(1, int(np.median(np.diff(self._times[-64:]))))

    # -- items --------------------------------------------------------------------------------------------
    def _redraw(self) -> None:
        for item in self._items.values():
            self._plot.removeItem(item)
        self._items = {}
        for drawing in self._drawings:
            item = self._make_item(drawing)
            self._plot.addItem(item, ignoreBounds=True)
            self._items[drawing.id] = item

    def _make_item(self, drawing: Drawing) -> pg.GraphicsObject:
        if drawing.kind == "trend":
            points = [(self.index_of(t), p) for t, p in drawing.points]
            pen = pg.mkPen(_COLORS["trend"], width=1.6)
            roi = pg.LineSegmentROI(points, pen=pen, movable=True, removable=True)
            roi.sigRegionChangeFinished.connect(lambda r, d=drawing: self._trend_moved(d, r))
            roi.sigRemoveRequested.connect(lambda _r, d=drawing: self.delete(d.id))
            return roi
        if drawing.kind == "alert":
            color = _COLORS["alert"] if drawing.armed else _COLORS["fired"]
            state = f"alert {drawing.direction}" if drawing.armed else "alert fired"
            style = Qt.PenStyle.DashLine
        else:
            color, state, style = _COLORS["hline"], "", Qt.PenStyle.SolidLine
        line = pg.InfiniteLine(
            pos=drawing.price,
            angle=0,
            movable=True,
            pen=pg.mkPen(color, width=1.4, style=style),
            label=(f"{state} " if state else "") + "{value:.2f}",
            labelOpts={"position": 0.04, "color": color, "anchors": [(0, 1), (0, 1)]},
        )
        line.sigPositionChangeFinished.connect(lambda item, d=drawing: self._line_moved(d, item))
        line.sigClicked.connect(lambda _item, event, d=drawing: self._line_clicked(d, event))
        return line

    def _replace(self, updated: Drawing) -> None:
        self._drawings = [updated if d.id == updated.id else d for d in self._drawings]
        self.changed.emit(self.drawings())

    def _line_moved(self, drawing: Drawing, item: pg.InfiniteLine) -> None:
        self._replace(moved(drawing, [(None, float(item.value()))], self._last_price))
        if drawing.kind == "alert":
            self._redraw()  # re-armed: its colour and label change

    def _trend_moved(self, drawing: Drawing, roi: pg.LineSegmentROI) -> None:
        handles = roi.getSceneHandlePositions()
        view = self._plot.getViewBox()
        points = [view.mapSceneToView(position) for _name, position in handles]
        self._replace(moved(drawing, [(self.time_at(p.x()), float(p.y())) for p in points]))

    def _line_clicked(self, drawing: Drawing, event: object) -> None:
        button = getattr(event, "button", lambda: None)()
        if button == Qt.MouseButton.RightButton:
            menu = QMenu()
            menu.addAction("Delete", lambda: self.delete(drawing.id))
            menu.exec(QCursor.pos())
