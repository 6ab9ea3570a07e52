"""backtestPanel (Ctrl+8): run, inspect, compare and export backtests, and sweep their parameters.

Tabs: *Backtest* — the settings (strategy, the watchlist's selected symbols, dates, parameters, costs),
Run and Cancel (the run is a job: progress in the bar), the equity and drawdown curves against
buy-and-hold of the same symbols (and a benchmark symbol when given), the metrics and the trades; a
click on a trade puts the chart on it with its entry and exit marked. *Stored runs* — every stored
backtest with its parameters; open one, or compare two side by side. *Sweep* — a parameter grid run
in worker processes, its heatmap, the best point next to the number tried and its deflated Sharpe ratio,
and walk-forward. Runs and sweeps export through the report service (HTML, PDF, CSV, XLSX).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.errors import WorkstationError
from workstation.gui.chart.focus import ChartFocus, ChartMark
from workstation.gui.context import WorkstationContext
from workstation.gui.panels.backtest_export import ask_path, export_document
from workstation.gui.panels.backtest_form import BacktestForm
from workstation.gui.panels.backtest_plots import EquityPlot
from workstation.gui.panels.backtest_runs import StoredRunsTab
from workstation.gui.panels.backtest_sweep import SweepTab
from workstation.gui.panels.backtest_tables import TRADE_COLUMNS, fill_rows, metric_rows, read_only_table
from workstation.gui.tables import DOWN, RecordTableModel, make_table_view, named, record_at
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.reports.service import REPORT_FORMATS
from workstation.trading.backtest.research import RunView


def _scrolled(page: QWidget) -> QScrollArea:
    page.setMinimumSize(560, 300)  # below this the page scrolls instead of squeezing its plots
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class BacktestPanel(QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.view: RunView | None = None
        self.job: JobHandle | None = None
        self.export_job: JobHandle | None = None
        self.written: list[Any] = []
        self.form = BacktestForm()
        self.run_button = named(QPushButton("Run"), "backtestRun")
        self.cancel_button = named(QPushButton("Cancel"), "backtestCancel")
        self.cancel_button.setEnabled(False)
        self.export_format = named(QComboBox(), "backtestExportFormat")
        self.export_format.addItems(list(REPORT_FORMATS))
        self.export_button = named(QPushButton("Export…"), "backtestExport")
        self.export_button.setEnabled(False)
        self.progress = named(QProgressBar(), "backtestProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.status = named(QLabel("Select symbols in the watchlist and press Run."), "backtestStatus")
        self.status.setWordWrap(True)
        self.plot = EquityPlot()
        self.metrics = read_only_table("backtestMetrics", ["Metric", "Value"])
        self.metrics.setMinimumWidth(250)
        self.trade_model: RecordTableModel[dict[str, Any]] = RecordTableModel(
            TRADE_COLUMNS, key=lambda t: (t["symbol"], t["entry_time"]), parent=self
        )
        self.trades = make_table_view("backtestTrades", self.trade_model, 3, Qt.SortOrder.AscendingOrder, self)
        self.trades.setToolTip("Click a trade to show it on the chart with its entry and exit.")
        self.trades.clicked.connect(lambda index: self.open_trade(index.row()))
        self.runs = StoredRunsTab(context, self)
        self.runs.openRequested.connect(self.open_run)
        self.sweep = SweepTab(context, self.form, self)
        self.sweep.pointRequested.connect(self._run_point)
        self.tabs = named(QTabWidget(), "backtestTabs")
        # Each page scrolls: the panel shares a row below the chart and must not force its height up.
        self.tabs.addTab(_scrolled(self._build_run_tab()), "Backtest")
        self.tabs.addTab(_scrolled(self.runs), "Stored runs")
        self.tabs.addTab(_scrolled(self.sweep), "Sweep")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tabs)
        self.run_button.clicked.connect(lambda: context.perform("backtest/run", self.run))
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._export_clicked)
        self._focused_symbol: str | None = None
        context.selectedSymbolsChanged.connect(self._selection_changed)
        self.form.set_symbols(context.selected_symbols)
        context.engineChanged.connect(self._database_changed)
        context.databaseChanged.connect(self._database_changed)
        self._load_models()

    def _build_run_tab(self) -> QWidget:
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(240)
        buttons = QHBoxLayout()
        for widget in (self.run_button, self.cancel_button, self.export_format, self.export_button):
            buttons.addWidget(widget)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.status)
        tables = QSplitter(Qt.Orientation.Horizontal)
        tables.addWidget(self.metrics)
        tables.addWidget(self.trades)
        tables.setStretchFactor(1, 2)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.plot)
        right.addWidget(tables)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        return split

    def _selection_changed(self, symbols: list[str]) -> None:
        # A trade click makes its symbol the current one, and the watchlist then selects it alone:
        # that is the chart following the trade, not the user choosing what to backtest.
        if self._focused_symbol is not None and symbols == [self._focused_symbol]:
            self._focused_symbol = None
            return
        self._focused_symbol = None
        self.form.set_symbols(symbols)

    def _database_changed(self) -> None:
        self.runs.refresh()
        self.sweep.refresh()
        self._load_models()

    def _load_models(self) -> None:
        engine = self._context.engine

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> list[str]:
            from sqlalchemy import inspect

            from workstation.ml.registry import list_models

            if not inspect(engine).has_table("models"):  # a brand-new database: no schema yet
                return []
            return [m.model_id for m in list_models(engine)]

        self._context.jobs.submit("Load models for backtests", job, on_success=self.form.set_models)

    # -- running ---------------------------------------------------------------------------------------
    def run(self) -> JobHandle | None:
        if self.job is not None:
            return self.job
        try:
            request = self.form.request()
        except WorkstationError as exc:
            self._show(str(exc), error=True)
            return None
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> RunView:
            from workstation.trading.backtest.research import run_request

            return run_request(engine, request, progress=progress, cancel=cancel)

        label = f"Backtest {request.strategy} on {', '.join(request.symbols)}"
        self.job = self._context.jobs.submit(label, job, on_success=self._finished)
        self.job.progressed.connect(self._progressed)
        self.job.failed.connect(lambda message: self._ended(f"Backtest failed: {message}", error=True))
        self.job.cancelled.connect(lambda: self._ended("Backtest cancelled."))
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self._show(f"Running {label}…")
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _progressed(self, done: int, total: int, _message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _finished(self, view: RunView) -> None:
        self._ended(f"Stored as {view.run_id}." if view.run_id else "Done.")
        self.show_run(view)
        self.runs.refresh()

    def _ended(self, message: str, error: bool = False) -> None:
        self.job = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._show(message, error=error)

    def _show(self, message: str, error: bool = False) -> None:
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {DOWN};" if error else "")

    def _run_point(self, params: dict[str, int]) -> None:
        """A heatmap cell: that point as a single backtest here (stored, with trades and curves)."""
        self.form.strategy.setCurrentText("sma_cross")
        self.form.fast.setValue(int(params.get("fast", self.form.fast.value())))
        self.form.slow.setValue(int(params.get("slow", self.form.slow.value())))
        self.tabs.setCurrentIndex(0)
        self._context.perform("backtest/run_point", self.run, metadata=params)

    # -- showing ---------------------------------------------------------------------------------------
    def show_run(self, view: RunView) -> None:
        self.view = view
        name = " ".join(f"{k}={v}" for k, v in view.parameters.items() if k in ("fast", "slow")) or view.strategy
        curves = {f"{view.strategy} {name}".strip(): view.equity, "Buy and hold": view.buy_and_hold}
        if view.benchmark_symbol:
            curves[f"Benchmark {view.benchmark_symbol}"] = view.benchmark
        self.plot.show_curves(curves)
        extra: dict[str, Any] = {"final_value": view.final_value}
        if view.buy_and_hold is not None and len(view.buy_and_hold):
            hold_return = float(view.buy_and_hold.iloc[-1]) / view.initial_cash - 1
            rows = [*metric_rows(view.metrics, extra), ("Buy-and-hold return", f"{hold_return:.2%}")]
        else:
            rows = metric_rows(view.metrics, extra)
        fill_rows(self.metrics, rows)
        self.trade_model.set_records([])
        self.trade_model.set_records(view.trades)
        self.export_button.setEnabled(view.run_id is not None)

    def open_run(self, run_id: str) -> JobHandle:
        engine = self._context.engine
        benchmark = self.form.benchmark.text().strip().upper() or None

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> RunView:
            from workstation.trading.backtest.research import load_run_view

            return load_run_view(engine, run_id, benchmark)

        self.tabs.setCurrentIndex(0)
        self._show(f"Loading {run_id}…")
        handle = self._context.jobs.submit(f"Load backtest {run_id}", job, on_success=self._opened)
        handle.failed.connect(lambda message: self._show(f"Not loaded: {message}", error=True))
        return handle

    def _opened(self, view: RunView) -> None:
        self._show(f"Stored run {view.run_id}.")
        self.show_run(view)

    def trade_focus(self, row: int) -> ChartFocus | None:
        """The chart focus of the trade shown in ``row``: its symbol and span, entry and exit marked."""
        if self.view is None or not (0 <= row < self.trade_model.rowCount()):
            return None
        trade = record_at(self.trades, row)
        long = trade["direction"] == "long"
        marks = [ChartMark(trade["entry_time"], trade["entry_price"], long, f"entry {trade['direction']}")]
        end = trade["exit_time"] or self.view.equity.index[-1].to_pydatetime()
        if trade["exit_time"] is not None:
            marks.append(ChartMark(end, trade["exit_price"], not long, f"exit, P&L {trade['pnl']:+,.2f}"))
        return ChartFocus(
            trade["symbol"], trade["entry_time"], end, self.view.interval, tuple(marks), key=f"trade:{self.view.run_id}"
        )

    def open_trade(self, row: int) -> None:
        focus = self.trade_focus(row)
        if focus is not None:
            if focus.symbol != self._context.symbol:
                self._focused_symbol = focus.symbol
            self._context.perform(
                "backtest/open_trade", lambda: self._context.focus_chart(focus), metadata={"symbol": focus.symbol}
            )

    # -- export ----------------------------------------------------------------------------------------
    def _export_clicked(self) -> None:
        if self.view is None or self.view.run_id is None:
            return
        fmt = self.export_format.currentText()
        out = ask_path(self, f"backtest-{self.view.run_id}", fmt)
        if out is not None:
            self._context.perform("backtest/export", lambda: self.export_run(fmt, out))

    def export_run(self, fmt: str, out: Any) -> JobHandle | None:
        """Write the shown run's backtest report (the report service) as ``fmt`` to ``out``."""
        if self.view is None or self.view.run_id is None:
            return None
        engine, run_id = self._context.engine, self.view.run_id
        timezone = getattr(self._context.display_time.zone, "key", None) or "UTC"

        def build() -> Any:
            from workstation.reports.service import build_report

            return build_report(engine, "backtest", backtest_id=run_id, timezone=timezone)

        self._show(f"Exporting {run_id} as {fmt.upper()}…")
        self.export_job = export_document(self._context, f"Export backtest {run_id}", build, fmt, out, self._exported)
        return self.export_job

    def _exported(self, written: list[Any] | None, error: str | None) -> None:
        self.export_job = None
        if error is not None:
            self._show(f"Export failed: {error}", error=True)
            return
        self.written = list(written or [])
        self._show(f"Written: {', '.join(str(p) for p in self.written)}")
