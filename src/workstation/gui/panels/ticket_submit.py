"""Sending the ticket's order: the LIVE confirmation, the job on the broker's session, the outcome in words.

One order at a time: ``busy`` stays true from the click until the broker's verdict is in, and
``finished`` tells the ticket to judge its form again (positions and the account have moved).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from workstation.gui.context import WorkstationContext
from workstation.gui.dialogs.trading_dialogs import LiveConfirmDialog
from workstation.gui.panels.ticket_rules import format_quantity, plain_reason, rule_message
from workstation.gui.panels.ticket_support import SubmitOutcome, describe
from workstation.gui.tables import DOWN, MUTED, UP
from workstation.gui.trading_service import BrokerChoice
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.monitoring.correlation import current_correlation_id, new_correlation_id
from workstation.trading.domain import OrderRequest, RiskRejectedError
from workstation.trading.session import TradingSession

ShowStatus = Callable[[str, str], None]  # text, colour


class OrderSender(QObject):
    finished = Signal()

    def __init__(self, context: WorkstationContext, show_status: ShowStatus, parent: QWidget) -> None:
        super().__init__(parent)
        self._context = context
        self._service = context.trading
        self._show_status = show_status
        self._parent = parent
        self._handle: JobHandle | None = None
        self.live_dialog: LiveConfirmDialog | None = None

    @property
    def busy(self) -> bool:
        return self._handle is not None

    def send(self, choice: BrokerChoice, request: OrderRequest) -> JobHandle | None:
        """Send now, or (a live account) once the user has typed LIVE; None while waiting for that."""
        if choice.live:
            quantity = format_quantity(request.quantity)
            summary = f"{request.side.upper()} {quantity} {request.symbol} {request.order_type.replace('_', ' ')}"
            if request.order_class != "simple":
                summary += f" ({request.order_class})"
            self.live_dialog = LiveConfirmDialog(summary, self._parent)
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

        label = f"{request.side.capitalize()} {format_quantity(request.quantity)} {request.symbol} ({choice.label})"
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
        self._handle = handle
        handle.cancelled.connect(self._ended)
        self.finished.emit()  # the ticket shows that it is busy
        return handle

    def _ended(self) -> None:
        """The verdict is in (the worker thread may still be winding down): the ticket takes the next order."""
        if self._handle is None:
            return
        self._handle = None
        self._service.ordersChanged.emit(self._service.choice(self._service.current).broker)
        self.finished.emit()

    def _not_sent(self, message: str) -> None:
        self._ended()
        self._show_status(f"Not sent: {plain_reason(message)}", DOWN)

    def _submitted(self, outcome: SubmitOutcome) -> None:
        self._ended()
        request = outcome.request
        if outcome.order is None:
            what = f"{request.side} {format_quantity(request.quantity)} {request.symbol}"
            message = f"Not sent ({what}): {rule_message(outcome.rule or 'risk', outcome.reason)}"
            self._show_status(message, DOWN)
            self._context.notify.emit("warning", message)
            return
        message = describe(outcome.order)
        rejected = outcome.order.status == "rejected"
        self._show_status(message, DOWN if rejected else UP)
        self._context.notify.emit("warning" if rejected else "info", message)
        self._service.ordersChanged.emit(outcome.broker)
