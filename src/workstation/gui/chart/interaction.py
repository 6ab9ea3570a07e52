"""The chart's mouse: the crosshair (lines, tags, legends, readout index), clicks for the drawing tools,
and dragging the border between two panes.

A mixin of ChartView (it needs the view's panes, bars, theme and signals, declared below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent

from workstation.gui.chart.chrome import ChartTheme, Pane
from workstation.gui.chart.lod import OhlcvPyramid
from workstation.gui.chart.panes import GRAB_PX, PaneHeights

if TYPE_CHECKING:
    import pyqtgraph as pg


class ChartInteraction:
    # Provided by ChartView.
    _panes: dict[str, Pane]
    _pyramid: OhlcvPyramid
    _theme: ChartTheme
    _hover: int
    _drag: tuple[int, float, list[float]] | None  # upper pane, start y, start heights
    heights: PaneHeights
    price_plot: pg.PlotItem
    crosshairMoved: Any
    paneHeightsChanged: Any
    priceClicked: Any

    if TYPE_CHECKING:  # declared for the type checker only: at run time they are ChartView's and Qt's

        def _apply_heights(self) -> None: ...

        def mapFromScene(self, point: QPointF) -> Any: ...

        def viewport(self) -> Any: ...

    def _refresh_legends(self) -> None:
        for pane in self._panes.values():
            pane.legend.show_index(self._hover)

    def _pane_at(self, position: QPointF) -> Pane | None:
        for pane in self._panes.values():
            if pane.plot.sceneBoundingRect().contains(position):
                return pane
        return None

    def _on_mouse_moved(self, event: tuple[QPointF]) -> None:
        position = event[0]
        pane = self._pane_at(position)
        if pane is None or len(self._pyramid) == 0:
            self._hover = -1
            for each in self._panes.values():
                each.crosshair_off()
            self._refresh_legends()
            self.crosshairMoved.emit(-1)
            return
        point = pane.plot.getViewBox().mapSceneToView(position)
        index = min(max(round(point.x()), 0), len(self._pyramid) - 1)
        self._hover = index
        bottom = list(self._panes.values())[-1]
        for each in self._panes.values():
            each.crosshair_at(index, point.y() if each is pane else None)
        bottom.dates_tag(index, self._theme)
        self._refresh_legends()
        self.crosshairMoved.emit(index)

    def leaveEvent(self, event: object) -> None:
        super().leaveEvent(event)  # type: ignore[misc]
        self._on_mouse_moved((QPointF(-1e9, -1e9),))

    def _on_click(self, event: object) -> None:
        button = getattr(event, "button", lambda: None)()
        position = getattr(event, "scenePos", lambda: None)()
        if button != Qt.MouseButton.LeftButton or position is None:
            return
        if self.price_plot.sceneBoundingRect().contains(position):
            point = self.price_plot.getViewBox().mapSceneToView(position)
            self.priceClicked.emit(float(point.x()), float(point.y()))

    # -- dragging the border between two panes ---------------------------------------------------------
    def _border_at(self, y: float) -> int | None:
        panes = list(self._panes.values())
        for i, pane in enumerate(panes[:-1]):
            border = self.mapFromScene(QPointF(0, pane.plot.sceneBoundingRect().bottom())).y()
            if abs(y - border) <= GRAB_PX:
                return i
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        border = self._border_at(event.position().y())
        if event.button() == Qt.MouseButton.LeftButton and border is not None:
            heights = [p.plot.geometry().height() for p in self._panes.values()]
            self._drag = (border, event.position().y(), heights)
            event.accept()
            return
        super().mousePressEvent(event)  # type: ignore[misc]

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            upper, start, heights = self._drag
            extra = list(self._panes.values())[-1].dates_height()
            self.heights.drag(list(self._panes), heights, upper, event.position().y() - start, extra)
            self._apply_heights()
            event.accept()
            return
        near = self._border_at(event.position().y()) is not None
        self.viewport().setCursor(Qt.CursorShape.SizeVerCursor if near else Qt.CursorShape.CrossCursor)
        super().mouseMoveEvent(event)  # type: ignore[misc]

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = None
            self.paneHeightsChanged.emit(self.heights.user_weights())
            event.accept()
            return
        super().mouseReleaseEvent(event)  # type: ignore[misc]

    def drag_border(self, upper: int, delta: float) -> None:
        """Move the border under pane number ``upper`` by ``delta`` pixels (what a mouse drag does)."""
        heights = [p.plot.geometry().height() for p in self._panes.values()]
        self.heights.drag(list(self._panes), heights, upper, delta, list(self._panes.values())[-1].dates_height())
        self._apply_heights()
        self.paneHeightsChanged.emit(self.heights.user_weights())
