"""The backtest panel's *Stored runs* tab: every stored run with its parameters; open one, compare two."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.context import WorkstationContext
from workstation.gui.panels.backtest_plots import COLORS, EquityPlot
from workstation.gui.panels.backtest_tables import RUN_COLUMNS, compare_rows, fill_rows, read_only_table
from workstation.gui.tables import RecordTableModel, make_table_view, named, selected_records
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.trading.backtest.research import RunView

COMPARE_COLORS = (COLORS[0], COLORS[2])


class StoredRunsTab(QWidget):
    openRequested = Signal(str)  # a run id

    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.model: RecordTableModel[dict[str, Any]] = RecordTableModel(
            RUN_COLUMNS, key=lambda r: r["run_id"], parent=self
        )
        self.table = make_table_view("backtestRunsTable", self.model, 7, Qt.SortOrder.DescendingOrder, self)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.refresh_button = named(QPushButton("Refresh"), "backtestRunsRefresh")
        self.open_button = named(QPushButton("Open"), "backtestRunsOpen")
        self.compare_button = named(QPushButton("Compare two"), "backtestCompare")
        self.compare_button.setToolTip("Select two runs to see their settings and metrics side by side.")
        self.message = named(QLabel(""), "backtestRunsMessage")
        self.compare_table = read_only_table("backtestCompareTable", ["", "A", "B", "B − A"])
        self.compare_plot = EquityPlot()
        self.compare_plot.setObjectName("backtestComparePlot")
        self.compared: tuple[RunView, RunView] | None = None
        self.job: JobHandle | None = None
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.open_button, self.compare_button):
            buttons.addWidget(button)
        buttons.addWidget(self.message, 1)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.compare_table)
        lower.addWidget(self.compare_plot)
        lower.setStretchFactor(1, 2)
        lower.setSizes([640, 560])
        self.compare_table.setMinimumWidth(380)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button.clicked.connect(self.open_selected)
        self.compare_button.clicked.connect(lambda: context.perform("backtest/compare", self.compare_selected))
        self.refresh()

    def refresh(self) -> JobHandle:
        engine = self._context.engine

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> list[dict[str, Any]]:
            from sqlalchemy import inspect

            from workstation.trading.backtest.store import list_backtests

            return list_backtests(engine, limit=500) if inspect(engine).has_table("backtest_runs") else []

        handle = self._context.jobs.submit("List stored backtests", job, on_success=self._listed)
        handle.failed.connect(lambda message: self.message.setText(f"Runs not listed: {message}"))
        return handle

    def _listed(self, rows: list[dict[str, Any]]) -> None:
        self.model.set_records(rows)
        self.table.resizeColumnsToContents()

    def run_ids(self) -> list[str]:
        return [str(r["run_id"]) for r in self.model.records()]

    def select(self, run_ids: list[str]) -> None:
        """Select these runs in the table (the compare button and tests)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        proxy = self.table.model()
        for row in range(proxy.rowCount()):
            if str(proxy.index(row, 0).data()) in run_ids:
                flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
                selection.select(proxy.index(row, 0), flags)

    def open_selected(self) -> None:
        chosen = selected_records(self.table)
        if chosen:
            self.openRequested.emit(str(chosen[0]["run_id"]))

    def compare_selected(self) -> JobHandle | None:
        chosen = selected_records(self.table)
        if len(chosen) != 2:
            self.message.setText("Select exactly two runs to compare.")
            return None
        return self.compare(str(chosen[0]["run_id"]), str(chosen[1]["run_id"]))

    def compare(self, first: str, second: str) -> JobHandle:
        engine = self._context.engine

        def job(_progress: ProgressCallback, _cancel: CancelToken) -> tuple[RunView, RunView]:
            from workstation.trading.backtest.research import load_run_view

            return load_run_view(engine, first), load_run_view(engine, second)

        self.message.setText(f"Comparing {first} and {second}…")
        self.job = self._context.jobs.submit("Compare backtests", job, on_success=self.show_comparison)
        self.job.failed.connect(lambda message: self.message.setText(f"Not compared: {message}"))
        return self.job

    def show_comparison(self, pair: tuple[RunView, RunView]) -> None:
        a, b = pair
        self.compared = pair
        self.job = None
        settings: list[tuple[str, str, str, str]] = [
            ("Run", str(a.run_id), str(b.run_id), ""),
            ("Strategy", a.strategy, b.strategy, ""),
            ("Symbols", ", ".join(a.symbols), ", ".join(b.symbols), ""),
            ("From", _day(a), _day(b), ""),
        ]
        for key in dict.fromkeys([*a.parameters, *b.parameters]):
            left, right = a.parameters.get(key), b.parameters.get(key)
            settings.append((key, "—" if left is None else str(left), "—" if right is None else str(right), ""))
        metrics_a = a.metrics | {"final_value": a.final_value}
        metrics_b = b.metrics | {"final_value": b.final_value}
        fill_rows(self.compare_table, settings + compare_rows(metrics_a, metrics_b))
        self.compare_plot.show_curves({f"A {a.run_id}": a.equity, f"B {b.run_id}": b.equity}, COMPARE_COLORS)
        self.message.setText(f"A = {a.run_id}, B = {b.run_id}")


def _day(view: RunView) -> str:
    if not len(view.equity):
        return "—"
    first, last = view.equity.index[0], view.equity.index[-1]
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
