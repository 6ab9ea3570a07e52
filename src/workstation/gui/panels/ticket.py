"""orderTicketPanel: place an order on the paper broker or Alpaca, only when it can be valid.

Every field follows the selected symbol until the user edits it: the limit price is that symbol's
last price (never the previous symbol's; empty until it is known) and keeps following new prices
until the user types one. Submit is enabled only when the form is complete, the pre-trade preview was
computed for exactly this form and nothing stops the order (ticket_rules.py lists the checks); the
reason is shown under the form otherwise. The preview is recomputed on every change of the form,
the broker account, positions, the halt and the last price. Orders go out in a worker; a live order
must be confirmed by typing LIVE. F9 / Shift+F9 open a buy / sell ticket for the selected symbol;
Ctrl+Return submits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTimer
from PySide6.QtGui import QAction, QShowEvent
from PySide6.QtWidgets import (
    QCompleter,
    QDockWidget,
    QWidget,
)

from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.trading_dialogs import LiveConfirmDialog
from workstation.gui.panels.ticket_check import TicketCheck
from workstation.gui.panels.ticket_fields import TicketFields
from workstation.gui.panels.ticket_rules import (
    TicketForm,
    form_problem,
    form_request,
    format_price,
    format_quantity,
)
from workstation.gui.panels.ticket_submit import OrderSender
from workstation.gui.panels.ticket_support import last_bar, stock_symbols
from workstation.gui.tables import DOWN, MUTED, UP
from workstation.gui.trading_service import BrokerChoice
from workstation.gui.workers import JobHandle
from workstation.trading.bounds import check_alpaca_rules
from workstation.trading.domain import OrderRequest, TradingError, to_quantity
from workstation.trading.orderrules import check_against_price
from workstation.trading.preview import RiskPreview

_SYMBOL_DELAY_MS = 400  # typing a symbol: look it up once the typing pauses


class OrderTicketPanel(TicketFields):
    def __init__(self, context: WorkstationContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._completions = QStringListModel(self)
        self._context = context
        self._service = context.trading
        self._last: tuple[Decimal, datetime] | None = None
        self._last_symbol = ""  # the symbol whose price ``_last`` and the limit price belong to
        self._known: set[str] | None = None  # None until stock_info has been read
        self._limit_edited = False  # the user typed a limit price for this symbol: it stops following
        self._filling = False  # a programmatic change (not the user's edit)
        self.blocked_reason: str | None = "Enter a symbol."
        self.sending = OrderSender(context, self._show_status, self)
        self.sending.finished.connect(self._recheck)
        self.check = TicketCheck(self._service, self._current, self)
        self.check.updated.connect(self._evaluate)
        self._symbol_timer = QTimer(self, singleShot=True, interval=_SYMBOL_DELAY_MS)
        self._symbol_timer.timeout.connect(self._symbol_edited)
        self._build()
        self._register_shortcuts()
        context.symbolChanged.connect(self.set_symbol)
        context.databaseChanged.connect(self._load_symbols)
        context.databaseChanged.connect(self._reload_last)
        context.refreshRequested.connect(self._reload_last)
        context.priceUpdated.connect(self._price_updated)
        context.display_time.changed.connect(self._update_notional)
        self._service.choicesChanged.connect(self._fill_brokers)
        self._service.haltChanged.connect(lambda _reason: self._recheck())
        self._service.accountChanged.connect(lambda key: self._recheck() if key == self.choice().key else None)
        self._service.fillsChanged.connect(self._recheck)
        self._service.ordersChanged.connect(lambda _broker: self._recheck())
        self._service.refresh_choices()
        if context.symbol:
            self.set_symbol(context.symbol)
        self._evaluate()

    # -- construction -----------------------------------------------------------------------------------
    def _build(self) -> None:
        """Wire the fields (ticket_fields.py builds them) to the form's logic."""
        completer = QCompleter(self._completions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.symbol.setCompleter(completer)
        self.symbol.editingFinished.connect(self._symbol_edited)
        self.symbol.textEdited.connect(self._symbol_typed)
        self._sides.buttonToggled.connect(lambda *_: self._changed())
        self.order_type.currentTextChanged.connect(self._type_changed)
        self.order_class.currentTextChanged.connect(self._type_changed)
        self.limit_price.valueChanged.connect(self._limit_changed)
        self.quantity.valueChanged.connect(self._changed)
        self.tif.currentTextChanged.connect(self._type_changed)
        for spin in (self.stop_price, self.trail, self.take_profit, self.stop_loss):
            spin.valueChanged.connect(self._changed)
        self.trail_unit.currentIndexChanged.connect(lambda _i: self._changed())
        self.extended_hours.toggled.connect(lambda _on: self._changed())
        self.submit_button.clicked.connect(lambda: self._context.perform("ticket/submit", self.submit))
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

    # -- brokers, symbol, side ---------------------------------------------------------------------------
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
            self._known = set(symbols)
            self._changed()

    def _symbol_typed(self, _text: str) -> None:
        self._symbol_timer.start()
        self._changed()

    def _symbol_edited(self) -> None:
        """A new symbol: its price replaces the old one's everywhere, and the limit follows it again."""
        self._symbol_timer.stop()
        symbol = self._symbol_text()
        if symbol == self._last_symbol:
            return
        self._last_symbol = symbol
        self._last = None
        self._limit_edited = False
        self._set_limit(None)  # never the previous symbol's price, not even for a moment
        self._reload_last()

    def _reload_last(self) -> None:
        symbol = self._last_symbol
        if symbol:
            engine = self._context.engine
            self._service.calls.run(lambda: (symbol, last_bar(engine, symbol)), self._set_last)
        self._changed()

    def _set_last(self, result: Any, error: str | None) -> None:
        if error is not None or result is None or result[0] != self._last_symbol:
            return
        self._last = result[1]
        self._follow_last()

    def _price_updated(self, symbol: str, price: Decimal) -> None:
        """A new last price (live bar or stream) for the ticket's symbol: limit and preview follow it."""
        if symbol != self._last_symbol or price <= 0:
            return
        self._last = (price, datetime.now(UTC))
        self._follow_last()

    def _follow_last(self) -> None:
        if self._last is not None and not self._limit_edited:
            self._set_limit(self._last[0])
        self._changed()

    def _set_limit(self, price: Decimal | None) -> None:
        self._filling = True
        try:
            self.limit_price.set_price(price)
        finally:
            self._filling = False

    def _limit_changed(self, _value: float) -> None:
        if not self._filling:
            self._limit_edited = True  # the user's price: it stays until the symbol changes
        self._changed()

    def _type_changed(self, _text: str) -> None:
        self.show_fields()
        self._changed()

    # -- the form and its checks ---------------------------------------------------------------------------
    def _symbol_text(self) -> str:
        return self.symbol.text().strip().upper()

    def form(self) -> TicketForm:
        order_class = str(self.order_class.currentData() or "simple")
        kind = "limit" if order_class == "oco" else str(self.order_type.currentData() or "market")
        trail = to_quantity(repr(self.trail.value())) if kind == "trailing_stop" and self.trail.value() > 0 else None
        percent = self.trail_unit.currentData() == "percent"
        legs = order_class != "simple"
        return TicketForm(
            broker=self.choice().key,
            symbol=self._symbol_text(),
            side=self.side(),
            quantity=to_quantity(repr(self.quantity.value())),
            order_type=kind,
            # An OCO is the take-profit limit order: its limit price is the take-profit.
            limit_price=(self.take_profit.price() if order_class == "oco" else self.limit_price.price())
            if kind in ("limit", "stop_limit")
            else None,
            time_in_force=str(self.tif.currentData() or "day"),
            stop_price=self.stop_price.price() if kind in ("stop", "stop_limit") else None,
            trail_price=trail if not percent else None,
            trail_percent=trail if percent else None,
            order_class=order_class,
            take_profit=self.take_profit.price() if legs else None,
            stop_loss=self.stop_loss.price() if legs else None,
            extended_hours=self.extended_hours.isChecked() and self.extended_hours.isEnabled(),
        )

    def request(self) -> OrderRequest:
        """The order on the form; raises TradingError (in plain words) when it is incomplete or invalid."""
        form = self.form()
        problem = form_problem(form, self._known)
        if problem is not None:
            raise TradingError(problem)
        request = form_request(form)
        request.validate()
        check_alpaca_rules(request)
        check_against_price(request, self._last[0] if self._last is not None else None)
        return request

    def _changed(self) -> None:
        self._update_submit_text()
        self._update_notional()
        self._evaluate()
        self.check.schedule()

    def _recheck(self) -> None:
        """Something outside the form changed (halt, account, positions): judge again and re-preview."""
        self._evaluate()
        self.check.schedule()

    def _evaluate(self) -> None:
        """Enable submit, or disable it and say why (the first thing the user has to fix)."""
        form = self.form()
        looked_up = form.symbol == self._last_symbol
        last = self._last[0] if looked_up and self._last is not None else None
        verdict = self.check.verdict(form, self._known, looked_up=looked_up, busy=self.sending.busy, last_price=last)
        self.blocked_reason = verdict.reason
        self.submit_button.setEnabled(verdict.reason is None)
        self.submit_button.setToolTip(verdict.reason or "Send the order (Ctrl+Return)")
        if verdict.reason is None:
            self._show_risk(verdict.summary, UP)
        elif verdict.pending:
            self._show_risk(verdict.reason, MUTED)
        else:
            self._show_risk(f"✗ {verdict.reason}", DOWN)

    def _update_submit_text(self) -> None:
        side = self.side()
        symbol = self._symbol_text() or "…"
        live = " LIVE" if self.choice().live else ""
        quantity = format_quantity(to_quantity(repr(self.quantity.value())))
        self.submit_button.setText(f"{side.capitalize()}{live} {quantity} {symbol}")
        color = UP if side == "buy" else DOWN
        self.submit_button.setStyleSheet(
            f"QPushButton {{ background: {color}; color: white; font-weight: bold; }}"
            f"QPushButton:disabled {{ background: {MUTED}; color: #eeeeee; }}"
        )

    def _update_notional(self) -> None:
        form = self.form()
        last = self._last if form.symbol == self._last_symbol else None
        price = form.limit_price or form.stop_price or (last[0] if last else None)
        if price is None:
            self.notional.setText("— (no price for this symbol yet)" if form.symbol else "—")
            return
        value = form.quantity * price
        if form.order_type in ("limit", "stop_limit"):
            basis = "limit"
        else:
            assert last is not None
            when = self._context.display_time.format(last[1], daily=True)
            basis = f"last {format_price(price)} on {when}"
        self.notional.setText(f"≈ {format_price(value)} ({basis})")

    # -- preview and submit -------------------------------------------------------------------------------
    def _current(self) -> tuple[TicketForm, OrderRequest | None]:
        form = self.form()
        if form.symbol != self._last_symbol:
            return form, None  # the symbol's lookup comes first; it previews again when done
        try:
            request = self.request()
        except TradingError as exc:
            # Beyond what an order may hold (bounds): say so, rather than wait for a preview never asked.
            self.check.refuse(form.key, str(exc))
            return form, None
        return form, request

    def run_preview(self) -> None:
        self.check.run_preview()

    @property
    def last_preview(self) -> RiskPreview | None:
        return self.check.last_preview

    def _show_risk(self, text: str, color: str) -> None:
        self.risk.setText(text)
        self.risk.setStyleSheet(f"color: {color};")

    def submit(self) -> JobHandle | None:
        """Send the order in a worker (after the LIVE confirmation for a live account); refused while blocked."""
        if self.sending.busy:
            return None
        self._evaluate()
        if self.blocked_reason is not None:
            self._show_status(f"Not sent: {self.blocked_reason}", DOWN)
            return None
        return self.sending.send(self.choice(), self.request())

    @property
    def live_dialog(self) -> LiveConfirmDialog | None:
        return self.sending.live_dialog

    def _show_status(self, text: str, color: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {color};")
