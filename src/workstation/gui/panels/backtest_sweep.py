"""The backtest panel's *Sweep* tab: a parameter grid over the Backtest tab's settings, run in worker processes.

The heatmap shows the chosen metric over the two swept parameters (the best point starred); beside it
the best point with the number of points tried and its deflated Sharpe ratio, the ranking, and the
walk-forward windows (in-sample vs out-of-sample) when asked for. A click on a cell runs that point as a
single backtest in the Backtest tab. Stored sweeps can be reopened and exported.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workstation.errors import WorkstationError
from workstation.gui.context import WorkstationContext
from workstation.gui.panels.backtest_export import ask_path, export_document
from workstation.gui.panels.backtest_form import BacktestForm
from workstation.gui.panels.backtest_plots import Heatmap
from workstation.gui.panels.backtest_tables import METRICS, fill_rows, format_metric, read_only_table
from workstation.gui.tables import DOWN, named
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.reports.service import REPORT_FORMATS
from workstation.trading.backtest.sweep import RANKING
from workstation.trading.backtest.sweep_view import SweepView

_KINDS = {key: kind for key, _label, kind in METRICS}


class SweepTab(QWidget):
    pointRequested = Signal(dict)  # a heatmap cell's parameters

    def __init__(self, context: WorkstationContext, form: BacktestForm, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._form = form
        self.executor: Executor | None = None  # None: the local process pool
        self.view: SweepView | None = None
        self.job: JobHandle | None = None
        self.export_job: JobHandle | None = None
        self.written: list[Path] = []
        self.grid = named(QLineEdit("fast=5:50:5,slow=20:200:10"), "backtestGrid")
        self.rank_metric = named(QComboBox(), "backtestSweepMetric")
        self.rank_metric.addItems(list(RANKING))
        self.walk_forward = named(QLineEdit(), "backtestWalkForward")
        self.walk_forward.setPlaceholderText("optional TRAIN:TEST bars, e.g. 500:250")
        self.run_button = named(QPushButton("Run sweep"), "backtestSweepRun")
        self.cancel_button = named(QPushButton("Cancel"), "backtestSweepCancel")
        self.cancel_button.setEnabled(False)
        self.progress = named(QProgressBar(), "backtestSweepProgress")
        self.progress.setMaximumHeight(10)
        self.progress.setTextVisible(False)
        self.status = named(QLabel("Symbols, dates and costs come from the Backtest tab."), "backtestSweepStatus")
        self.status.setWordWrap(True)
        self.best = named(QLabel(""), "backtestSweepBest")
        self.best.setWordWrap(True)
        self.best.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.shown_metric = named(QComboBox(), "backtestHeatmapMetric")
        self.shown_metric.addItems([k for k, _l, _k in METRICS])
        self.stored = named(QComboBox(), "backtestSweeps")
        self.open_button = named(QPushButton("Open"), "backtestSweepOpen")
        self.export_format = named(QComboBox(), "backtestSweepExportFormat")
        self.export_format.addItems(list(REPORT_FORMATS))
        self.export_button = named(QPushButton("Export…"), "backtestSweepExport")
        self.export_button.setEnabled(False)
        self.heatmap = Heatmap()
        self.heatmap.cellClicked.connect(self.pointRequested.emit)
        self.ranking = read_only_table("backtestSweepTable", ["Point", "Metric"])
        self.windows = read_only_table(
            "backtestWalkForwardTable", ["Test window", "Chosen", "In-sample", "Out-of-sample"]
        )
        self._build()
        self.run_button.clicked.connect(lambda: context.perform("backtest/sweep", self.run))
        self.cancel_button.clicked.connect(self.cancel)
        self.shown_metric.currentTextChanged.connect(lambda _t: self._redraw())
        self.open_button.clicked.connect(lambda: self.open_sweep(str(self.stored.currentData() or "")))
        self.export_button.clicked.connect(self._export_clicked)
        self.refresh()

    def _build(self) -> None:
        form = QFormLayout()
        form.addRow("Grid", self.grid)
        form.addRow("Rank by", self.rank_metric)
        form.addRow("Walk-forward", self.walk_forward)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Stored"))
        buttons.addWidget(self.stored, 1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.export_format)
        buttons.addWidget(self.export_button)
        shown = QHBoxLayout()
        shown.addWidget(QLabel("Heatmap of"))
        shown.addWidget(self.shown_metric)
        shown.addStretch(1)
        heat = QWidget()
        heat_layout = QVBoxLayout(heat)
        heat_layout.setContentsMargins(0, 0, 0, 0)
        heat_layout.addLayout(shown)
        heat_layout.addWidget(self.heatmap, 1)
        tables = QTabWidget()
        tables.addTab(self.ranking, "Ranking")
        tables.addTab(self.windows, "Walk-forward")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(heat)
        split.addWidget(tables)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.best)
        layout.addWidget(split, 1)

    # -- stored sweeps ---------------------------------------------------------------------------------
    def refresh(self) -> JobHandle:
        engine = self._context.engine

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> list[dict[str, Any]]:
            from sqlalchemy import inspect

            from workstation.trading.backtest.sweep_store import list_sweeps

            return list_sweeps(engine) if inspect(engine).has_table("backtest_sweeps") else []

        return self._context.jobs.submit("List stored sweeps", job, on_success=self._listed)

    def _listed(self, rows: list[dict[str, Any]]) -> None:
        self.stored.clear()
        for row in rows:
            grid = ",".join(f"{k}={min(v)}:{max(v)}" for k, v in (row.get("grid") or {}).items())
            symbols = ", ".join(row.get("symbols") or [])
            self.stored.addItem(
                f"{row['sweep_id']} · {grid} · {symbols} · {row['points_tried']} points", row["sweep_id"]
            )

    def open_sweep(self, sweep_id: str) -> JobHandle | None:
        if not sweep_id:
            return None
        engine = self._context.engine

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> SweepView:
            from workstation.trading.backtest.sweep_view import load_sweep_view

            return load_sweep_view(engine, sweep_id)

        handle = self._context.jobs.submit(f"Load sweep {sweep_id}", job, on_success=self.show_sweep)
        handle.failed.connect(lambda message: self._show(f"Not loaded: {message}", error=True))
        return handle

    # -- running ---------------------------------------------------------------------------------------
    def run(self) -> JobHandle | None:
        if self.job is not None:
            return self.job
        try:
            request = self._form.request()
            if request.strategy != "sma_cross":
                raise WorkstationError("Sweeps run sma_cross: choose it in the Backtest tab.")
        except WorkstationError as exc:
            self._show(str(exc), error=True)
            return None
        engine, executor = self._context.engine, self.executor
        grid, metric = self.grid.text(), self.rank_metric.currentText()
        walk = self.walk_forward.text().strip() or None

        def job(progress: ProgressCallback, cancel: CancelToken) -> SweepView:
            from workstation.trading.backtest.sweep_view import run_sweep_request

            return run_sweep_request(
                engine, request, grid, metric=metric, walk_forward=walk, executor=executor,
                progress=progress, cancel=cancel,
            )  # fmt: skip

        self.job = self._context.jobs.submit(f"Sweep {grid}", job, on_success=self._finished)
        self.job.progressed.connect(self._progressed)
        self.job.failed.connect(lambda message: self._ended(f"Sweep failed: {message}", error=True))
        self.job.cancelled.connect(lambda: self._ended("Sweep cancelled."))
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self._show(f"Sweeping {grid} on {', '.join(request.symbols)}…")
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _progressed(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(message)

    def _finished(self, view: SweepView) -> None:
        self._ended(f"Stored as {view.sweep_id}." if view.sweep_id else "Done.")
        self.show_sweep(view)
        self.refresh()

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

    # -- showing ---------------------------------------------------------------------------------------
    def show_sweep(self, view: SweepView) -> None:
        self.view = view
        self.export_button.setEnabled(view.sweep_id is not None)
        self.shown_metric.blockSignals(True)
        self.shown_metric.setCurrentText(view.metric)
        self.shown_metric.blockSignals(False)
        best = " ".join(f"{k}={v}" for k, v in (view.best_params or {}).items()) or "none"
        best_point = next((p for p in view.points if p["params"] == view.best_params), None)
        value = (
            format_metric(best_point["metrics"].get(view.metric), _KINDS.get(view.metric, "number"))
            if best_point
            else "—"
        )
        dsr = "n/a" if view.deflated_sharpe is None else f"{view.deflated_sharpe:.3f}"
        self.best.setText(
            f"Best of {view.tried} points tried ({view.skipped} skipped): {best}, {view.metric} {value} · "
            f"deflated Sharpe ratio {dsr} (the chance its Sharpe beats the best of {view.tried} lucky trials)"
        )
        self._redraw()
        self._show_windows(view.walk_forward)

    def _redraw(self) -> None:
        view = self.view
        if view is None:
            return
        metric = self.shown_metric.currentText()
        xs, ys, values = view.matrix(metric)
        names = list(view.axes)
        self.heatmap.show_grid(names, xs, ys, values, metric, view.best_params)
        kind = _KINDS.get(metric, "number")
        rows = [
            (" ".join(f"{k}={v}" for k, v in p["params"].items()), format_metric(p["metrics"].get(metric), kind))
            for p in view.ranked(metric)
        ]
        self.ranking.setHorizontalHeaderLabels(["Point", metric])
        fill_rows(self.ranking, rows)

    def _show_windows(self, walk: dict[str, Any] | None) -> None:
        if not walk:
            fill_rows(self.windows, [])
            return
        metric, kind = walk["metric"], _KINDS.get(walk["metric"], "number")
        rows = [
            (
                f"{w['test'][0][:10]} to {w['test'][1][:10]}",
                " ".join(f"{k}={v}" for k, v in w["params"].items()),
                format_metric(w["in_sample"].get(metric), kind),
                format_metric(w["out_of_sample"].get(metric), kind),
            )
            for w in walk["windows"]
        ]
        summary = walk.get("summary") or {}
        rows.append(
            (
                "mean",
                "",
                format_metric(summary.get(f"in_sample_{metric}"), kind),
                format_metric(summary.get(f"out_of_sample_{metric}"), kind),
            )
        )
        fill_rows(self.windows, rows)

    # -- export ----------------------------------------------------------------------------------------
    def _export_clicked(self) -> None:
        if self.view is None or self.view.sweep_id is None:
            return
        fmt = self.export_format.currentText()
        out = ask_path(self, f"sweep-{self.view.sweep_id}", fmt)
        if out is not None:
            self._context.perform("backtest/export_sweep", lambda: self.export_sweep(fmt, out))

    def export_sweep(self, fmt: str, out: Path) -> JobHandle | None:
        if self.view is None or self.view.sweep_id is None:
            return None
        engine, sweep_id = self._context.engine, self.view.sweep_id
        timezone = getattr(self._context.display_time.zone, "key", None) or "UTC"

        def build() -> Any:
            from workstation.reports.sweep import build_sweep_report

            return build_sweep_report(engine, sweep_id, timezone=timezone)

        self.export_job = export_document(self._context, f"Export sweep {sweep_id}", build, fmt, out, self._exported)
        return self.export_job

    def _exported(self, written: list[Path] | None, error: str | None) -> None:
        self.export_job = None
        if error is not None:
            self._show(f"Export failed: {error}", error=True)
            return
        self.written = list(written or [])
        self._show(f"Written: {', '.join(str(p) for p in self.written)}")
