"""The order ticket's fields and their layout (no logic: ticket.py wires them up).

The fields scroll when the dock is short (a laptop); the check line (why the order cannot be sent,
or what it does), the submit button and the last outcome stay visible under them.

Every field has an objectName (ticketBroker, ticketSymbol, ticketBuy/ticketSell, ticketQuantity,
ticketType, ticketLimit, ticketTif, ticketNotional, ticketRisk, ticketSubmit, ticketStatus): tests and
saved state find them by it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.panels.ticket_support import DecimalSpinBox, PriceSpinBox
from workstation.gui.tables import DOWN, UP, named


class TicketFields(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.broker = named(QComboBox(), "ticketBroker")
        self.symbol = named(QLineEdit(placeholderText="Symbol"), "ticketSymbol")
        self.buy = named(QPushButton("Buy"), "ticketBuy")
        self.sell = named(QPushButton("Sell"), "ticketSell")
        for button in (self.buy, self.sell):
            button.setCheckable(True)
        self.buy.setChecked(True)
        self.buy.setStyleSheet(f"QPushButton:checked {{ background: {UP}; color: white; font-weight: bold; }}")
        self.sell.setStyleSheet(f"QPushButton:checked {{ background: {DOWN}; color: white; font-weight: bold; }}")
        self._sides = QButtonGroup(self)
        self._sides.addButton(self.buy)
        self._sides.addButton(self.sell)
        self.quantity = named(DecimalSpinBox(), "ticketQuantity")
        self.quantity.setDecimals(4)
        self.quantity.setRange(0, 1e9)
        self.quantity.setValue(1)
        self.order_type = named(QComboBox(), "ticketType")
        self.order_type.addItems(["market", "limit"])
        self.limit_price = named(PriceSpinBox(), "ticketLimit")
        self.limit_price.setEnabled(False)
        self.tif = named(QComboBox(), "ticketTif")
        self.tif.addItems(["day", "gtc"])
        for spin in (self.quantity, self.limit_price):
            spin.setGroupSeparatorShown(True)
        self.notional = named(QLabel("—"), "ticketNotional")
        self.risk = named(QLabel("—", wordWrap=True), "ticketRisk")
        self.submit_button = named(QPushButton("Submit"), "ticketSubmit")
        self.status = named(QLabel("", wordWrap=True), "ticketStatus")
        sides = QHBoxLayout()
        sides.addWidget(self.buy)
        sides.addWidget(self.sell)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow dock: label above its field
        form.addRow("Broker", self.broker)
        form.addRow("Symbol", self.symbol)
        form.addRow("Side", sides)
        form.addRow("Quantity", self.quantity)
        form.addRow("Type", self.order_type)
        form.addRow("Limit price", self.limit_price)
        form.addRow("Time in force", self.tif)
        form.addRow("Est. notional", self.notional)
        fields = QWidget()
        fields.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        self.fields_area = named(QScrollArea(), "ticketFields")
        self.fields_area.setWidget(fields)
        self.fields_area.setWidgetResizable(True)
        self.fields_area.setFrameShape(QFrame.Shape.NoFrame)
        self.fields_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        # The fields keep their natural height when there is room (spare room goes below the button)
        # and scroll when there is not.
        self.fields_area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.fields_area.setMaximumHeight(fields.sizeHint().height() + 2)
        layout.addWidget(self.fields_area)
        layout.addWidget(self.risk)
        layout.addWidget(self.submit_button)
        layout.addWidget(self.status)
        layout.addStretch(1)
