"""The order manager: the one state machine every order goes through (backtest, replay, live).

    pending ─► submitted ─► accepted ─► partially_filled ─► filled
                    │            │               └────────► cancelled | expired
                    └────────────┴─► rejected | cancelled | expired | replaced

Rules it enforces:
* the client order id is generated and COMMITTED (status ``pending``) before the broker sees it,
  and every retry reuses it;
* after an ambiguous failure (timeout, dropped connection, 5xx) the order is looked up by client
  order id before anything is sent again, so one intent never becomes two orders;
* fills are de-duplicated by fill_id and by the broker's cumulative quantity, so a fill reported
  twice (stream + reconciliation) is booked once;
* every state change is written together with its trading_events in one transaction.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.brokers.base import Broker
from workstation.trading.domain import (
    ZERO,
    BrokerRejectedError,
    BrokerUnavailableError,
    ExecutionReport,
    Fill,
    Order,
    OrderRequest,
    RiskRejectedError,
    TradingError,
    TradingEventRecord,
    new_client_order_id,
    to_price,
    utcnow,
)
from workstation.trading.positions import PositionBook
from workstation.trading.repository import OrderStore
from workstation.trading.risk import RiskEngine, RiskSnapshot

log = logging.getLogger(__name__)

CRASH_ENV = "WORKSTATION_CRASH_AT"
_RANK = {"pending": 0, "submitted": 1, "accepted": 2, "pending_cancel": 3, "partially_filled": 4}
_FINAL = ("filled", "cancelled", "rejected", "expired", "replaced")


def env_crash_hook(point: str) -> None:
    """Fault injection for the crash tests: ``WORKSTATION_CRASH_AT=after_commit`` kills the process there."""
    if os.environ.get(CRASH_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    checked: int
    changed: int
    fills_recovered: int


class OrderManager:
    def __init__(
        self,
        store: OrderStore,
        broker: Broker,
        *,
        risk: RiskEngine | None = None,
        clock: Callable[[], datetime] = utcnow,
        crash_hook: Callable[[str], None] = env_crash_hook,
        max_submit_attempts: int = 3,
        retry_wait_seconds: float = 0.5,
        id_prefix: str = "ws",
        id_factory: Callable[[], str] | None = None,
        load_history: bool = True,
    ) -> None:
        self.store = store
        self.broker = broker
        self.risk = risk
        self.clock = clock
        self.crash_hook = crash_hook
        self.max_submit_attempts = max_submit_attempts
        self.retry_wait_seconds = retry_wait_seconds
        self.id_prefix = id_prefix
        # Live ids must be unique across restarts (uuid); a backtest's ids only within its own run.
        self._new_id = id_factory or (lambda: new_client_order_id(id_prefix))
        self.book = PositionBook()
        self._lock = threading.RLock()
        self._open: dict[str, Order] = {}
        self._pnl_day: date | None = None
        self._pnl_baseline = ZERO
        if load_history:
            for fill in store.fills(broker=broker.name):
                self.book.apply_fill(fill)
            self._open = {o.order_id: o for o in store.open_orders(broker.name)}
        broker.set_update_handler(self.apply_report)

    # ------------------------------------------------------------------ placing
    def submit(self, request: OrderRequest) -> Order:
        """Risk-check, commit, send. Returns the order in its latest state (possibly rejected).

        Raises RiskRejectedError when a risk rule refuses it (no order is created) and
        BrokerUnavailableError when the outcome stays unknown (the order stays pending and the
        next reconciliation settles it).
        """
        request.validate()
        symbol = request.symbol.strip().upper()
        with self._lock:
            now = self.clock()
            correlation_id = current_correlation_id()
            if self.risk is not None and not request.bypass_risk:
                verdict = self.risk.check(request, self._snapshot(request, now))
                if verdict is not None:
                    self.store.record_events(
                        [
                            TradingEventRecord(
                                "risk_rejected",
                                symbol=symbol,
                                side=request.side,
                                quantity=request.quantity,
                                price=request.limit_price,
                                strategy=request.strategy,
                                correlation_id=correlation_id,
                                metadata={"rule": verdict.rule, "reason": verdict.reason},
                                timestamp=now,
                            )
                        ]
                    )
                    raise RiskRejectedError(verdict.reason, verdict.rule)
            order = Order(
                order_id=self._new_id(),
                symbol=symbol,
                side=request.side,
                quantity=request.quantity,
                order_type=request.order_type,
                limit_price=request.limit_price,
                time_in_force=request.time_in_force,
                broker=self.broker.name,
                strategy=request.strategy,
                model_id=request.model_id,
                correlation_id=correlation_id,
                created_at=now,
            )
            placed = self._event("order_placed", order, now, metadata={"order_type": order.order_type})
            self.store.create_order(order, [placed])
            self._open[order.order_id] = order
        self.crash_hook("after_commit")
        report = self._send(order)
        self.crash_hook("after_send")
        self.apply_report(report)
        return order

    def _send(self, order: Order) -> ExecutionReport:
        last_error: BrokerUnavailableError | None = None
        for attempt in range(1, self.max_submit_attempts + 1):
            try:
                return self.broker.submit(order)
            except BrokerRejectedError as exc:
                return ExecutionReport(order.order_id, "rejected", reason=str(exc))
            except BrokerUnavailableError as exc:
                last_error = exc
                log.warning("submit of %s failed ambiguously (attempt %d): %s", order.order_id, attempt, exc)
            # The broker may have the order even though we saw an error: ask before sending again.
            try:
                found = self.broker.lookup(order)
            except BrokerUnavailableError as exc:
                last_error = exc
                break
            if found is not None:
                return found
            if attempt < self.max_submit_attempts:
                time.sleep(self.retry_wait_seconds * attempt)
        with self._lock:
            order.status_reason = f"outcome unknown, will reconcile: {last_error}"
            self.store.save(order, [], [self._event("order_send_unknown", order, self.clock())])
        raise BrokerUnavailableError(
            f"order {order.order_id} may not have reached {self.broker.name} ({last_error}); "
            "it stays pending and is reconciled on the next start"
        )

    # ------------------------------------------------------------------ updates
    def apply_report(self, report: ExecutionReport) -> None:
        """Apply a broker report (submit response, stream event, bar fill, look-up) idempotently."""
        with self._lock:
            order = self._open.get(report.order_id) or self.store.get_order(report.order_id)
            if order is None:
                log.warning("report for unknown order %s ignored", report.order_id)
                return
            now = report.timestamp or self.clock()
            fills = self._new_fills(order, report, now)
            events: list[TradingEventRecord] = []
            for fill in fills:
                previous_value = (order.average_fill_price or ZERO) * order.filled_quantity
                order.filled_quantity += fill.quantity
                order.average_fill_price = to_price(
                    (previous_value + fill.price * fill.quantity) / order.filled_quantity
                )
                self.book.apply_fill(fill)
                kind = "order_filled" if order.filled_quantity >= order.quantity else "order_partially_filled"
                events.append(
                    self._event(
                        kind,
                        order,
                        fill.timestamp,
                        quantity=fill.quantity,
                        price=fill.price,
                        metadata={"fill_id": fill.fill_id, "commission": fill.commission},
                    )
                )
            dirty = bool(fills)
            if report.broker_order_id and not order.broker_order_id:
                order.broker_order_id = report.broker_order_id
                dirty = True
            status = self._next_status(order, report.status)
            changed = status != order.status
            if changed:
                order.status = status
                if status in ("rejected", "cancelled", "expired", "replaced") or report.reason:
                    order.status_reason = report.reason
                if status not in ("filled", "partially_filled"):
                    events.append(self._event(f"order_{status}", order, now, metadata={"reason": report.reason}))
            if order.submitted_at is None and order.status != "pending":
                order.submitted_at = now
                dirty = True
            if not (dirty or changed):
                return
            self.store.save(order, fills, events)
            if order.is_final:
                self._open.pop(order.order_id, None)
            else:
                self._open[order.order_id] = order

    def _new_fills(self, order: Order, report: ExecutionReport, now: datetime) -> list[Fill]:
        if report.cumulative_quantity is None:
            fresh = [f for f in report.fills if not self.store.has_fill(f.fill_id)]
            room = order.quantity - order.filled_quantity
            return [f for f in fresh if f.quantity <= room]
        delta = min(report.cumulative_quantity, order.quantity) - order.filled_quantity
        if delta <= 0:
            return []
        if len(report.fills) == 1 and report.fills[0].quantity == delta:
            fill = report.fills[0]
            return [] if self.store.has_fill(fill.fill_id) else [fill]
        # The broker's totals are ahead of what we booked: recover the missed part as one fill at
        # the price that makes our average equal the broker's.
        if report.average_price is None:
            return []
        booked_value = (order.average_fill_price or ZERO) * order.filled_quantity
        price = to_price((report.average_price * report.cumulative_quantity - booked_value) / delta)
        fill_id = f"{order.broker_order_id or order.order_id}-C{report.cumulative_quantity}"
        if self.store.has_fill(fill_id):
            return []
        commission = sum((f.commission for f in report.fills), ZERO)
        return [Fill(fill_id, order.order_id, order.symbol, order.side, delta, price, commission, now)]

    @staticmethod
    def _next_status(order: Order, reported: str) -> str:
        if order.is_final:
            return order.status
        if order.filled_quantity >= order.quantity:
            return "filled"
        if reported in _FINAL:
            return reported
        if order.filled_quantity > 0 and _RANK.get(reported, 0) < _RANK["partially_filled"]:
            return "partially_filled" if reported != "pending_cancel" else "pending_cancel"
        if _RANK.get(reported, 0) < _RANK.get(order.status, 0):
            return order.status
        return reported

    # ------------------------------------------------------------------ cancelling
    def cancel(self, order_id: str) -> Order:
        with self._lock:
            order = self._open.get(order_id) or self.store.get_order(order_id)
        if order is None:
            raise TradingError(f"no order {order_id}")
        if order.is_final:
            raise TradingError(f"order {order_id} is already {order.status}")
        if order.status == "pending" and self.broker.lookup(order) is None:
            self.apply_report(ExecutionReport(order_id, "cancelled", reason="cancelled before it reached the broker"))
            return order
        report = self.broker.cancel(order)
        self.apply_report(report or ExecutionReport(order_id, "pending_cancel", reason="cancel requested"))
        return order

    def cancel_all(self) -> list[Order]:
        cancelled: list[Order] = []
        for order in self.open_orders():
            try:
                cancelled.append(self.cancel(order.order_id))
            except TradingError as exc:
                log.warning("cancel of %s failed: %s", order.order_id, exc)
        return cancelled

    # ------------------------------------------------------------------ reconciliation
    def reconcile(self) -> ReconcileResult:
        """Ask the broker about every order not in a final state, by client order id."""
        orders = self.store.open_orders(self.broker.name)
        changed = recovered = 0
        for stored in orders:
            with self._lock:
                order = self._open.setdefault(stored.order_id, stored)
            before = (order.status, order.filled_quantity)
            report = self.broker.lookup(order)
            if report is None:
                reason = (
                    "never reached the broker (interrupted before it was sent); place it again if still wanted"
                    if order.status == "pending"
                    else f"unknown to {self.broker.name}"
                )
                report = ExecutionReport(order.order_id, "cancelled", reason=reason)
            filled_before = order.filled_quantity
            self.apply_report(report)
            if (order.status, order.filled_quantity) != before:
                changed += 1
            if order.filled_quantity > filled_before:
                recovered += 1
        self.store.record_events(
            [
                TradingEventRecord(
                    "orders_reconciled",
                    correlation_id=current_correlation_id(),
                    metadata={"broker": self.broker.name, "checked": len(orders), "changed": changed},
                    timestamp=self.clock(),
                )
            ]
        )
        return ReconcileResult(len(orders), changed, recovered)

    # ------------------------------------------------------------------ queries
    def open_orders(self) -> list[Order]:
        with self._lock:
            return list(self._open.values())

    def get(self, order_id: str) -> Order | None:
        with self._lock:
            return self._open.get(order_id) or self.store.get_order(order_id)

    def position_quantity(self, symbol: str) -> Decimal:
        return self.book.quantity(symbol)

    def risk_snapshot(self, request: OrderRequest) -> RiskSnapshot:
        """The inputs the risk rules would see for ``request`` now (for a preview that places nothing)."""
        with self._lock:
            return self._snapshot(request, self.clock())

    # ------------------------------------------------------------------ internals
    def _snapshot(self, request: OrderRequest, now: datetime) -> RiskSnapshot:
        assert self.risk is not None
        limits = self.risk.limits
        symbol = request.symbol.upper()
        pending = ZERO
        for order in self._open.values():
            if order.symbol == symbol:
                pending += order.remaining if order.side == "buy" else -order.remaining
        gross = ZERO
        pnl = ZERO
        needs_marks = limits.max_gross_exposure is not None or limits.daily_loss_limit is not None
        if needs_marks:
            for position in self.book.open_positions():
                last = self.broker.last_price(position.symbol)
                if last is not None:
                    position.last_price = last
            gross = self.book.gross_exposure()
            total = self.book.realised_pnl - self.book.commission
            total += sum((p.unrealised_pnl for p in self.book.open_positions()), ZERO)
            if self._pnl_day != now.date():
                self._pnl_day, self._pnl_baseline = now.date(), total
            pnl = total - self._pnl_baseline
        needs_price = (
            limits.max_order_notional is not None
            or limits.limit_collar is not None
            or limits.max_gross_exposure is not None
        )
        return RiskSnapshot(
            position_quantity=self.book.quantity(symbol),
            open_order_quantity=pending,
            last_price=self.broker.last_price(symbol) if needs_price else None,
            gross_exposure=gross,
            daily_pnl=pnl,
            now=now,
        )

    def _event(
        self,
        event_type: str,
        order: Order,
        when: datetime,
        *,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        metadata: dict[str, object] | None = None,
    ) -> TradingEventRecord:
        return TradingEventRecord(
            event_type,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity if quantity is not None else order.quantity,
            price=price if price is not None else order.limit_price,
            order_id=order.order_id,
            strategy=order.strategy,
            correlation_id=current_correlation_id() or order.correlation_id,
            metadata={k: v for k, v in (metadata or {}).items() if v is not None} or None,
            timestamp=when,
        )
