"""chartPanel: the selected symbol's candles, volume, indicators, drawings, predictions and fills.

Data loads in a worker (dashboard.chart_data); indicators are computed there too (TA-Lib, with the
user's parameters), so the GUI thread only hands arrays to the ChartView. The readout shows the bar
under the crosshair, or the latest bar, in the display time zone with the zone named; it follows
symbol and interval changes. The interval the user picked is remembered.

``update_live_bar`` is the entry point for a bar stream: it updates (or appends) the forming bar on
screen and publishes its close as the symbol's last price (price alerts, the ticket). The window's feed
service calls ``apply_live`` with the chart symbol's messages (``live.chartEvents``): a ``FormingBar``
turns minute bars, the running daily bar and trades into the forming bar of the chart's interval. New
bars append and the view follows them unless the user panned away from the newest bar.
"""

from __future__ import annotations

import html
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from workstation.dashboard.chart_data import ChartData, load_chart_data
from workstation.dashboard.watchlist import available_intervals
from workstation.gui.chart.focus import ChartFocus
from workstation.gui.chart.markers import Marker
from workstation.gui.chart.view import ChartView
from workstation.gui.context import WorkstationContext
from workstation.gui.display_time import is_daily
from workstation.gui.live_chart import FormingBar, ShownBar
from workstation.gui.panels.chart_indicators import ChartIndicators, Computed, compute_all
from workstation.gui.panels.chart_tools import ChartTools
from workstation.gui.price_format import format_price
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.market.stream.events import MarketEvent

FloatArray = NDArray[np.float64]
FOCUS_MARGIN_BARS = 30  # bars shown either side of a trade's bars when the chart jumps there
INTERVAL_KEY = "chart/interval"
PANE_WEIGHTS_KEY = "chart/pane_weights"
LIVE_REDRAW_MS = 200  # the forming bar is redrawn at most five times a second


@dataclass(slots=True)
class _Loaded:
    data: ChartData
    intervals: list[str]
    computed: Computed = field(default_factory=dict)


def _load(engine: Engine, symbol: str, interval: str, params: Mapping[str, Mapping[str, object]]) -> _Loaded:
    intervals = available_intervals(engine, symbol)
    if intervals and interval not in intervals:
        interval = intervals[0]
    data = load_chart_data(engine, symbol, interval)
    return _Loaded(data, intervals, compute_all(data, params))


