"""The halt, where a trader looks: a banner in the blotter and a section of the status bar, each with Resume.

Both show the kill switch's reason in plain words (the core's reason names a command-line fix; the
window has a button for it) and disappear when trading resumes. The state comes from
``TradingService.haltChanged`` (the database is the truth, so a halt from another process shows too).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

from workstation.gui.panels.ticket_rules import plain_reason
from workstation.gui.tables import DOWN, named
from workstation.gui.trading_service import TradingService


def halt_cause(reason: str | None) -> str:
    """'kill switch' from the core's 'kill switch (run 'workstation kill-switch --resume' …)'."""
    cause = plain_reason(reason or "")
    return cause[:1].lower() + cause[1:] if cause else "kill switch"


class HaltBanner(QFrame):
    """A red strip: what happened, what it means, and the Resume button it points at (right of the text)."""

    def __init__(self, resume: Callable[[], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("haltBanner")
        self.setStyleSheet(
            f"QFrame#haltBanner {{ border: 1px solid {DOWN}; border-radius: 3px; background: rgba(239, 83, 80, 40); }}"
        )
        self.text = named(QLabel(), "haltBannerText")
        self.text.setWordWrap(True)  # never cut off: the banner grows a line instead
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.text.setStyleSheet(f"color: {DOWN}; border: none; background: transparent;")
        self.resume_button = named(QPushButton("Resume trading"), "haltBannerResume")
        self.resume_button.setToolTip("Lift the halt: new orders are accepted again")
        self.resume_button.clicked.connect(resume)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.resume_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def set_reason(self, reason: str | None) -> None:
        if reason is None:
            self.hide()
            return
        self.text.setText(
            f"<b>TRADING HALTED</b> ({halt_cause(reason)}). New orders are refused; exits are still allowed. "
            "Press <b>Resume trading</b> → to accept new orders again."
        )
        self.show()


class HaltStatusWidget(QWidget):
    """Status-bar section: 'Trading halted' in red and a Resume button, only while halted."""

    def __init__(self, service: TradingService, resume: Callable[[], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("haltStatus")
        self.label = named(QLabel(), "haltStatusText")
        self.label.setStyleSheet(f"color: {DOWN}; font-weight: bold;")
        self.resume_button = named(QToolButton(), "haltStatusResume")
        self.resume_button.setText("Resume")
        self.resume_button.setToolTip("Resume trading: new orders are accepted again")
        self.resume_button.clicked.connect(resume)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.resume_button)
        service.haltChanged.connect(self.set_reason)
        self.set_reason(service.halted)

    def set_reason(self, reason: str | None) -> None:
        self.setVisible(reason is not None)
        if reason is not None:
            self.label.setText("⛔ Trading halted")
            self.label.setToolTip(f"Trading halted ({halt_cause(reason)}): new orders are refused")
