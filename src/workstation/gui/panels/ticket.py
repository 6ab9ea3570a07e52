"""orderTicketPanel: place an order on the paper broker or Alpaca, with a live risk-check preview.

The symbol follows the selected symbol (and completes from stock_info); the estimated notional
uses the last stored close; the preview runs the session's real pre-trade risk rules without
placing anything. Orders go out in a worker. A live order must be confirmed by typing LIVE.
F9 opens a buy ticket and Shift+F9 a sell ticket for the selected symbol; Ctrl+Return submits.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTimer
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.trading_dialogs import LiveConfirmDialog
from workstation.gui.panels.ticket_support import DecimalSpinBox, SubmitOutcome, describe, last_bar, stock_symbols
from workstation.gui.tables import DOWN, MUTED, UP, named
from workstation.gui.trading_service import BrokerChoice
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.monitoring.correlation import current_correlation_id, new_correlation_id
from workstation.trading.domain import (
    Account,
    OrderRequest,
    RiskRejectedError,
    TradingError,
    to_price,
    to_quantity,
)
from workstation.trading.preview import RiskPreview, preview_order
from workstation.trading.session import TradingSession

_PREVIEW_DELAY_MS = 250
_ACCOUNT_TTL_S = 5.0  # a remote account is read at most this often for previews (API rate limits)


class OrderTicketPanel(QWidget):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._service = context.trading
        self._last: tuple[Decimal, datetime] | None = None
        self._preview_generation = 0
        self._submitting: JobHandle | None = None
        self.live_dialog: LiveConfirmDialog | None = None
        self.last_preview: RiskPreview | None = None
        self._accounts: dict[str, tuple[float, Account]] = {}
        self._preview_timer = QTimer(self, singleShot=True, interval=_PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.run_preview)
        self._build()
        self._register_shortcuts()
        context.symbolChanged.connect(self.set_symbol)
        context.databaseChanged.connect(self._load_symbols)
        context.refreshRequested.connect(self._symbol_edited)
        self._service.choicesChanged.connect(self._fill_brokers)
        self._service.refresh_choices()
        if context.symbol:
            self.set_symbol(context.symbol)

    # -- construction -----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.broker = named(QComboBox(), "ticketBroker")
        self.symbol = named(QLineEdit(placeholderText="Symbol"), "ticketSymbol")
        self._completions = QStringListModel(self)
        completer = QCompleter(self._completions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.symbol.setCompleter(completer)
        self.symbol.editingFinished.connect(self._symbol_edited)
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
        self._sides.buttonToggled.connect(lambda *_: self._changed())
        self.quantity = named(DecimalSpinBox(), "ticketQuantity")
        self.order_type = named(QComboBox(), "ticketType")
        self.order_type.addItems(["market", "limit"])
        self.order_type.currentTextChanged.connect(self._type_changed)
        self.limit_price = named(DecimalSpinBox(), "ticketLimit")
        for spin in (self.quantity, self.limit_price):
            spin.setDecimals(4)
            spin.setRange(0, 1e9)
        self.quantity.setValue(1)
        self.limit_price.setEnabled(False)
        self.tif = named(QComboBox(), "ticketTif")
        self.tif.addItems(["day", "gtc"])
        for spin in (self.quantity, self.limit_price):
            spin.setGroupSeparatorShown(True)
            spin.valueChanged.connect(self._changed)
        self.tif.currentTextChanged.connect(self._changed)
        self.notional = named(QLabel("—"), "ticketNotional")
        self.risk = named(QLabel("—", wordWrap=True), "ticketRisk")
        self.submit_button = named(QPushButton("Submit"), "ticketSubmit")
        self.submit_button.clicked.connect(lambda: self._context.perform("ticket/submit", self.submit))
        self.status = named(QLabel("", wordWrap=True), "ticketStatus")
        sides = QHBoxLayout()
        sides.addWidget(self.buy)
        sides.addWidget(self.sell)
        form = QFormLayout()
        form.addRow("Broker", self.broker)
        form.addRow("Symbol", self.symbol)
        form.addRow("Side", sides)
        form.addRow("Quantity", self.quantity)
        form.addRow("Type", self.order_type)
        form.addRow("Limit price", self.limit_price)
        form.addRow("Time in force", self.tif)
        form.addRow("Est. notional", self.notional)
        form.addRow("Risk check", self.risk)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addWidget(self.submit_button)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.setFocusProxy(self.symbol)
        self._fill_brokers()
        self.broker.currentIndexChanged.connect(self._broker_changed)

    def _register_shortcuts(self) -> None:
        shortcuts = self._context.shortcuts
        self.buy_action = QAction("Buy ticket (selected symbol)", self)
        self.buy_action.triggered.connect(lambda: self.open_ticket("buy"))
        self.sell_action = QAction("Sell ticket (selected symbol)", self)
        self.sell_action.triggered.connect(lambda: self.open_ticket("sell"))
        for action in (self.buy_action, self.sell_action):
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            self.addAction(action)
        self.submit_action = QAction("Submit order ticket", self)
        self.submit_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.submit_action.triggered.connect(lambda: self._context.perform("ticket/submit", self.submit))
        self.addAction(self.submit_action)
        shortcuts.register("trading.buy", self.buy_action, "F9", "Trading")
        shortcuts.register("trading.sell", self.sell_action, "Shift+F9", "Trading")
        shortcuts.register("trading.submit", self.submit_action, ("Ctrl+Return", "Ctrl+Enter"), "Trading")

    def showEvent(self, event: QShowEvent) -> None:
        # Buy/sell keys work from anywhere in the window, even while this dock is closed.
        window = self.window()
        if window is not self:
            for action in (self.buy_action, self.sell_action):
                if action not in window.actions():
                    window.addAction(action)
        super().showEvent(event)

    # -- form state -------------------------------------------------------------------------------------
    def _fill_brokers(self) -> None:
        current = self._service.current
        self.broker.blockSignals(True)
        self.broker.clear()
        for choice in self._service.choices():
            self.broker.addItem(choice.label, choice.key)
        index = self.broker.findData(current)
        self.broker.setCurrentIndex(max(index, 0))
        self.broker.blockSignals(False)
        self._broker_changed()

    def choice(self) -> BrokerChoice:
        return self._service.choice(str(self.broker.currentData() or "paper"))

    def _broker_changed(self) -> None:
        choice = self.choice()
        self._service.set_current(choice.key)
        self.broker.setStyleSheet("QComboBox { color: #ef5350; font-weight: bold; }" if choice.live else "")
        self._update_submit_text()
        self._changed()

    def set_symbol(self, symbol: str) -> None:
        if symbol and symbol != self.symbol.text().strip().upper():
            self.symbol.setText(symbol)
            self._symbol_edited()

    def set_side(self, side: str) -> None:
        (self.buy if side == "buy" else self.sell).setChecked(True)

    def side(self) -> str:
        return "sell" if self.sell.isChecked() else "buy"

    def open_ticket(self, side: str) -> None:
        """F9/Shift+F9: bring the ticket up for the selected symbol, ready to type a quantity."""
        self.set_side(side)
        if self._context.symbol:
            self.set_symbol(self._context.symbol)
        dock = self.parentWidget()
        if isinstance(dock, QDockWidget):
            dock.show()
            dock.raise_()
        self.quantity.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.quantity.selectAll()

    def _load_symbols(self) -> None:
        engine = self._context.engine
        self._service.calls.run(lambda: stock_symbols(engine), self._set_symbols)

    def _set_symbols(self, symbols: Any, error: str | None) -> None:
        if error is None:
            self._completions.setStringList(list(symbols))

    def _symbol_edited(self) -> None:
        symbol = self.symbol.text().strip().upper()
        self._last = None
        if symbol:
            engine = self._context.engine
            self._service.calls.run(lambda: (symbol, last_bar(engine, symbol)), self._set_last)
        self._changed()

    def _set_last(self, result: Any, error: str | None) -> None:
        if error is not None or result is None or result[0] != self.symbol.text().strip().upper():
            return
        self._last = result[1]
        if self._last is not None and self.limit_price.value() == 0:
            self._prefill_limit()
        self._changed()

    def _type_changed(self, order_type: str) -> None:
        self.limit_price.setEnabled(order_type == "limit")
        if order_type == "limit" and self.limit_price.value() == 0 and self._last is not None:
            self._prefill_limit()
        self._changed()

    def _prefill_limit(self) -> None:
        assert self._last is not None
        close = self._last[0]
        self.limit_price.setValue(float(close.quantize(Decimal("0.01")) if close >= 1 else close))

    def request(self) -> OrderRequest:
        """The order on the form; raises TradingError when it is incomplete."""
        limit = to_price(repr(self.limit_price.value())) if self.order_type.currentText() == "limit" else None
        request = OrderRequest(
            symbol=self.symbol.text().strip().upper(),
            side="sell" if self.sell.isChecked() else "buy",
            quantity=to_quantity(repr(self.quantity.value())),
            order_type="limit" if limit is not None else "market",
            limit_price=limit,
            time_in_force=self.tif.currentText(),
            strategy="manual",
        )
        request.validate()
        return request

    def _changed(self) -> None:
        self._update_submit_text()
        self._update_notional()
        self._preview_timer.start()

    def _update_submit_text(self) -> None:
        side = self.side()
        symbol = self.symbol.text().strip().upper() or "…"
        live = " LIVE" if self.choice().live else ""
        self.submit_button.setText(f"{side.capitalize()}{live} {to_quantity(repr(self.quantity.value()))} {symbol}")
        color = UP if side == "buy" else DOWN
        self.submit_button.setStyleSheet(f"QPushButton {{ background: {color}; color: white; font-weight: bold; }}")

    def _update_notional(self) -> None:
        limit = self.order_type.currentText() == "limit" and self.limit_price.value() > 0
        price = Decimal(repr(self.limit_price.value())) if limit else (self._last[0] if self._last else None)
        if price is None:
            self.notional.setText("— (no stored close for this symbol)" if self.symbol.text().strip() else "—")
            return
        value = to_quantity(repr(self.quantity.value())) * price
        basis = "limit" if limit else f"last close {price:,.2f}"
        when = f" on {self._last[1].astimezone():%Y-%m-%d}" if self._last and not limit else ""
        self.notional.setText(f"≈ {value:,.2f} ({basis}{when})")

    # -- preview and submit -------------------------------------------------------------------------------
    def run_preview(self) -> None:
        try:
            request = self.request()
        except TradingError as exc:
            self._show_risk(f"incomplete: {exc}", MUTED)
            return
        self._preview_generation += 1
        generation = self._preview_generation
        key = self.choice().key
        self._service.quietly(
            key,
            lambda session: preview_order(session, request, account=self._recent_account(key, session)),
            lambda result, error: self._preview_done(generation, result, error),
        )

    def _recent_account(self, key: str, session: TradingSession) -> Account | None:
        """The broker account read at most a few seconds ago (runs in the worker, under the session lock)."""
        if session.broker.name == "paper":
            return None  # local and instant: always current
        cached = self._accounts.get(key)
        if cached is not None and time.monotonic() - cached[0] < _ACCOUNT_TTL_S:
            return cached[1]
        try:
            account = session.broker.account()
        except TradingError:
            return None  # preview_order reports it
        self._accounts[key] = (time.monotonic(), account)
        return account

    def _preview_done(self, generation: int, result: Any, error: str | None) -> None:
        if generation != self._preview_generation:
            return  # the form changed since: a newer preview is on its way
        if error is not None:
            self._show_risk(f"preview unavailable: {error}", MUTED)
            return
        assert isinstance(result, RiskPreview)
        self.last_preview = result
        position = f" · position {result.position_before} → {result.position_after}"
        self._show_risk(result.summary() + position, UP if result.passes else DOWN)

    def _show_risk(self, text: str, color: str) -> None:
        self.risk.setText(text)
        self.risk.setStyleSheet(f"color: {color};")

    def submit(self) -> JobHandle | None:
        """Send the order in a worker (after the LIVE confirmation for a live account)."""
        if self._submitting is not None:
            return None
        try:
            request = self.request()
        except TradingError as exc:
            self._show_status(str(exc), DOWN)
            return None
        choice = self.choice()
        if choice.live:
            summary = f"{request.side.upper()} {request.quantity} {request.symbol} {request.order_type}"
            self.live_dialog = LiveConfirmDialog(summary, self)
            self.live_dialog.accepted.connect(lambda: self._send(choice, request))
            self.live_dialog.open()
            return None
        return self._send(choice, request)

    def _send(self, choice: BrokerChoice, request: OrderRequest) -> JobHandle:
        def work(session: TradingSession, progress: ProgressCallback, cancel: CancelToken) -> SubmitOutcome:
            try:
                order = session.manager.submit(request)
            except RiskRejectedError as exc:  # an expected answer, not a failure: no error_logs row
                return SubmitOutcome(request, choice.broker, rule=exc.rule, reason=exc.reason)
            return SubmitOutcome(request, choice.broker, order=order)

        label = f"{request.side.capitalize()} {request.quantity} {request.symbol} ({choice.label})"
        self.submit_button.setEnabled(False)
        self._show_status(f"Sending: {label}…", MUTED)
        handle = self._service.submit_job(
            choice.key,
            label,
            work,
            on_success=self._submitted,
            on_failure=self._not_sent,
            # The order belongs to the click that sent it (one correlation id per user action).
            correlation_id=current_correlation_id() or new_correlation_id("order"),
        )
        self._submitting = handle
        handle.cancelled.connect(self._submit_ended)
        return handle

    def _submit_ended(self) -> None:
        """The verdict is in (the worker thread may still be winding down): the ticket takes the next order."""
        if self._submitting is None:
            return
        self._submitting = None
        self.submit_button.setEnabled(True)
        self._service.ordersChanged.emit(self.choice().broker)
        self._preview_timer.start()

    def _not_sent(self, message: str) -> None:
        self._submit_ended()
        self._show_status(f"Not sent: {message}", DOWN)

    def _submitted(self, outcome: SubmitOutcome) -> None:
        self._submit_ended()
        request = outcome.request
        if outcome.order is None:
            message = f"Risk check {outcome.rule} refused {request.side} {request.quantity} {request.symbol}: "
            message += str(outcome.reason)
            self._show_status(message, DOWN)
            self._context.notify.emit("warning", message)
            return
        message = describe(outcome.order)
        rejected = outcome.order.status == "rejected"
        self._show_status(message, DOWN if rejected else UP)
        self._context.notify.emit("warning" if rejected else "info", message)
        self._service.ordersChanged.emit(outcome.broker)

    def _show_status(self, text: str, color: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {color};")