class ChartPanel(QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._loaded: _Loaded | None = None
        self._job: JobHandle | None = None
        self._focus: ChartFocus | None = None  # marks and range to show once its symbol's bars are on screen
        self._focus_pending = False  # its range is shown once; later reloads keep the user's view
        self.focused_bars: tuple[int, int] | None = None  # the focus's first and last bar, once shown
        self._forming: FormingBar | None = None
        self._pending: tuple[str, ShownBar, datetime] | None = None
        self._drawn_at = 0.0
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.timeout.connect(self._draw_pending)
        self.live_updates = 0
        self.live_latencies_ms: deque[float] = deque(maxlen=10_000)  # newest message → drawn (benchmarks)
        self.view = ChartView()
        self.view.markerClicked.connect(self._marker_clicked)
        self.view.crosshairMoved.connect(self._show_readout)
        self.view.paneHeightsChanged.connect(lambda weights: context.settings.setValue(PANE_WEIGHTS_KEY, weights))
        saved_weights = context.settings.value(PANE_WEIGHTS_KEY)
        if isinstance(saved_weights, dict):
            self.view.set_pane_weights({str(k): float(v) for k, v in saved_weights.items()})
        self.title = QLabel("No symbol")
        self.title.setObjectName("chartTitle")
        self.interval = QComboBox()
        self.interval.setObjectName("chartInterval")
        self.interval.addItem(str(context.settings.value(INTERVAL_KEY, "1d")))
        self.interval.activated.connect(
            lambda _i: context.perform(
                "chart/interval", self._interval_picked, metadata={"interval": self.interval_text()}
            )
        )
        self.picker = QToolButton()
        self.picker.setText("Indicators")
        self.picker.setObjectName("chartIndicators")
        self.picker.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.picker.setMenu(QMenu(self.picker))
        self.indicators = ChartIndicators(context, self.view, self.picker, self)
        self.tools = ChartTools(context, self.view, self)
        self._readout = ""
        bar = QHBoxLayout()
        bar.addWidget(self.title)
        bar.addWidget(self.interval)
        bar.addWidget(self.picker)
        for widget in self.tools.widgets():
            bar.addWidget(widget)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.view.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self.view)
        self._register_actions()
        context.symbolChanged.connect(lambda _s: self.reload())
        context.chartFocusRequested.connect(self.focus)
        context.refreshRequested.connect(self.reload)
        context.databaseChanged.connect(self.reload)
        context.display_time.changed.connect(lambda: self._show_readout(-1))
        context.live.chartEvents.connect(self.apply_live)

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

    def interval_text(self) -> str:
        return self.interval.currentText() or "1d"

    def _interval_picked(self) -> None:
        self._context.settings.setValue(INTERVAL_KEY, self.interval_text())
        self.reload()

    # -- loading -------------------------------------------------------------------------------------
    def reload(self) -> None:
        symbol = self._context.symbol
        if not symbol:
            return
        if self._job is not None:
            self._job.cancel()
        engine = self._context.engine
        interval = self.interval_text()
        params = self.indicators.params()
        self.title.setText(f"{symbol} · loading…")

        def job(progress: ProgressCallback, cancel: CancelToken) -> _Loaded:
            return _load(engine, symbol, interval, params)

        self._job = self._context.jobs.submit(f"Load chart {symbol}", job, on_success=self._apply)

    def _apply(self, loaded: _Loaded) -> None:
        if loaded.data.symbol != self._context.symbol:
            return  # a newer selection is loading
        self._loaded = loaded
        self._pending = None
        data = loaded.data
        last_time = data.bars.index[-1].to_pydatetime() if not data.bars.empty else None
        self._forming = FormingBar(data.interval, last_time)
        self.interval.blockSignals(True)
        self.interval.clear()
        self.interval.addItems(loaded.intervals or [data.interval])
        self.interval.setCurrentText(data.interval)
        self.interval.blockSignals(False)
        if data.bars.empty:
            self.title.setText(f"{data.symbol} · no {data.interval} bars")
            self.view.set_bars(np.empty(0, dtype=np.int64), *(np.empty(0) for _ in range(5)))
            self.tools.set_bars(data.symbol, np.empty(0, dtype=np.int64), None)
            self._show_readout(-1)
            return
        self.title.setText(f"{data.symbol} · {data.interval} · {len(data.bars):,} bars")
        self.view.set_bars(data.times_ns, *(data.column(c) for c in ("open", "high", "low", "close", "volume")))
        self.indicators.set_data(data, loaded.computed)
        self.tools.set_bars(data.symbol, self.view.pyramid.times_ns, self.view.last_close())
        self._show_markers(data)
        self._show_readout(-1)  # the newest bar of *this* symbol and interval, until the mouse moves
        if self.focused_bars is not None and self._focus is not None and self._focus.symbol == data.symbol:
            self._show_readout(self.focused_bars[1])  # a focused trade: its last bar in the readout

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
                key=p.model_id,
            )
            for p in data.predictions
        ]
        markers += [
            Marker(
                index=f.index,
                price=f.price,
                up=f.side == "buy",
                label=f"{f.side} {f.quantity.normalize():f} @ {format_price(f.price)} (click: explain)",
                key=f.fill_id or None,
                kind="fill",
            )
            for f in data.fills
        ]
        markers += [
            Marker(
                index=m.index,
                price=float(low[m.index]) * 0.97 if m.up else float(high[m.index]) * 1.03,
                up=m.up,
                label=f"{m.strategy}: {'buy' if m.up else 'sell'} signal"
                + (f", confidence {m.confidence:.0%}" if m.confidence is not None else ""),
                size=14.0,
                key=m.strategy,
            )
            for m in data.signals
        ]
        markers += self._focus_markers(data)
        self.view.set_markers(markers)

    # -- trades --------------------------------------------------------------------------------------
    def _marker_clicked(self, marker: Marker) -> None:
        """A fill's marker opens the Explain view on that fill (predictions have no trade to explain)."""
        if marker.kind != "fill" or not marker.key:
            return
        from workstation.gui.panels.explain import open_explanation

        key = marker.key
        self._context.perform("chart/explain-fill", lambda: open_explanation(self._context, key, self))

    # -- focus (a backtest trade) -------------------------------------------------------------------------
    def focus(self, focus: object) -> None:
        """Show ``focus``'s symbol, range and marks (now if its bars are on screen, else once they load)."""
        if not isinstance(focus, ChartFocus):
            return
        self._focus = focus
        self._focus_pending = True
        self.focused_bars = None
        interval_changed = bool(focus.interval) and focus.interval != self.interval_text()
        if interval_changed:
            self.interval.blockSignals(True)
            if self.interval.findText(str(focus.interval)) < 0:
                self.interval.addItem(str(focus.interval))
            self.interval.setCurrentText(str(focus.interval))
            self.interval.blockSignals(False)
        if focus.symbol != self._context.symbol:
            self._context.set_symbol(focus.symbol)  # reloads; _apply shows the focus
        elif interval_changed or self._loaded is None:
            self.reload()
        else:
            self._show_markers(self._loaded.data)

    def _focus_markers(self, data: ChartData) -> list[Marker]:
        focus = self._focus
        if focus is None or focus.symbol != data.symbol or not len(data.times_ns):
            return []
        times = data.times_ns

        def index_of(when: datetime) -> int:
            # The bar holding ``when`` (a fill inside an hour bar belongs to that bar).
            at = int(np.searchsorted(times, pd.Timestamp(when).as_unit("ns").value, side="right")) - 1
            return min(max(at, 0), len(times) - 1)

        first, last = index_of(focus.start), index_of(focus.end)
        if self._focus_pending:
            self._focus_pending = False
            self.focused_bars = (first, last)
            pad = max(10, (last - first) // 2)
            self.view.set_visible_range(first - pad - 0.5, last + pad + 0.5)  # whole bars at both ends
        return [Marker(index_of(m.time), m.price, m.up, m.label, size=16.0, key=focus.key) for m in focus.marks]

    def focus_marker_count(self) -> int:
        """How many of the markers on screen come from the current focus (tests, the status line)."""
        return len(self._focus.marks) if self._focus is not None and self._loaded is not None else 0

    # -- indicators ----------------------------------------------------------------------------------
    def set_indicator(self, key: str, enabled: bool) -> None:
        self.indicators.set_indicator(key, enabled)

    def enabled_indicators(self) -> list[str]:
        return self.indicators.enabled()

    # -- readout and live bars -----------------------------------------------------------------------
    def _show_readout(self, index: int) -> None:
        """The bar under the crosshair, or the newest bar: time (zone named), OHLC, volume, change.

        Shown as the first line of the price pane's legend, where it never competes with the toolbar
        for width (at 1366 px the toolbar leaves no room for it).
        """
        count = self.view.bar_count()
        if self._loaded is None or count == 0:
            self._readout = ""
            self.view.set_readout("")
            return
        index = count - 1 if index < 0 or index >= count else index
        p = self.view.pyramid
        o, h, lo, c, v = (float(p.field(name)[index]) for name in ("open", "high", "low", "close", "volume"))
        stamp = datetime.fromtimestamp(int(p.times_ns[index]) / 1e9, UTC)
        when = self._context.display_time.format(stamp, daily=is_daily(self._loaded.data.interval))
        prev = float(p.field("close")[index - 1]) if index > 0 else o
        change = (c / prev - 1.0) * 100.0 if prev else 0.0
        prices = "  ".join(f"{k} {format_price(x)}" for k, x in (("O", o), ("H", h), ("L", lo), ("C", c)))
        self._readout = f"{when}  {prices}  V {v:,.0f}  ({change:+.2f}%)"
        color = "#26a69a" if change >= 0 else "#ef5350"
        self.view.set_readout(
            f"<span style='color:{self.view.theme.legend}'>{html.escape(when)}&nbsp;&nbsp;"
            f"{html.escape(prices).replace('  ', '&nbsp;&nbsp;')}&nbsp;&nbsp;V {v:,.0f}</span>"
            f"&nbsp;&nbsp;<span style='color:{color}'>({change:+.2f}%)</span>"
        )

    def readout_text(self) -> str:
        """The readout as plain text (the legend's first line)."""
        return self._readout

    def apply_live(self, symbol: str, events: list[MarketEvent]) -> bool:
        """The chart symbol's live messages since the last flush, in order; True when a bar is pending.

        Every message goes through the forming bar at once (cheap); the chart itself is redrawn at most
        every ``LIVE_REDRAW_MS`` (a repaint of the panes costs tens of milliseconds, the watchlist's one).
        """
        forming, loaded = self._forming, self._loaded
        if forming is None or loaded is None or symbol != loaded.data.symbol:
            return False
        shown = None
        for event in events:
            shown = forming.add(event) or shown
        if shown is None:
            return False
        if self._pending is not None and self._pending[1].timestamp != shown.timestamp:
            self._draw_pending()  # a new bar opened: the previous one is drawn complete first
        self._pending = (symbol, shown, events[-1].timestamp)
        wait = LIVE_REDRAW_MS - (time.perf_counter() - self._drawn_at) * 1000.0
        if wait <= 0:
            self._draw_pending()
        elif not self._redraw.isActive():
            self._redraw.start(int(wait))
        return True

    def _draw_pending(self) -> None:
        pending, self._pending = self._pending, None
        loaded, forming = self._loaded, self._forming
        if pending is None or loaded is None or forming is None or pending[0] != loaded.data.symbol:
            return
        symbol, shown, newest = pending
        self._drawn_at = time.perf_counter()
        changed = self.update_live_bar(
            symbol, loaded.data.interval, shown.timestamp, shown.open, shown.high, shown.low, shown.close, shown.volume
        )
        if changed:
            forming.last_time = shown.timestamp
            self.live_updates += 1
            self.live_latencies_ms.append((datetime.now(UTC) - newest).total_seconds() * 1000.0)

    def update_live_bar(
        self, symbol: str, interval: str, timestamp: datetime, o: float, h: float, lo: float, c: float, v: float
    ) -> bool:
        """Feed a streamed bar: updates the newest bar, or appends a new one; False if not on screen.

        The close is published as ``symbol``'s last price either way (price alerts, the ticket), so a
        stream can call this for every bar of every symbol it receives.
        """
        if timestamp.tzinfo is None:
            raise ValueError("live bars need a timezone-aware timestamp")
        self._context.publish_price(symbol, c)
        if self._loaded is None or symbol != self._loaded.data.symbol or interval != self._loaded.data.interval:
            return False
        time_ns = pd.Timestamp(timestamp).as_unit("ns").value
        times = self.view.pyramid.times_ns
        if len(times) and time_ns < int(times[-1]):
            return False  # older than the newest bar: a chart never gets a bar out of order
        if len(times) and time_ns == int(times[-1]):
            self.view.update_last_bar(o, h, lo, c, v)
        else:
            self.view.append_bar(time_ns, o, h, lo, c, v)
            self.tools.set_bars(symbol, self.view.pyramid.times_ns, c)
        self.tools.set_last_price(c)
        self._show_readout(-1)
        return True
