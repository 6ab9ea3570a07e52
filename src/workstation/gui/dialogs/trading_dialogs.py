"""Confirmations for the trading actions that cannot be undone: a live order, the kill switch."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from workstation.gui.tables import DOWN


class LiveConfirmDialog(QDialog):
    """Real money: the user types LIVE to send the order."""

    def __init__(self, summary: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveConfirmDialog")
        self.setWindowTitle("Confirm LIVE order")
        text = QLabel(
            f"<b>This order goes to your LIVE Alpaca account (real money).</b><br>{summary}<br><br>"
            "Type <b>LIVE</b> to send it."
        )
        text.setWordWrap(True)
        self.entry = QLineEdit()
        self.entry.setObjectName("liveConfirmText")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Send live order")
        self.ok.setEnabled(False)
        self.entry.textChanged.connect(lambda t: self.ok.setEnabled(t.strip() == "LIVE"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.entry)
        layout.addWidget(self.buttons)

    def accept(self) -> None:
        if self.entry.text().strip() == "LIVE":
            super().accept()


class KillSwitchDialog(QDialog):
    def __init__(self, open_orders: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("killSwitchDialog")
        self.setWindowTitle("Kill switch")
        text = QLabel(
            f"<b>Halt all trading?</b><br>New orders are refused until you resume trading; "
            f"{open_orders} open order(s) are cancelled."
        )
        text.setWordWrap(True)
        self.flatten = QCheckBox("Also flatten every position with market orders")
        self.flatten.setObjectName("killSwitchFlatten")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.confirm = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.confirm.setText("Kill switch")
        self.confirm.setStyleSheet(f"background: {DOWN}; color: white; font-weight: bold;")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.flatten)
        layout.addWidget(buttons)
