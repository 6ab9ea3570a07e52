"""The empty-database bar: load the offline demo universe, import a CSV, or download bars.

Each action runs the owning package's CLI command in a worker (dashboard.commands), so the window
stays responsive and a command that is not installed yet is reported in one clear line.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMainWindow, QToolBar

from workstation.dashboard import commands
from workstation.gui.context import WorkstationContext
from workstation.jobs import CancelToken, ProgressCallback


class OnboardingBar(QToolBar):
    def __init__(self, context: WorkstationContext, parent: QMainWindow) -> None:
        super().__init__("Get started", parent)
        self.setObjectName("onboardingBar")
        self.setMovable(False)
        self._context = context
        self.message = QLabel("This database holds no market data yet.  ")
        self.addWidget(self.message)
        self.demo_action = self.addAction("Load demo universe", self.load_demo)
        self.csv_action = self.addAction("Import CSV…", self.import_csv)
        self.download_action = self.addAction("Download…", self.download)
        self.addAction("Dismiss", self.hide)

    def load_demo(self) -> None:
        self.run(commands.DEMO_LOAD, "Load demo universe")

    def import_csv(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import bars from CSV", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.run((*commands.CSV_IMPORT, path), f"Import {path}")

    def download(self, symbols: str | None = None) -> None:
        if symbols is None:
            text, ok = QInputDialog.getText(self, "Download daily bars", "Symbols (space separated):")
            if not ok:
                return
            symbols = text
        names = [s.upper() for s in symbols.replace(",", " ").split() if s]
        if names:
            self.run((*commands.DOWNLOAD, *names), f"Download {' '.join(names)}")

    def run(self, args: Sequence[str], label: str) -> None:
        url = self._context.database_url.render_as_string(hide_password=False)
        self.message.setText(f"{label}…  ")

        def job(progress: ProgressCallback, cancel: CancelToken) -> str:
            return commands.run_cli(args, url, progress, cancel, label=label)

        def done(_output: str) -> None:
            self.message.setText(f"{label}: done.  ")
            self._context.notify.emit("info", f"{label}: done")
            self._context.databaseChanged.emit()
            self.hide()

        def failed(message: str) -> None:
            self.message.setText("This database holds no market data yet.  ")

        self._context.jobs.submit(label, job, on_success=done, on_failure=failed)
