"""The empty-database bar and the File → data commands: demo universe, CSV import, download from Yahoo/Alpaca.

Each load calls the market core in a worker (with progress and cancel in the status bar); when bars
were stored, the features for the intervals that received data are built as a follow-up job under
the same correlation id, and the window re-reads the database after each step (``dataLoaded``) so
the watchlist fills as soon as the bars are in and again when the features are ready.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QMainWindow, QToolBar

from workstation.dashboard import loading
from workstation.gui.context import WorkstationContext
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback

DEMO_SYMBOLS = 50
_EMPTY_TEXT = "This database holds no market data yet.  "


class OnboardingBar(QToolBar):
    dataLoaded = Signal()  # bars or features were stored: re-read the database
    loadFinished = Signal(bool)  # the whole chain (load, then features) ended; True when data was stored

    def __init__(self, context: WorkstationContext, parent: QMainWindow) -> None:
        super().__init__("Get started", parent)
        self.setObjectName("onboardingBar")
        self.setMovable(False)
        self._context = context
        self._dismissed = False
        self.busy = False
        self.message = QLabel(_EMPTY_TEXT)
        self.addWidget(self.message)
        recorder = context.actions
        self.demo_action = recorder.connect(QAction("Load demo universe", self), self.load_demo)
        self.csv_action = recorder.connect(QAction("Import CSV…", self), self.import_csv)
        self.download_action = recorder.connect(QAction("Download…", self), self.download)
        dismiss = recorder.connect(QAction("Dismiss", self), self.dismiss)
        for action in (self.demo_action, self.csv_action, self.download_action, dismiss):
            self.addAction(action)

    def set_database_empty(self, empty: bool) -> None:
        if not self.busy:
            self.setVisible(empty and not self._dismissed)

    def dismiss(self) -> None:
        self._dismissed = True
        self.hide()

    # -- the three ways in ---------------------------------------------------------------------------
    def load_demo(self) -> JobHandle:
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> loading.LoadOutcome:
            return loading.load_demo(engine, DEMO_SYMBOLS, progress, cancel)

        return self._load("Load demo universe", job)

    def import_csv(self, path: str | None = None) -> JobHandle | None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import bars from CSV", "", "CSV files (*.csv);;All files (*)")
        if not path:
            return None
        engine, chosen = self._context.engine, path

        def job(progress: ProgressCallback, cancel: CancelToken) -> loading.LoadOutcome:
            return loading.load_csv(engine, chosen, progress, cancel)

        return self._load(f"Import {path}", job)

    def download(self, symbols: str | None = None, provider: str | None = None) -> JobHandle | None:
        if provider is None:
            names = ["Yahoo Finance", "Alpaca market data"]
            choice, ok = QInputDialog.getItem(self, "Download bars", "Provider:", names, 0, False)
            if not ok:
                return None
            provider = loading.PROVIDERS[names.index(choice)]
        if symbols is None:
            text, ok = QInputDialog.getText(self, "Download daily bars", "Symbols (space or comma separated):")
            if not ok:
                return None
            symbols = text
        names = [s.upper() for s in symbols.replace(",", " ").split() if s]
        if not names:
            return None
        engine, source = self._context.engine, provider

        def job(progress: ProgressCallback, cancel: CancelToken) -> loading.LoadOutcome:
            return loading.download(engine, source, names, progress, cancel)

        return self._load(f"Download {' '.join(names)} from {provider.capitalize()}", job)

    # -- the chain: load → notify → features → notify ------------------------------------------------
    def _load(self, label: str, job: object) -> JobHandle:
        self.busy = True
        self.message.setText(f"{label}…  ")
        handle = self._context.jobs.submit(label, job, on_success=self._loaded, on_failure=self._failed)  # type: ignore[arg-type]
        handle.cancelled.connect(lambda: self._finish(False))
        return handle

    def _loaded(self, outcome: loading.LoadOutcome) -> None:
        self._context.notify.emit(outcome.level, outcome.message)
        if not outcome.stored:
            self._finish(False)
            return
        self.dataLoaded.emit()
        engine, intervals = self._context.engine, outcome.intervals

        def features(progress: ProgressCallback, cancel: CancelToken) -> loading.LoadOutcome:
            return loading.build_interval_features(engine, intervals, progress, cancel)

        self.message.setText("Building features…  ")
        # Submitted from the load's callback, so it runs under the same correlation id as the click.
        handle = self._context.jobs.submit(
            f"Build features ({', '.join(intervals)})",
            features,
            on_success=self._features_built,
            on_failure=lambda _message: self._finish(True),
        )
        handle.cancelled.connect(lambda: self._finish(True))

    def _features_built(self, outcome: loading.LoadOutcome) -> None:
        self._context.notify.emit(outcome.level, outcome.message)
        self._finish(True)

    def _failed(self, _message: str) -> None:
        self._finish(False)  # the window already shows the failure as a notification

    def _finish(self, stored: bool) -> None:
        self.busy = False
        self.message.setText(_EMPTY_TEXT)
        if stored:
            self.dataLoaded.emit()
        self.loadFinished.emit(stored)
