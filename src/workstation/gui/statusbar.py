"""Status-bar pieces: database and connection state, and the running jobs with a progress bar and cancel.

The database section probes the connection every few seconds in a poller (never on the GUI thread)
and shows the round-trip time, or the reason it cannot connect; it also says when the log writer
is spilling to disk because the database is unreachable.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from workstation.dashboard.activity import DatabaseHealth, probe_database
from workstation.dashboard.watchlist import DatabaseState
from workstation.gui.context import WorkstationContext
from workstation.gui.pollers import Poller, PollRound
from workstation.gui.workers import JobHandle, JobManager

HEALTH_INTERVAL_MS = 5000
# Every section has this height, so a job appearing never changes the status bar's height: that would
# resize the docks above it and make the chart re-lay itself out while the workers compete for the CPU.
STATUS_ROW_HEIGHT = 20
_OK, _BAD, _UNKNOWN = "#26a69a", "#ef5350", "#9598a1"


class _JobRow(QWidget):
    def __init__(self, handle: JobHandle, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"job{handle.job_id}")
        self.handle = handle
        self.label = QLabel(handle.label)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(110)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.bar.setRange(0, 0)  # busy until the job reports a total
        self.cancel = QToolButton()
        self.cancel.setText("✕")
        self.cancel.setObjectName("cancelJob")
        self.cancel.setToolTip(f"Cancel “{handle.label}”")
        self.cancel.setAutoRaise(True)
        self.cancel.setFixedSize(18, 18)
        self.cancel.clicked.connect(self._cancel)
        self.setFixedHeight(STATUS_ROW_HEIGHT)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        handle.progressed.connect(self._progress)

    def _progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
        self.bar.setToolTip(message or f"{done}/{total}")

    def _cancel(self) -> None:
        self.handle.cancel()
        self.cancel.setEnabled(False)
        self.label.setText(f"{self.handle.label} (cancelling…)")


class JobsWidget(QWidget):
    """Lists running jobs; short jobs (under 300 ms) never flash onto the bar."""

    def __init__(self, jobs: JobManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runningJobs")
        self._rows: dict[int, _JobRow] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        jobs.jobStarted.connect(self._started)
        jobs.jobEnded.connect(self._ended)

    def _started(self, handle: JobHandle) -> None:
        row = _JobRow(handle, self)
        self._rows[handle.job_id] = row
        self._layout.addWidget(row)

    def _ended(self, handle: JobHandle) -> None:
        row = self._rows.pop(handle.job_id, None)
        if row is not None:
            self._layout.removeWidget(row)
            row.deleteLater()

    def rows(self) -> list[str]:
        return [row.handle.label for row in self._rows.values()]


class DatabaseStatus(QWidget):
    """``● DB sqlite:///…/demo.db · 50 symbols · 2 ms``: the database, its contents and the connection."""

    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.setObjectName("databaseStatus")
        self.setFixedHeight(STATUS_ROW_HEIGHT)
        self.dot = QLabel("●")
        self.dot.setObjectName("connectionDot")
        self.label = QLabel()
        self.label.setObjectName("databaseLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(self.dot)
        layout.addWidget(self.label)
        self.state: DatabaseState | None = None
        self.health: DatabaseHealth | None = None
        self.poller = context.jobs.add_poller(Poller("databaseHealth", HEALTH_INTERVAL_MS, self._round, self))
        self.poller.result.connect(self._health_result)
        self.poller.failed.connect(lambda message: self._health_result(DatabaseHealth(False, 0.0, "", message)))
        self.poller.start()
        self.update_text()

    def _round(self) -> PollRound:
        engine = self._context.engine
        return lambda: probe_database(engine)

    def set_state(self, state: DatabaseState | None) -> None:
        self.state = state
        if state is None:
            self.health = None  # a new database: unknown until the next probe
            self.poller.poll_now()
        self.update_text()

    def _health_result(self, health: DatabaseHealth) -> None:
        self.health = health
        self.update_text()

    def text(self) -> str:
        return f"{self.dot.text()} {self.label.text()}"

    def update_text(self) -> None:
        name = self._context.database_label
        parts = [f"DB: {name}"]
        state = self.state
        if state is not None and not state.schema_present:
            parts.append("no schema — run `workstation db upgrade`")
        elif state is not None:
            parts.append(f"{state.symbols} symbols")
        health = self.health
        monitoring = self._context.monitoring
        if health is None:
            colour, tip = _UNKNOWN, "Checking the connection…"
        elif health.ok:
            colour, tip = _OK, f"Connected ({health.backend}); round trip {health.latency_ms:.0f} ms"
            parts.append(f"{health.latency_ms:.0f} ms")
        else:
            colour, tip = _BAD, health.message
            parts.append("disconnected")
        if monitoring is not None and monitoring.in_outage:
            parts.append("logs spilled to disk until it is back")
            tip += f"\nLog rows wait in {monitoring.spill_directory}"
        self.label.setText(" · ".join(parts))
        self.dot.setStyleSheet(f"color: {colour};")
        self.setToolTip(tip)
