"""Quit guards: anything that should make the user think twice before the window closes.

A panel registers a guard under a name (``context.quit_guards.register("orders", fn)``); ``fn`` returns
a sentence saying what would be left behind ("2 open orders stay working at the broker", "strategy
sma_cross is running") or None when quitting is harmless. The window asks every guard when the user
quits and, if any speaks, asks for a confirmation listing their sentences. Guards run on the GUI thread
when the user quits, so they must answer quickly (at most a few seconds, e.g. one database read).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

logger = logging.getLogger(__name__)

QuitGuard = Callable[[], str | None]


class QuitGuards:
    def __init__(self) -> None:
        self._guards: dict[str, QuitGuard] = {}

    def register(self, name: str, guard: QuitGuard) -> None:
        """Add (or replace) the guard called ``name``."""
        self._guards[name] = guard

    def unregister(self, name: str) -> None:
        self._guards.pop(name, None)

    def names(self) -> list[str]:
        return list(self._guards)

    def reasons(self) -> list[str]:
        """Every guard's objection, in registration order; a guard that fails objects with its error."""
        found: list[str] = []
        for name, guard in list(self._guards.items()):
            try:
                reason = guard()
            except Exception as exc:  # a broken guard must not let the window quit silently, nor crash it
                logger.warning("quit guard %s failed", name, exc_info=True)
                reason = f"{name}: could not be checked ({exc})"
            if reason:
                found.append(reason)
        return found


class QuitConfirmDialog(QDialog):
    """'Quit anyway?' with every guard's sentence; Cancel is the default button."""

    def __init__(self, reasons: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quitConfirmDialog")
        self.setWindowTitle("Quit workstation?")
        self.reasons = list(reasons)
        items = "".join(f"<li>{html.escape(reason)}</li>" for reason in reasons)
        self.text = QLabel(f"<b>Quit now?</b><ul>{items}</ul>")
        self.text.setObjectName("quitReasons")
        self.text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.quit_button = buttons.addButton("Quit anyway", QDialogButtonBox.ButtonRole.AcceptRole)
        self.quit_button.setObjectName("quitAnyway")
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)
        cancel.setFocus()
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
