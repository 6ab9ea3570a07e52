"""chartPanel: the selected symbol's candles, volume, indicators, predictions and fills.

Data loads in a worker (dashboard.chart_data); indicators are computed there too (TA-Lib), so the
GUI thread only hands arrays to the ChartView. ``update_live_bar`` is the entry point for a bar stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMenu, QToolButton, QVBoxLayout, QWidget
from sqlalchemy import Engine

from workstation.dashboard import indicators
from workstation.dashboard.chart_data import ChartData, load_chart_data
from workstation.dashboard.watchlist import available_intervals
from workstation.gui.chart.view import ChartView, Marker, SubplotSpec
from workstation.gui.context import WorkstationContext
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback

FloatArray = NDArray[np.float64]
_SETTINGS_KEY = "chart/indicators"
_DEFAULT_INDICATORS = ["sma20", "sma50", "rsi"]
_OVERLAY_COLORS = ("#f6c344", "#42a5f5", "#ff7043", "#66bb6a", "#ab47bc", "#26c6da", "#ec407a", "#8d6e63")
_PANE_NAMES = {"rsi": "RSI 14", "macd": "MACD", "atr": "ATR 14"}


@dataclass(slots=True)
class _Loaded:
    data: ChartData
    intervals: list[str]
    computed: dict[str, dict[str, FloatArray]] = field(default_factory=dict)


def _load(engine: Engine, symbol: str, interval: str) -> _Loaded:
    intervals = available_intervals(engine, symbol)
    if intervals and interval not in intervals:
        interval = intervals[0]
    data = load_chart_data(engine, symbol, interval)
    loaded = _Loaded(data, intervals)
    if not data.bars.empty:
        columns = [data.column(c) for c in ("high", "low", "close", "volume")]
        loaded.computed = {key: indicators.compute(key, *columns) for key in indicators.INDICATORS}
    return loaded


def _pane_name(key: str) -> str:
    """A pane is labelled with its first line's short name (RSI 14, MACD, ATR 14): long labels get clipped."""
    return _PANE_NAMES.get(key, key.upper())


