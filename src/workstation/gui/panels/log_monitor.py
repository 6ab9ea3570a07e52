"""logMonitorPanel: recent_system_activity as a live tail, with filters, details, traces and alerts.

Every second a poller (its own thread, never the GUI's) asks the database for rows newer than the
newest seen (dashboard.activity.ActivityTail); the model appends them in one batch and drops the
oldest beyond its cap. The view follows the tail until the user scrolls back; then a "Resume"
button shows how many rows arrived meanwhile. Alert rules are evaluated every 15 s: new alerts
raise a notification, resolved ones say so, and the active ones stay listed above the tail with
their rows tinted. "Trace" replaces the tail with everything that shares a correlation id.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workstation.dashboard.activity import ActivityFilter, ActivityTail
from workstation.gui.alert_notices import AlertNotices
from workstation.gui.context import WorkstationContext
from workstation.gui.panels.log_detail import AlertsStrip, alert_ids, describe_entry
from workstation.gui.panels.log_model import ActivityModel
from workstation.gui.pollers import Poller, PollRound
from workstation.jobs import CancelToken, ProgressCallback
from workstation.monitoring.alerts import Alert, AlertThresholds, evaluate_alerts
from workstation.monitoring.query import VIEW_SOURCES, ActivityEntry, trace

TAIL_INTERVAL_MS = 1000
ALERT_INTERVAL_MS = 15_000
_SEVERITIES = [("All severities", ""), ("Info and above", "INFO"), ("Warnings and above", "WARNING"),
               ("Errors and above", "ERROR"), ("Critical only", "CRITICAL")]  # fmt: skip
_MANY_ALERTS = 3  # more raised at once than this → one summarising notification


class LogMonitorPanel(QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.model = ActivityModel(parent=self)
        self.tail = ActivityTail()
        self.notices = AlertNotices(context.settings)
        self.thresholds = AlertThresholds()
        self.following = True
        self.unseen = 0
        self.tracing: str | None = None
        self._ready = False
        self._scrolling = False
        self._build()
        self.tail_poller = context.jobs.add_poller(Poller("logTail", TAIL_INTERVAL_MS, self._tail_round, self))
        self.tail_poller.result.connect(self._tail_result)
        self.tail_poller.failed.connect(self._tail_failed)
        self.alert_poller = context.jobs.add_poller(Poller("alerts", ALERT_INTERVAL_MS, self._alert_round, self))
        self.alert_poller.result.connect(self._alerts_result)
        self.alert_poller.failed.connect(lambda message: self.alerts.setToolTip(f"Alert rules failed: {message}"))
        context.databaseChanged.connect(self._database_ready)
        context.engineChanged.connect(self._engine_changed)
        context.refreshRequested.connect(self._refresh)

    # -- construction --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.severity = QComboBox()
        self.severity.setObjectName("logSeverity")
        for label, value in _SEVERITIES:
            self.severity.addItem(label, value)
        self.source = QComboBox()
        self.source.setObjectName("logSource")
        self.source.addItem("All sources", "")
        for source in VIEW_SOURCES:
            self.source.addItem(source.replace("_", " "), source)
        self.component = QLineEdit(placeholderText="Component, e.g. workstation.market")
        self.component.setObjectName("logComponent")
        self.text = QLineEdit(placeholderText="Search messages…")
        self.text.setObjectName("logText")
        self.correlation = QLineEdit(placeholderText="Correlation id")
        self.correlation.setObjectName("logCorrelation")
        for edit in (self.component, self.text, self.correlation):
            edit.setClearButtonEnabled(True)
        self._debounce = QTimer(self, singleShot=True, interval=350)
        self._debounce.timeout.connect(self.apply_filters)
        self.severity.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.source.currentIndexChanged.connect(lambda _i: self.apply_filters())
        for edit in (self.component, self.text, self.correlation):
            edit.textChanged.connect(lambda _t: self._debounce.start())
        self.trace_button = QPushButton("Trace")
        self.trace_button.setObjectName("logTrace")
        self.trace_button.setToolTip("Show everything that shares the selected row's correlation id")
        self.trace_button.clicked.connect(lambda: self._context.perform("logMonitor/trace", self.trace_selected))
        self.alerts = AlertsStrip()
        self.alerts.traceRequested.connect(
            lambda cid: self._context.perform("logMonitor/alert", lambda: self.show_trace(cid))
        )
        self.trace_bar = QWidget()
        self.trace_label = QLabel()
        self.trace_label.setObjectName("traceLabel")
        back = QPushButton("Back to live tail")
        back.setObjectName("logBackToTail")
        back.clicked.connect(lambda: self._context.perform("logMonitor/back", self.back_to_tail))
        trace_layout = QHBoxLayout(self.trace_bar)
        trace_layout.setContentsMargins(0, 0, 0, 0)
        trace_layout.addWidget(self.trace_label, 1)
        trace_layout.addWidget(back)
        self.trace_bar.hide()
        self.table = QTableView()
        self.table.setObjectName("logTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        samples = ("2026-12-31 23:59:59.999", "CRITICAL", "timing", "workstation.gui.notifications")
        for column, sample in enumerate(samples):
            # The theme's font may be larger than the one measured before it applies: some slack.
            header.resizeSection(column, int(metrics.horizontalAdvance(sample) * 1.15) + 20)
        header.resizeSection(4, 360)
        header.setStretchLastSection(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().currentRowChanged.connect(self._show_detail)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.detail = QPlainTextEdit(readOnly=True)
        self.detail.setObjectName("logDetail")
        self.detail.setPlaceholderText("Select a row to see its details and metadata.")
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.detail.setFont(mono)
        # Side by side: the monitor is a wide, short strip under the chart.
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("logSplitter")
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 480])
        self.status = QLabel()
        self.status.setObjectName("logStatus")
        self.resume_button = QPushButton("Resume live tail")
        self.resume_button.setObjectName("logResume")
        self.resume_button.clicked.connect(lambda: self._context.perform("logMonitor/resume", self.resume))
        self.resume_button.hide()
        filters = QHBoxLayout()
        filters.addWidget(self.severity)
        filters.addWidget(self.source)
        filters.addWidget(self.component, 2)
        filters.addWidget(self.text, 3)
        filters.addWidget(self.correlation, 2)
        filters.addWidget(self.trace_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.alerts)
        layout.addLayout(filters)
        layout.addWidget(self.trace_bar)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        self.setFocusProxy(self.table)
        self._update_status()

    # -- the live tail -------------------------------------------------------------------------------
    def _database_ready(self) -> None:
        self._ready = True
        if not self.tail_poller.running:
            self.tail_poller.start()
            self.alert_poller.start()
        else:
            self.tail_poller.poll_now()

    def _engine_changed(self) -> None:
        self._ready = False  # until the window announces the new database as usable
        self.notices.forget_session()
        self.alerts.set_alerts([])
        self._restart_tail(self.tail.filters)

    def _refresh(self) -> None:
        if self.tracing:
            self.show_trace(self.tracing)
        else:
            self.alert_poller.poll_now()

    def current_filters(self) -> ActivityFilter:
        return ActivityFilter(
            min_severity=str(self.severity.currentData() or ""),
            component=self.component.text(),
            source=str(self.source.currentData() or ""),
            text=self.text.text(),
            correlation_id=self.correlation.text(),
        )

    def apply_filters(self) -> None:
        filters = self.current_filters()
        if filters != self.tail.filters:
            self._restart_tail(filters)

    def _restart_tail(self, filters: ActivityFilter) -> None:
        self.tail = ActivityTail(filters)
        self.model.clear()
        self.detail.clear()
        self.unseen = 0
        self.following = True
        self.resume_button.hide()
        self._update_status()
        self.tail_poller.invalidate()

    def _tail_round(self) -> PollRound | None:
        if not self._ready or self.tracing:
            return None
        tail, engine = self.tail, self._context.engine
        return lambda: (tail, tail.poll(engine))

    def _tail_result(self, result: tuple[ActivityTail, list[ActivityEntry]]) -> None:
        tail, entries = result
        if tail is not self.tail or self.tracing:
            return  # filters changed meanwhile: those rows belong to the old tail
        self._tail_error = ""
        self._append(entries)

    def _tail_failed(self, message: str) -> None:
        self._tail_error = message
        self._update_status()

    def _append(self, entries: list[ActivityEntry]) -> None:
        if entries:
            bar = self.table.verticalScrollBar()
            before = bar.value()
            self._scrolling = True
            try:
                dropped = self.model.append(entries)
                if self.following:
                    self.table.scrollToBottom()
                elif dropped:
                    bar.setValue(max(0, before - dropped))  # keep the rows the user is reading in place
            finally:
                self._scrolling = False
            if not self.following:
                self.unseen += len(entries)
        self._update_status()

    def _scrolled(self, value: int) -> None:
        if self._scrolling or self.tracing:
            return
        at_bottom = value >= self.table.verticalScrollBar().maximum()
        if at_bottom and not self.following:
            self.resume()
        elif not at_bottom and self.following:
            self.following = False  # the user scrolled back: stop following until they resume
            self.unseen = 0
            self._update_status()

    def resume(self) -> None:
        self.following = True
        self.unseen = 0
        self._scrolling = True
        try:
            self.table.scrollToBottom()
        finally:
            self._scrolling = False
        self._update_status()

    _tail_error = ""

    def _update_status(self) -> None:
        rows = self.model.rowCount()
        if self.tracing:
            self.status.setText(f"{rows:,} entries in this trace")
        elif self._tail_error:
            self.status.setText(f"Live tail interrupted: {self._tail_error} — retrying")
        elif not self._ready:
            self.status.setText("Waiting for the database…")
        elif self.following:
            self.status.setText(f"{rows:,} rows · following the live tail")
        else:
            self.status.setText(f"{rows:,} rows · paused while you scroll back")
        self.resume_button.setVisible(not self.following and not self.tracing)
        self.resume_button.setText(f"Resume live tail ({self.unseen:,} new)" if self.unseen else "Resume live tail")

    # -- details, trace, context menu ----------------------------------------------------------------
    def selected_entry(self) -> ActivityEntry | None:
        index = self.table.currentIndex()
        return self.model.entry(index.row()) if index.isValid() else None

    def _show_detail(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.detail.setPlainText(describe_entry(self.model.entry(current.row())))
        entry = self.selected_entry()
        self.trace_button.setEnabled(bool((entry and entry.correlation_id) or self.correlation.text().strip()))

    def trace_selected(self) -> None:
        entry = self.selected_entry()
        cid = (entry.correlation_id if entry else None) or self.correlation.text().strip()
        if cid:
            self.show_trace(cid)

    def show_trace(self, correlation_id: str) -> None:
        """Everything with this correlation id, across all five log tables (user actions too), oldest first."""
        engine = self._context.engine
        self.tracing = correlation_id
        self.trace_label.setText(f"Trace of {correlation_id} — loading…")
        self.trace_bar.show()

        def job(progress: ProgressCallback, cancel: CancelToken) -> list[ActivityEntry]:
            return trace(engine, correlation_id)

        def done(entries: list[ActivityEntry]) -> None:
            if self.tracing != correlation_id:
                return
            self.model.replace(entries)
            self.detail.clear()
            self.trace_label.setText(f"Trace of {correlation_id} — {len(entries):,} entries, oldest first")
            self._update_status()

        self._context.jobs.submit(f"Trace {correlation_id}", job, on_success=done)
        self._update_status()

    def back_to_tail(self) -> None:
        self.tracing = None
        self.trace_bar.hide()
        self._restart_tail(self.current_filters())

    def _context_menu(self, point: QPoint) -> None:
        index = self.table.indexAt(point)
        if not index.isValid():
            return
        entry = self.model.entry(index.row())
        menu = QMenu(self)
        if entry.correlation_id:
            cid = entry.correlation_id
            menu.addAction(
                "Trace this correlation id",
                lambda: self._context.perform("logMonitor/trace", lambda: self.show_trace(cid)),
            )
            menu.addAction("Copy correlation id", lambda: QGuiApplication.clipboard().setText(cid))
        menu.addAction(f"Only {entry.component}", lambda: self.component.setText(entry.component))
        menu.addAction("Copy details", lambda: QGuiApplication.clipboard().setText(describe_entry(entry)))
        menu.popup(self.table.viewport().mapToGlobal(point))

    # -- alerts --------------------------------------------------------------------------------------
    def _alert_round(self) -> PollRound | None:
        if not self._ready:
            return None
        engine, thresholds = self._context.engine, self.thresholds
        return lambda: evaluate_alerts(engine, thresholds=thresholds)

    def _alerts_result(self, alerts: list[Alert]) -> None:
        raised, resolved = self.notices.update(alerts)  # once per alert, not again at every start
        self.alerts.setToolTip("")
        self.alerts.set_alerts(alerts)
        self.model.set_alert_correlation_ids(alert_ids(alerts))
        notify = self._context.notify.emit
        if len(raised) > _MANY_ALERTS:
            worst = "error" if any(a.severity in ("ERROR", "CRITICAL") for a in raised) else "warning"
            notify(worst, f"{len(raised)} new alerts, e.g. {raised[0].title} — see the log monitor")
        else:
            for alert in raised:
                notify("error" if alert.severity in ("ERROR", "CRITICAL") else "warning", f"Alert: {alert.title}")
        if resolved:
            names = ", ".join(a.title for a in resolved[:3]) + (" …" if len(resolved) > 3 else "")
            notify("info", f"Resolved: {names}")

    def sizeHint(self) -> QSize:
        # A strip under the chart by default; the table's own hint (every row) would take the window.
        return QSize(1000, 300)

    def state(self) -> dict[str, Any]:
        """For tests and diagnostics."""
        return {"rows": self.model.rowCount(), "following": self.following, "unseen": self.unseen}
