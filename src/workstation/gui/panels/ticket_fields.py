"""The order ticket's fields and their layout (no logic: ticket.py wires them up).

The fields scroll when the dock is short (a laptop); the check line (why the order cannot be sent,
or what it does), the submit button and the last outcome stay visible under them.

Every field has an objectName (ticketBroker, ticketSymbol, ticketBuy/ticketSell, ticketQuantity,
ticketType, ticketLimit, ticketStop, ticketTrail, ticketTrailUnit, ticketClass, ticketTakeProfit,
ticketStopLoss, ticketTif, ticketExtendedHours, ticketNotional, ticketRisk, ticketSubmit, ticketStatus):
tests and saved state find them by it. Only the fields the chosen type and class use are shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
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

ORDER_TYPE_LABELS = {
    "market": "market",
    "limit": "limit",
    "stop": "stop",
    "stop_limit": "stop-limit",
    "trailing_stop": "trailing stop",
}
# Names as the broker spells them; what each means is the item's tooltip.
ORDER_CLASS_TIPS = {
    "simple": "One order.",
    "bracket": "An entry with a take-profit and a stop-loss that work once it fills; one exit cancels the other.",
    "oto": "An entry with one exit (take-profit or stop-loss) that works once it fills.",
    "oco": "An exit pair for a position you hold: take-profit and stop-loss, one filling cancels the other.",
}
TIF_TIPS = {
    "day": "Works until the end of today's session.",
    "gtc": "Works until filled or cancelled.",
    "opg": "Only in the opening auction (market or limit).",
    "cls": "Only in the closing auction (market or limit).",
    "ioc": "Fills what it can at once; the rest is cancelled.",
    "fok": "Fills completely at once, or is cancelled.",
}


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
        for kind, label in ORDER_TYPE_LABELS.items():
            self.order_type.addItem(label, kind)
        self.limit_price = named(PriceSpinBox(), "ticketLimit")
        self.limit_price.setEnabled(False)
        self.stop_price = named(PriceSpinBox(), "ticketStop")
        self.trail = named(DecimalSpinBox(), "ticketTrail")
        self.trail.setDecimals(4)
        self.trail.setRange(0, 1e7)
        self.trail_unit = named(QComboBox(), "ticketTrailUnit")
        self.trail_unit.addItem("$ (price)", "price")
        self.trail_unit.addItem("% (percent)", "percent")
        self.order_class = named(QComboBox(), "ticketClass")
        for index, (kind, tip) in enumerate(ORDER_CLASS_TIPS.items()):
            self.order_class.addItem(kind, kind)
            self.order_class.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.take_profit = named(PriceSpinBox(), "ticketTakeProfit")
        self.stop_loss = named(PriceSpinBox(), "ticketStopLoss")
        self.tif = named(QComboBox(), "ticketTif")
        for index, (tif, tip) in enumerate(TIF_TIPS.items()):
            self.tif.addItem(tif, tif)
            self.tif.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
        self.extended_hours = named(QCheckBox("Also before and after the regular session"), "ticketExtendedHours")
        for spin in (self.quantity, self.limit_price, self.stop_price, self.take_profit, self.stop_loss):
            spin.setGroupSeparatorShown(True)
        self.notional = named(QLabel("—"), "ticketNotional")
        self.risk = named(QLabel("—", wordWrap=True), "ticketRisk")
        self.submit_button = named(QPushButton("Submit"), "ticketSubmit")
        self.status = named(QLabel("", wordWrap=True), "ticketStatus")
        sides = QHBoxLayout()
        sides.addWidget(self.buy)
        sides.addWidget(self.sell)
        trail = QHBoxLayout()
        trail.addWidget(self.trail, 1)
        trail.addWidget(self.trail_unit)
        self.trail_row = QWidget()
        self.trail_row.setLayout(trail)
        trail.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.form_layout = form
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow dock: label above its field
        form.addRow("Broker", self.broker)
        form.addRow("Symbol", self.symbol)
        form.addRow("Side", sides)
        form.addRow("Quantity", self.quantity)
        form.addRow("Type", self.order_type)
        form.addRow("Limit price", self.limit_price)
        form.addRow("Stop price", self.stop_price)
        form.addRow("Trail", self.trail_row)
        form.addRow("Class", self.order_class)
        form.addRow("Take profit", self.take_profit)
        form.addRow("Stop loss", self.stop_loss)
        form.addRow("Time in force", self.tif)
        form.addRow("Extended hours", self.extended_hours)
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
        self._fields_widget = fields
        self.show_fields()

    def show_fields(self) -> None:
        """Show the rows the chosen type and class use (and size the scroll area to them)."""
        kind, order_class = self.order_type.currentData(), self.order_class.currentData()
        oco = order_class == "oco"
        rows = {
            self.limit_price: kind in ("limit", "stop_limit") and not oco,
            self.stop_price: kind in ("stop", "stop_limit") and not oco,
            self.trail_row: kind == "trailing_stop" and not oco,
            self.take_profit: order_class in ("bracket", "oto", "oco"),
            self.stop_loss: order_class in ("bracket", "oto", "oco"),
            self.extended_hours: kind == "limit"
            and order_class == "simple"
            and self.tif.currentData() in ("day", "gtc"),
            self.order_type: not oco,
        }
        for widget, visible in rows.items():
            self.form_layout.setRowVisible(widget, visible)
            widget.setEnabled(visible)
        self.fields_area.setMaximumHeight(self._fields_widget.sizeHint().height() + 2)