class ChartPanel(QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._loaded: _Loaded | None = None
        self._job: JobHandle | None = None
        saved = context.settings.value(_SETTINGS_KEY)
        self._enabled: list[str] = [str(k) for k in saved] if isinstance(saved, list) else _DEFAULT_INDICATORS.copy()
        self.view = ChartView()
        self.view.crosshairMoved.connect(self._show_readout)
        self.title = QLabel("No symbol")
        self.title.setObjectName("chartTitle")
        self.interval = QComboBox()
        self.interval.setObjectName("chartInterval")
        self.interval.addItem("1d")
        self.interval.activated.connect(
            lambda _i: context.perform(
                "chart/interval", self.reload, metadata={"interval": self.interval.currentText()}
            )
        )
        self.picker = QToolButton()
        self.picker.setText("Indicators")
        self.picker.setObjectName("chartIndicators")
        self.picker.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.picker.setMenu(QMenu(self.picker))
        self.readout = QLabel()
        self.readout.setObjectName("chartReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = QHBoxLayout()
        bar.addWidget(self.title)
        bar.addWidget(self.interval)
        bar.addWidget(self.picker)
        bar.addStretch(1)
        bar.addWidget(self.readout)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self.view)
        self._register_actions()
        self._rebuild_menu([])
        context.symbolChanged.connect(lambda _s: self.reload())
        context.refreshRequested.connect(self.reload)
        context.databaseChanged.connect(self.reload)

    # -- actions -------------------------------------------------------------------------------------
    def _register_actions(self) -> None:
        view = self.view
        commands = [
            ("chart.pan_left", "Pan chart left", ("Left",), lambda: view.pan(-0.2)),
            ("chart.pan_right", "Pan chart right", ("Right",), lambda: view.pan(0.2)),
            ("chart.zoom_in", "Zoom chart in", ("Up", "+"), lambda: view.zoom(1 / 1.5)),
            ("chart.zoom_out", "Zoom chart out", ("Down", "-"), lambda: view.zoom(1.5)),
            ("chart.show_all", "Show all bars", ("Home",), view.show_all),
            ("chart.latest", "Go to latest bar", ("End",), lambda: view.show_last()),
        ]
        for action_id, text, keys, slot in commands:
            action = QAction(text, self)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            self._context.shortcuts.register(action_id, action, keys, "Chart")

    def _rebuild_menu(self, feature_columns: list[str]) -> None:
        menu = self.picker.menu()
        menu.clear()
        menu.addSection("Overlays")
        for key, ind in indicators.INDICATORS.items():
            if ind.overlay:
                self._menu_toggle(menu, key, ind.label)
        if feature_columns:
            menu.addSection("Stored features")
            for column in feature_columns:
                self._menu_toggle(menu, f"feature:{column}", column)
        menu.addSection("Panes")
        for key, ind in indicators.INDICATORS.items():
            if not ind.overlay:
                self._menu_toggle(menu, key, ind.label)

    def _menu_toggle(self, menu: QMenu, key: str, label: str) -> None:
        action = menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(key in self._enabled)
        action.setData(key)
        action.toggled.connect(
            lambda on, k=key: self._context.perform(
                f"chart/indicator/{k}", lambda: self.set_indicator(k, on), metadata={"enabled": on}
            )
        )

    # -- loading -------------------------------------------------------------------------------------
    def reload(self) -> None:
        symbol = self._context.symbol
        if not symbol:
            return
        if self._job is not None:
            self._job.cancel()
        engine = self._context.engine
        interval = self.interval.currentText() or "1d"
        self.title.setText(f"{symbol} · loading…")

        def job(progress: ProgressCallback, cancel: CancelToken) -> _Loaded:
            return _load(engine, symbol, interval)

        self._job = self._context.jobs.submit(f"Load chart {symbol}", job, on_success=self._apply)

    def _apply(self, loaded: _Loaded) -> None:
        if loaded.data.symbol != self._context.symbol:
            return  # a newer selection is loading
        self._loaded = loaded
        data = loaded.data
        self.interval.blockSignals(True)
        self.interval.clear()
        self.interval.addItems(loaded.intervals or [data.interval])
        self.interval.setCurrentText(data.interval)
        self.interval.blockSignals(False)
        self._rebuild_menu(list(data.feature_overlays))
        if data.bars.empty:
            self.title.setText(f"{data.symbol} · no {data.interval} bars")
            self.view.set_bars(np.empty(0, dtype=np.int64), *(np.empty(0) for _ in range(5)))
            return
        self.title.setText(f"{data.symbol} · {data.interval} · {len(data.bars):,} bars")
        self.view.set_bars(data.times_ns, *(data.column(c) for c in ("open", "high", "low", "close", "volume")))
        for key in self._enabled:
            self._show_indicator(key)
        self._show_markers(data)

    def _show_markers(self, data: ChartData) -> None:
        high, low = data.column("high"), data.column("low")
        markers = [
            Marker(
                index=p.index,
                price=float(low[p.index]) * 0.985 if p.up else float(high[p.index]) * 1.015,
                up=p.up,
                label=(
                    f"{p.model_id}: {p.prediction_type} {p.value:.4g}"
                    + (f", confidence {p.confidence:.0%}" if p.confidence is not None else "")
                ),
                size=8.0 + 10.0 * (p.confidence or 0.0),
            )
            for p in data.predictions
        ]
        markers += [
            Marker(index=f.index, price=f.price, up=f.side == "buy", label=f"{f.side} {f.quantity} @ {f.price:.2f}")
            for f in data.fills
        ]
        self.view.set_markers(markers)

    # -- indicators ----------------------------------------------------------------------------------
    def set_indicator(self, key: str, enabled: bool) -> None:
        if enabled and key not in self._enabled:
            self._enabled.append(key)
            self._show_indicator(key)
        elif not enabled and key in self._enabled:
            self._enabled.remove(key)
            self._hide_indicator(key)
        self._context.settings.setValue(_SETTINGS_KEY, self._enabled)

    def enabled_indicators(self) -> list[str]:
        return list(self._enabled)

    def _show_indicator(self, key: str) -> None:
        if self._loaded is None or self._loaded.data.bars.empty:
            return
        if key.startswith("feature:"):
            column = key.split(":", 1)[1]
            values = self._loaded.data.feature_overlays.get(column)
            if values is not None:
                self.view.set_overlay(column, values)
            return
        ind = indicators.INDICATORS.get(key)
        lines = self._loaded.computed.get(key)
        if ind is None or lines is None:
            return
        if ind.overlay:
            # The lines of one indicator (a band's upper/middle/lower) share its colour.
            color = _OVERLAY_COLORS[list(indicators.INDICATORS).index(key) % len(_OVERLAY_COLORS)]
            for name, values in lines.items():
                self.view.set_overlay(name, values, color)
        else:
            self.view.set_subplot(_pane_name(key), SubplotSpec(lines, ind.y_range, ind.levels))

    def _hide_indicator(self, key: str) -> None:
        if key.startswith("feature:"):
            self.view.remove_overlay(key.split(":", 1)[1])
            return
        ind = indicators.INDICATORS.get(key)
        if ind is None or self._loaded is None:
            return
        if ind.overlay:
            for name in self._loaded.computed.get(key, {}):
                self.view.remove_overlay(name)
        else:
            self.view.remove_subplot(_pane_name(key))

    # -- readout and live bars -----------------------------------------------------------------------
    def _show_readout(self, index: int) -> None:
        if self._loaded is None or index < 0 or index >= self.view.bar_count():
            self.readout.setText("")
            return
        p = self.view.pyramid
        o, h, lo, c, v = (float(p.field(name)[index]) for name in ("open", "high", "low", "close", "volume"))
        stamp = pd.Timestamp(int(p.times_ns[index]), tz="UTC")
        when = stamp.strftime("%Y-%m-%d" if self._loaded.data.interval.endswith("d") else "%Y-%m-%d %H:%M")
        prev = float(p.field("close")[index - 1]) if index > 0 else o
        change = (c / prev - 1.0) * 100.0 if prev else 0.0
        self.readout.setText(f"{when}  O {o:,.2f}  H {h:,.2f}  L {lo:,.2f}  C {c:,.2f}  V {v:,.0f}  ({change:+.2f}%)")

    def readout_text(self) -> str:
        return self.readout.text()

    def update_live_bar(
        self, symbol: str, interval: str, timestamp: datetime, o: float, h: float, lo: float, c: float, v: float
    ) -> bool:
        """Feed a streamed bar: updates the newest bar, or appends a new one; False if not on screen."""
        if self._loaded is None or symbol != self._loaded.data.symbol or interval != self._loaded.data.interval:
            return False
        if timestamp.tzinfo is None:
            raise ValueError("live bars need a timezone-aware timestamp")
        time_ns = pd.Timestamp(timestamp).as_unit("ns").value
        times = self.view.pyramid.times_ns
        if len(times) and time_ns == int(times[-1]):
            self.view.update_last_bar(o, h, lo, c, v)
        else:
            self.view.append_bar(time_ns, o, h, lo, c, v)
        return True
