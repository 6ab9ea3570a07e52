"""The backtest panel's plots: equity and drawdown against buy-and-hold (and a benchmark), and the sweep heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Signal

from workstation.trading.backtest.research import drawdown

# Strategy, buy-and-hold, benchmark, and a second run when two are compared.
COLORS = ("#2962ff", "#9e9e9e", "#ff9800", "#ab47bc")


def _seconds(index: pd.Index) -> np.ndarray:
    stamps = pd.DatetimeIndex(index)
    return stamps.as_unit("ns").asi8 / 1e9


class EquityPlot(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """Equity on top, drawdown below (shared time axis); one line per curve, named in the legend."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent=parent)
        self.setObjectName("backtestEquityPlot")
        self.equity = self.addPlot(row=0, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.equity.setLabel("left", "Equity")
        self.equity.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.equity.addLegend(offset=(10, 10))
        self.drawdown = self.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.drawdown.setLabel("left", "Drawdown %")
        self.drawdown.showGrid(x=True, y=True, alpha=0.2)
        self.drawdown.setXLink(self.equity)
        for plot in (self.equity, self.drawdown):
            plot.getAxis("left").setWidth(72)  # equal widths keep the two time axes aligned
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.curve_names: list[str] = []

    def show_curves(self, curves: Mapping[str, pd.Series | None], colors: Sequence[str] = COLORS) -> None:
        self.equity.clear()
        self.drawdown.clear()
        self.legend.clear()
        self.curve_names = []
        for n, (name, series) in enumerate(curves.items()):
            if series is None or not len(series):
                continue
            pen = pg.mkPen(colors[n % len(colors)], width=2 if n == 0 else 1.5)
            x = _seconds(series.index)
            self.equity.plot(x, series.to_numpy(dtype=float), pen=pen, name=name)
            self.drawdown.plot(x, -100.0 * drawdown(series).to_numpy(dtype=float), pen=pen)
            self.curve_names.append(name)
        self.equity.enableAutoRange()
        self.drawdown.enableAutoRange()


class Heatmap(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """A metric over two swept parameters: one cell per grid point, axes labelled with the values."""

    cellClicked = Signal(dict)  # the parameters of the clicked cell

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent=parent)
        self.setObjectName("backtestHeatmap")
        self.plot = self.addPlot(row=0, col=0)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=14)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.best = pg.ScatterPlotItem(size=14, symbol="star", brush=pg.mkBrush("#ff1744"), pen=pg.mkPen("w"))
        self.plot.addItem(self.best)
        self.image.mouseClickEvent = self._clicked
        self.names: tuple[str, str] = ("", "")
        self.xs: list[int] = []
        self.ys: list[int] = []
        self.values = np.zeros((0, 0))

    def show_grid(
        self,
        names: Sequence[str],
        xs: Sequence[int],
        ys: Sequence[int],
        values: np.ndarray,
        metric: str,
        best: Mapping[str, int] | None = None,
    ) -> None:
        self.names = (names[0], names[1] if len(names) > 1 else "")
        self.xs, self.ys, self.values = list(xs), list(ys), values
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if high <= low:
            high = low + 1e-9
        self.image.setImage(np.where(np.isfinite(values), values, np.nan), autoLevels=False, levels=(low, high))
        self.colorbar.setLevels((low, high))
        self.image.setRect(-0.5, -0.5, len(xs), len(ys))
        bottom, left = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        bottom.setTicks([_ticks(xs)])
        left.setTicks([_ticks(ys)])
        self.plot.setLabel("bottom", self.names[0])
        self.plot.setLabel("left", self.names[1])
        self.plot.setTitle(metric)
        self.plot.setRange(xRange=(-0.5, len(xs) - 0.5), yRange=(-0.5, len(ys) - 0.5), padding=0)
        spots = []
        if best:
            x = self.xs.index(best[self.names[0]]) if best.get(self.names[0]) in self.xs else None
            y = self.ys.index(best[self.names[1]]) if self.names[1] and best.get(self.names[1]) in self.ys else 0
            if x is not None:
                spots.append({"pos": (x, y)})
        self.best.setData(spots)

    def params_at(self, column: int, row: int) -> dict[str, int] | None:
        if not (0 <= column < len(self.xs) and 0 <= row < len(self.ys)) or not np.isfinite(self.values[row, column]):
            return None
        params = {self.names[0]: self.xs[column]}
        if self.names[1]:
            params[self.names[1]] = self.ys[row]
        return params

    def _clicked(self, event: object) -> None:
        pos = event.pos()  # type: ignore[attr-defined]
        params = self.params_at(int(pos.x()), int(pos.y()))
        if params is not None:
            self.cellClicked.emit(params)


def _ticks(values: Sequence[int]) -> list[tuple[float, str]]:
    step = max(1, len(values) // 12)  # at most about a dozen labels
    return [(float(i), str(v)) for i, v in enumerate(values) if i % step == 0]
