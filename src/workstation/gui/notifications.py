"""Non-modal notifications ("toasts") stacked in the window's bottom-right corner.

Errors stay until dismissed (a user who looked away must still see them); warnings fade after 20 s
and information after a few seconds. The same message is never stacked twice: the toast already
showing it counts the repeats ("×3") and starts its time again. At most four toasts are stacked; a
fifth pushes the oldest non-error one out. Every notification also goes to the status bar and the log.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMainWindow, QToolButton, QWidget

logger = logging.getLogger(__name__)
_INFO_MS = 6000
_WARNING_MS = 20_000
MAX_TOASTS = 4


class Toast(QFrame):
    def __init__(self, level: str, message: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setProperty("level", level)
        self.level = level
        self.message = message
        self.repeats = 1
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._timer: QTimer | None = None
        self.text = text = QLabel(message)
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.setMaximumWidth(380)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 4, 6)
        layout.addWidget(text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.dismissed = False

    def expire_after(self, milliseconds: int) -> None:
        """Dismiss after ``milliseconds`` from now (restarted by a repeat)."""
        if self._timer is None:
            self._timer = QTimer(self, singleShot=True)
            self._timer.timeout.connect(self.dismiss)
        self._timer.start(milliseconds)

    def repeat(self) -> None:
        self.repeats += 1
        self.text.setText(f"{self.message}  (×{self.repeats})")
        self.adjustSize()

    def dismiss(self) -> None:
        self.dismissed = True
        self.hide()
        self.deleteLater()
        parent = self.parent()
        if isinstance(parent, QMainWindow):
            area = parent.findChild(NotificationArea)
            if area is not None:
                area.restack()


class NotificationArea(QObject):
    """Owns the toasts of one main window and keeps them in its corner when it resizes."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("notificationArea")
        self._window = window
        self._toasts: list[Toast] = []
        window.installEventFilter(self)

    def show_message(self, level: str, message: str) -> Toast:
        log = logger.error if level == "error" else logger.warning if level == "warning" else logger.info
        log("notification: %s", message)
        self._window.statusBar().showMessage(message, 10_000)
        lifetime = _INFO_MS if level == "info" else _WARNING_MS if level == "warning" else None
        for shown in self.active():
            if shown.level == level and shown.message == message:
                shown.repeat()  # the same message again: counted, not stacked
                if lifetime is not None:
                    shown.expire_after(lifetime)
                self.restack()
                return shown
        toast = Toast(level, message, self._window)
        self._toasts.append(toast)
        toast.adjustSize()
        toast.show()
        toast.raise_()
        if lifetime is not None:
            toast.expire_after(lifetime)
        active = self.active()
        if len(active) > MAX_TOASTS:
            oldest = next((t for t in active if t.level != "error"), active[0])
            oldest.dismiss()
        self.restack()
        return toast

    def active(self) -> list[Toast]:
        self._toasts = [t for t in self._toasts if not t.dismissed]
        return list(self._toasts)

    def restack(self) -> None:
        bottom = self._window.height() - self._window.statusBar().height() - 8
        for toast in reversed(self.active()):
            toast.adjustSize()
            toast.move(self._window.width() - toast.width() - 12, bottom - toast.height())
            bottom -= toast.height() + 6

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.restack()
        return False
