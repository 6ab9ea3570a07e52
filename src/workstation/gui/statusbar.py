"""Status-bar pieces: the database label and the running jobs, each with a progress bar and a cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from workstation.gui.workers import JobHandle, JobManager


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
        self.cancel.clicked.connect(self._cancel)
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
