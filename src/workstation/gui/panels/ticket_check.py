"""The ticket's pre-trade check: previews the form in the background and judges whether it may be sent.

A preview belongs to the exact form it was computed for (``TicketForm.key``); a form that changed
since waits for its own ("Checking the order…"), so a verdict is never borrowed from an older form.
Changes outside the form (halt, account, positions, price) re-run the preview of the same form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from shiboken6 import isValid

from workstation.gui.panels.ticket_rules import (
    TicketForm,
    form_problem,
    plain_reason,
    preview_problem,
    preview_summary,
)
from workstation.gui.trading_service import TradingService
from workstation.trading.domain import OrderRequest
from workstation.trading.preview import RiskPreview

_PREVIEW_DELAY_MS = 250
FormKey = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """None ``reason``: the order may be sent (``summary`` says what it does); else the first thing to fix."""

    reason: str | None
    summary: str = ""

    @property
    def pending(self) -> bool:
        return self.reason is not None and self.reason.endswith("…")


class TicketCheck(QObject):
    updated = Signal()  # a preview arrived: judge the form again

    def __init__(
        self,
        service: TradingService,
        current: Callable[[], tuple[TicketForm, OrderRequest | None]],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._service = service
        self._current = current
        self._generation = 0
        self._preview: tuple[FormKey, RiskPreview] | None = None
        self._error: tuple[FormKey, str] | None = None
        self._invalid: tuple[FormKey, str] | None = None
        self.last_preview: RiskPreview | None = None
        self._timer = QTimer(self, singleShot=True, interval=_PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.run_preview)

    def schedule(self) -> None:
        """Preview the form shortly (typing a quantity previews once, not on every keystroke)."""
        self._timer.start()

    def run_preview(self) -> None:
        form, request = self._current()
        if request is None:
            if self._invalid is not None and self._invalid[0] == form.key:
                self.updated.emit()  # out of bounds: judge again, the verdict now says why
            return  # else incomplete: the verdict already says what is missing
        self._generation += 1
        generation, key = self._generation, form.key
        self._service.preview(form.broker, request, lambda result, error: self._done(generation, key, result, error))

    def refuse(self, key: FormKey, reason: str) -> None:
        """The form ``key`` cannot even become an order (out of bounds): that is its verdict, no preview."""
        self._generation += 1  # a preview still on its way is for an older form
        self._invalid = (key, reason)

    def _done(self, generation: int, key: FormKey, result: Any, error: str | None) -> None:
        if not isValid(self):
            return  # the ticket was closed while its preview ran
        if generation != self._generation:
            return  # the form changed since: a newer preview is on its way
        if error is not None:
            self._error = (key, error)
        else:
            assert isinstance(result, RiskPreview)
            self._error = None
            self._preview = (key, result)
            self.last_preview = result
        self.updated.emit()

    def verdict(
        self,
        form: TicketForm,
        known: set[str] | None,
        *,
        looked_up: bool,
        busy: bool,
        last_price: Decimal | None = None,
    ) -> Verdict:
        """Judge ``form`` now: its own completeness first, then its preview and the current halt.

        ``last_price`` is the ticket's newest price for the symbol (it may be newer than the broker's).
        """
        reason = form_problem(form, known)
        if reason is not None:
            return Verdict(reason)
        if not looked_up:
            return Verdict(f"Looking up {form.symbol}…")
        if busy:
            return Verdict("Sending the previous order…")
        if self._invalid is not None and self._invalid[0] == form.key:
            return Verdict(f"This order cannot be placed: {plain_reason(self._invalid[1])}.")
        if self._error is not None and self._error[0] == form.key:
            return Verdict(f"The order could not be checked: {plain_reason(self._error[1])}")
        if self._preview is None or self._preview[0] != form.key:
            return Verdict("Checking the order…")
        preview = self._preview[1]
        problem = preview_problem(
            preview,
            self._service.halted,
            market_price=last_price if form.order_type == "market" else None,
            # The paper broker does not sell short (Alpaca decides by the account's margin).
            short_selling=self._service.choice(form.broker).broker != "paper",
        )
        return Verdict(problem) if problem is not None else Verdict(None, preview_summary(preview))
