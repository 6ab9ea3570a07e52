"""File → Export report…: kind, format, date range, model / backtest, output file; built in a worker.

The report document is assembled in a job (database reads, statistics, charts). HTML, CSV and XLSX
are written in the job too; a PDF is printed on the GUI thread, because Qt's text engine
(QTextDocument / QPdfWriter) must not run on a worker thread — it takes a fraction of a second.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QStandardPaths, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.errors import WorkstationError
from workstation.gui.background import BackgroundCalls
from workstation.gui.context import WorkstationContext
from workstation.gui.tables import DOWN, named
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate
from workstation.reports.service import REPORT_FORMATS, REPORT_KINDS

_NO_DATE = QDate(1900, 1, 1)
_FORMAT_FILTERS = {
    "html": "HTML files (*.html)",
    "pdf": "PDF files (*.pdf)",
    "csv": "CSV files (*.csv)",
    "xlsx": "Excel workbooks (*.xlsx)",
}
_KIND_HELP = {
    "backtest": "One stored backtest against buy-and-hold (equity, drawdown, metrics side by side), monthly "
    "returns, trades, fills and the positions left open.",
    "trading": "Equity, drawdown, monthly returns, trades, fills with commissions and positions of a broker.",
    "models": "The verdict with 95 % intervals, held-out metrics next to the baseline per fold, confusion matrix, "
    "calibration, feature importances.",
    "activity": "Errors by component, slowest operations (p50 / p95), order rejections and alerts.",
}


def _date_edit(name: str) -> QDateEdit:
    edit = named(QDateEdit(), name)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(_NO_DATE)
    edit.setSpecialValueText("— open —")
    edit.setDate(_NO_DATE)
    return edit


def _day(edit: QDateEdit) -> date | None:
    return None if edit.date() == _NO_DATE else edit.date().toPython()  # type: ignore[return-value]


def _load_choices(engine: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Model ids (newest first) and stored backtests as (run_id, description)."""
    from workstation.ml.registry import list_models
    from workstation.trading.backtest.store import list_backtests

    models = [m.model_id for m in sorted(list_models(engine), key=lambda m: m.created_at, reverse=True)]
    runs = []
    for run in list_backtests(engine):
        symbols = ", ".join(str(s) for s in (run.get("symbols") or []))
        created = run["created_at"].strftime("%Y-%m-%d %H:%M") if run.get("created_at") else ""
        runs.append((str(run["run_id"]), f"{run['run_id']} · {run['strategy']} · {symbols} · {created}"))
    return models, runs


