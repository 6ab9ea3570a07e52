"""Confirmations for the trading actions that cannot be undone (a live order, the kill switch, closing
positions) and the dialog that modifies an open order."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.price_format import format_price, format_quantity
from workstation.gui.tables import DOWN
from workstation.trading.domain import Order, to_quantity


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


class ReplaceDialog(QDialog):
    """Modify an open order: quantity, limit, stop or trail, as its type has them (the broker replaces it)."""

    def __init__(self, order: Order, parent: QWidget | None = None) -> None:
        from workstation.gui.panels.ticket_support import DecimalSpinBox, PriceSpinBox

        super().__init__(parent)
        self.order = order
        self.setObjectName("replaceOrderDialog")
        self.setWindowTitle("Modify order")
        kind = order.order_type.replace("_", "-")
        text = QLabel(
            f"<b>{order.side.upper()} {format_quantity(order.quantity)} {order.symbol} {kind}</b><br>"
            "The broker replaces the order by a new one with these values (a new order id)."
        )
        text.setWordWrap(True)
        self.quantity = DecimalSpinBox()
        self.quantity.setObjectName("replaceQuantity")
        self.quantity.setDecimals(4)
        self.quantity.setRange(0, 1e9)
        self.quantity.setValue(float(order.quantity))
        self.limit_price = PriceSpinBox()
        self.limit_price.setObjectName("replaceLimit")
        self.limit_price.set_price(order.limit_price)
        self.stop_price = PriceSpinBox()
        self.stop_price.setObjectName("replaceStop")
        self.stop_price.set_price(order.stop_price)
        self.trail = DecimalSpinBox()
        self.trail.setObjectName("replaceTrail")
        self.trail.setDecimals(4)
        self.trail.setRange(0, 1e7)
        trail = order.trail_price if order.trail_price is not None else order.trail_percent
        self.trail.setValue(float(trail or 0))
        form = QFormLayout()
        form.addRow("Quantity", self.quantity)
        form.addRow("Limit price", self.limit_price)
        form.addRow("Stop price", self.stop_price)
        form.addRow("Trail" + (" (%)" if order.trail_percent is not None else " ($)"), self.trail)
        form.setRowVisible(self.limit_price, order.order_type in ("limit", "stop_limit"))
        form.setRowVisible(self.stop_price, order.order_type in ("stop", "stop_limit"))
        form.setRowVisible(self.trail, order.order_type == "trailing_stop")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Modify")
        self.ok.setObjectName("replaceConfirm")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def changes(self) -> dict[str, Decimal]:
        """The values that differ from the order's (the keywords of OrderManager.replace)."""
        order = self.order
        result: dict[str, Decimal] = {}
        quantity = to_quantity(repr(self.quantity.value()))
        if quantity != order.quantity:
            result["quantity"] = quantity
        limit, stop = self.limit_price.price(), self.stop_price.price()
        if order.order_type in ("limit", "stop_limit") and limit is not None and limit != order.limit_price:
            result["limit_price"] = limit
        if order.order_type in ("stop", "stop_limit") and stop is not None and stop != order.stop_price:
            result["stop_price"] = stop
        trail = to_quantity(repr(self.trail.value()))
        current = order.trail_price if order.trail_price is not None else order.trail_percent
        if order.order_type == "trailing_stop" and trail > 0 and trail != current:
            result["trail"] = trail
        return result

    def summary(self) -> str:
        names = {"quantity": "qty", "limit_price": "limit", "stop_price": "stop", "trail": "trail"}
        parts = []
        for key, value in self.changes().items():
            shown = format_quantity(value) if key in ("quantity", "trail") else format_price(value)
            parts.append(f"{names[key]} {shown}")
        return ", ".join(parts)


class ClosePositionsDialog(QDialog):
    """Close one or every position at market (their open orders are cancelled first)."""

    def __init__(self, positions: list[tuple[str, str, Decimal]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("closePositionsDialog")
        self.setWindowTitle("Close positions" if len(positions) != 1 else "Close position")
        lines = "<br>".join(
            f"{'Sell' if quantity > 0 else 'Buy back'} {format_quantity(abs(quantity))} {symbol} ({broker})"
            for broker, symbol, quantity in positions
        )
        self.text = text = QLabel(
            f"<b>Close {len(positions)} position(s) at market?</b><br>{lines}<br><br>"
            "Open orders in these symbols are cancelled first."
        )
        text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.confirm = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.confirm.setText("Close at market")
        self.confirm.setObjectName("closePositionsConfirm")
        self.confirm.setStyleSheet(f"background: {DOWN}; color: white; font-weight: bold;")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
