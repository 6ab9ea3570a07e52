"""Unhandled exceptions in the GUI: log them with the traceback and show a dialog to copy the details.

The window keeps running: an exception escaping a slot has already unwound that slot, and Qt's event
loop continues. Re-entrant exceptions while the dialog is open are logged but not stacked as dialogs.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from workstation import __version__
from workstation.errors import ExitCode
from workstation.monitoring.correlation import current_correlation_id
from workstation.monitoring.install import mark_recorded
from workstation.monitoring.recorders import record_error

logger = logging.getLogger("workstation.gui.crash")


def correlation_of(exc: BaseException) -> str | None:
    """The user action the exception escaped from (set by UserActionRecorder.perform), else the current id."""
    return getattr(exc, "workstation_correlation_id", None) or current_correlation_id()


def format_details(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    lines = [
        f"workstation {__version__}, Python {platform.python_version()}, PySide6 {pyside_version}",
        f"platform: {platform.platform()}",
        f"correlation id: {correlation_of(exc) or '-'}",
        "",
        *traceback.format_exception(exc_type, exc, tb),
    ]
    return "\n".join(line.rstrip("\n") for line in lines)


class CrashReporter(QObject):
    """Installed as sys.excepthook (and threading.excepthook) while the window runs."""

    _show = Signal(str, str)

    def __init__(self, parent_window: QWidget | None = None) -> None:
        super().__init__()
        self._window = parent_window
        self._dialog_open = False
        self.last_details: str | None = None
        self.shown = 0
        self.dialog: QMessageBox | None = None
        # Exceptions from other threads reach the dialog through a queued signal (GUI thread only).
        self._show.connect(self._show_dialog, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        sys.excepthook = sys.__excepthook__
        threading.excepthook = threading.__excepthook__

    def set_window(self, window: QWidget) -> None:
        self._window = window

    def handle(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):  # Ctrl+C in the terminal that started the window
            QApplication.exit(ExitCode.CANCELLED)
            return
        # One error_logs row with the full stack (under the current user action's correlation id), and a
        # system_logs line; without monitoring installed, record_error logs the traceback instead.
        record_error(exc.with_traceback(tb), component="gui.uncaught", correlation_id=correlation_of(exc))
        mark_recorded(exc)
        logger.error("unhandled exception: %s: %s", exc_type.__name__, exc)
        details = format_details(exc_type, exc, tb)
        self.last_details = details
        self._show.emit(f"{exc_type.__name__}: {exc}", details)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def _show_dialog(self, summary: str, details: str) -> None:
        if self._dialog_open:
            return
        self._dialog_open = True
        self.shown += 1
        box = QMessageBox(self._window)
        box.setObjectName("crashDialog")
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Unexpected error")
        box.setText("Something went wrong. The workstation is still running; the error has been logged.")
        box.setInformativeText(summary)
        box.setDetailedText(details)
        copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        copy.clicked.disconnect()
        copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
        box.finished.connect(self._closed)
        self.dialog = box  # keep it alive: without a parent window nothing else holds it
        box.open()  # window-modal but not blocking: the event loop keeps running

    def _closed(self, _result: int) -> None:
        self._dialog_open = False