class ReportDialog(QDialog):
    exported = Signal(list)  # the written paths

    def __init__(
        self, context: WorkstationContext, *, model_id: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reportDialog")
        self.setWindowTitle("Export report")
        self._context = context
        self._preferred_model = model_id
        self._path_edited = False
        self.job: JobHandle | None = None
        self.written: list[Path] = []
        self.calls = BackgroundCalls(1, self)
        self.kind = named(QComboBox(), "reportKind")
        self.kind.addItems(list(REPORT_KINDS))
        self.kind.setCurrentText("activity")
        self.format = named(QComboBox(), "reportFormat")
        self.format.addItems(list(REPORT_FORMATS))
        self.start = _date_edit("reportFrom")
        self.end = _date_edit("reportTo")
        self.model_id = named(QComboBox(), "reportModel")
        self.model_id.setEditable(True)
        if model_id:
            self.model_id.addItem(model_id)
        self.backtest_id = named(QComboBox(), "reportBacktest")
        self.broker = named(QComboBox(), "reportBroker")
        self.broker.addItems(["paper", "alpaca"])
        self.timezone = named(QLineEdit("America/New_York"), "reportTimezone")
        self.output = named(QLineEdit(), "reportOutput")
        self.output.textEdited.connect(lambda _t: setattr(self, "_path_edited", True))
        self.browse = named(QPushButton("Browse…"), "reportBrowse")
        self.browse.clicked.connect(self.choose_output)
        self.help = named(QLabel(""), "reportHelp")
        self.help.setWordWrap(True)
        self.message = named(QLabel(""), "reportMessage")
        self.message.setWordWrap(True)
        self.progress = named(QProgressBar(), "reportProgress")
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = named(QPushButton("Export"), "reportExport")
        self.export_button.setDefault(True)
        self.buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.export_button.clicked.connect(lambda: context.perform("reports/export", self.export))
        self._build_layout()
        self.kind.currentTextChanged.connect(lambda _t: self._kind_changed())
        self.format.currentTextChanged.connect(lambda _t: self._suggest_output())
        self._kind_changed()
        engine = context.engine
        self.calls.run(lambda: _load_choices(engine), self._choices_loaded)

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Kind", self.kind)
        form.addRow("", self.help)
        form.addRow("Format", self.format)
        dates = QHBoxLayout()
        dates.addWidget(self.start)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.end)
        form.addRow("Period", dates)
        form.addRow("Model", self.model_id)
        form.addRow("Backtest", self.backtest_id)
        form.addRow("Broker", self.broker)
        form.addRow("Time zone", self.timezone)
        out = QHBoxLayout()
        out.addWidget(self.output, 1)
        out.addWidget(self.browse)
        form.addRow("Save to", out)
        self._form = form
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def _choices_loaded(self, result: Any, error: str | None) -> None:
        if error is not None:
            self.message.setText(f"Models and backtests not loaded: {error}")
            return
        models, runs = result
        current = self.model_id.currentText()
        self.model_id.clear()
        self.model_id.addItems(models)
        self.model_id.setCurrentText(self._preferred_model or current or (models[0] if models else ""))
        self.backtest_id.clear()
        for run_id, description in runs:
            self.backtest_id.addItem(description, run_id)

    def _kind_changed(self) -> None:
        kind = self.kind.currentText()
        self.help.setText(_KIND_HELP.get(kind, ""))
        self._form.setRowVisible(self.model_id, kind == "models")
        self._form.setRowVisible(self.backtest_id, kind == "backtest")
        self._form.setRowVisible(self.broker, kind == "trading")
        self._suggest_output()

    def _suggest_output(self) -> None:
        if self._path_edited and self.output.text():
            # Keep the user's folder and name; only the suffix follows the format.
            self.output.setText(str(Path(self.output.text()).with_suffix(f".{self.format.currentText()}")))
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        name = f"{self.kind.currentText()}-report-{date.today().isoformat()}.{self.format.currentText()}"
        self.output.setText(str(Path(folder) / name))

    def choose_output(self) -> None:
        fmt = self.format.currentText()
        path, _ = QFileDialog.getSaveFileName(self, "Save report as", self.output.text(), _FORMAT_FILTERS[fmt])
        if path:
            self._path_edited = True
            self.output.setText(path if Path(path).suffix else f"{path}.{fmt}")

    # -- export -------------------------------------------------------------------------------------------
    def request(self) -> dict[str, Any]:
        """The build_report arguments of the form; a WorkstationError says what is missing."""
        from workstation.reports.period import ReportPeriod

        kind = self.kind.currentText()
        start, end = _day(self.start), _day(self.end)
        if start and end and start > end:
            raise WorkstationError("The period starts after it ends.")
        model_id = self.model_id.currentText().strip() or None
        backtest_id = self.backtest_id.currentData() or (self.backtest_id.currentText().strip() or None)
        if kind == "models" and not model_id:
            raise WorkstationError("Choose the model to report on (train one in the Models panel first).")
        if kind == "backtest" and not backtest_id:
            from workstation.reports.backtest import HOW_TO_RUN_A_BACKTEST

            raise WorkstationError(f"No stored backtest: {HOW_TO_RUN_A_BACKTEST}.")
        if not self.output.text().strip():
            raise WorkstationError("Choose where to save the report.")
        return {
            "kind": kind,
            "period": ReportPeriod(start, end),
            "model_id": model_id if kind == "models" else None,
            "backtest_id": backtest_id if kind == "backtest" else None,
            "broker": self.broker.currentText(),
            "timezone": self.timezone.text().strip() or "America/New_York",
        }

    def export(self) -> JobHandle | None:
        if self.job is not None:
            return self.job
        try:
            arguments = self.request()
        except WorkstationError as exc:
            self._show(str(exc), error=True)
            return None
        fmt, out = self.format.currentText(), Path(self.output.text().strip()).expanduser()
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> tuple[Any, list[Path]]:
            from workstation.reports.service import build_report, write_report

            progress(ProgressUpdate(0, 2, f"building the {arguments['kind']} report"))
            document = build_report(engine, **arguments)
            cancel.raise_if_cancelled()
            if fmt == "pdf":
                return document, []  # printed on the GUI thread (Qt's text engine)
            progress(ProgressUpdate(1, 2, f"writing {fmt.upper()}"))
            return document, write_report(document, fmt, out)  # type: ignore[arg-type]

        self.job = self._context.jobs.submit(f"Export {arguments['kind']} report ({fmt})", job)
        self.job.succeeded.connect(lambda result: self._built(result, fmt, out))
        self.job.failed.connect(lambda message: self._ended(f"Export failed: {message}", error=True))
        self.job.cancelled.connect(lambda: self._ended("Export cancelled."))
        self.job.progressed.connect(lambda _d, _t, text: self.message.setText(text))
        self.progress.show()
        self.export_button.setEnabled(False)
        self._show("Building the report…")
        return self.job

    def _built(self, result: tuple[Any, list[Path]], fmt: str, out: Path) -> None:
        document, written = result
        if fmt == "pdf":
            from workstation.reports.service import write_report

            try:
                written = write_report(document, "pdf", out)
            except (OSError, WorkstationError) as exc:
                self._ended(f"Export failed: {exc}", error=True)
                return
        self.job = None
        self.written = list(written)
        names = ", ".join(str(p) for p in written) if written else "nothing (the report has no tables)"
        self._context.notify.emit("info", f"Report written: {names}")
        self.exported.emit(self.written)
        self.progress.hide()
        self.export_button.setEnabled(True)
        self.accept()

    def _ended(self, message: str, error: bool = False) -> None:
        self.job = None
        self.progress.hide()
        self.export_button.setEnabled(True)
        self._show(message, error=error)

    def _show(self, message: str, error: bool = False) -> None:
        self.message.setText(message)
        self.message.setStyleSheet(f"color: {DOWN};" if error else "")

    def reject(self) -> None:
        if self.job is not None:
            self.job.cancel()
        self.calls.shutdown(2000)
        super().reject()
