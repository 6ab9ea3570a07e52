"""The order manager: the one path every order takes (backtest, replay, live), strategy → risk → broker.

Rules it enforces (the state machine itself is ``execution.transitions``):
* the risk checks read the account from the store inside the account's lock, and the order is
  committed (status ``pending``) in that same locked transaction, before the broker sees it; every
  retry reuses its client order id;
* every state change is a compare-and-set on the order's version, written with its trading events
  in one transaction under the account lock; a lost race is re-read and decided again, never
  overwritten; a final state is never left;
* a failure whose outcome is unknown (timeout, dropped connection, 5xx) is followed by a look-up
  before anything is resent; a "client order id must be unique" answer means the order exists and
  is looked up (with retries) and adopted; when no answer settles it the order stays open with its
  outcome unknown and is looked up again with backoff for ``unknown_window`` before it may be
  declared never received (``OrderOutcomeUnknownError``, exit code 3);
* 401/403 reject the order at once, with the reason (``BrokerAuthError``, exit code 2);
* a local broker (the paper broker, whose state is this database) is called inside the account
  lock, and its answer is written in the same transaction;
* reports that cannot be written (the database is down) wait in ``backlog`` and are written, in
  order, by ``drain_backlog``; reconciliation afterwards recovers anything else;
* a bracket/OTO/OCO is committed with its legs (orders of their own, naming their parent; see
  ``execution.legs``); a report about a leg the broker names by its own id is matched by broker id;
  replacing and closing are in ``execution.amend``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from workstation.errors import DatabaseUnavailableError
from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.brokers.base import Broker
from workstation.trading.domain import (
    BrokerOrder,
    ExecutionReport,
    Order,
    OrderRequest,
    RiskRejectedError,
    TradingEventRecord,
    new_client_order_id,
    utcnow,
)
from workstation.trading.execution import amend, cancelling, transitions
from workstation.trading.execution.legs import legs_for, order_from_request
from workstation.trading.execution.reconcile import ReconcileResult, adopt_order, reconcile
from workstation.trading.execution.sending import send_remote
from workstation.trading.execution.timings import ExecutionTimings
from workstation.trading.positions import PositionBook
from workstation.trading.repository import AccountTx, LostRaceError, OrderStore
from workstation.trading.risk import RiskEngine, RiskSnapshot

log = logging.getLogger(__name__)

CRASH_ENV = "WORKSTATION_CRASH_AT"
_RACE_RETRIES = 8
_NEVER_SENT_LOCALLY = "never reached the paper broker (interrupted before it was sent); place it again if still wanted"
T = TypeVar("T")
# What "the database is unreachable" looks like from here.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, DatabaseUnavailableError)

__all__ = ["CRASH_ENV", "OrderManager", "ReconcileResult", "env_crash_hook"]


def env_crash_hook(point: str) -> None:
    """Fault injection for the crash tests: ``WORKSTATION_CRASH_AT=after_commit`` kills the process there."""
    if os.environ.get(CRASH_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


class OrderManager:
    def __init__(
        self,
        store: OrderStore,
        broker: Broker,
        *,
        risk: RiskEngine | None = None,
        clock: Callable[[], datetime] = utcnow,
        crash_hook: Callable[[str], None] = env_crash_hook,
        timings: ExecutionTimings | None = None,
        id_prefix: str = "ws",
        id_factory: Callable[[], str] | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.risk = risk
        self.clock = clock
        self.crash_hook = crash_hook
        self.timings = timings or ExecutionTimings.from_env()
        self.id_prefix = id_prefix
        # Live ids must be unique across restarts (uuid); a backtest's ids only within its own run.
        self._new_id = id_factory or (lambda: new_client_order_id(id_prefix))
        self.account = broker.name
        self.local = bool(getattr(broker, "local", False))
        self.backlog: deque[ExecutionReport] = deque()
        self._batching = threading.local()  # depth of batch() on this thread
        broker.set_update_handler(self._on_local_report if self.local else self._on_broker_report)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def batch(self) -> Iterator[None]:
        """The calls made inside share one account-locked transaction when the broker is local.

        A bar's fills, or a batch of orders, then cost one lock and one commit instead of two or three
        per order; the paper broker's state is this database, so the batch commits (or, on any error,
        rolls back) its orders, their sends and fills together. A remote broker's order must be committed
        before the broker sees it, so for it this does nothing.
        """
        if not self.local:
            yield
            return
        depth = getattr(self._batching, "depth", 0)
        with self.store.locked(self.account, durable=False):
            self._batching.depth = depth + 1
            try:
                yield
            finally:
                self._batching.depth = depth

    def _locked(self, decide: Callable[[AccountTx], T]) -> T:
        """Run ``decide`` in one locked transaction; a lost race re-reads and decides again."""
        for attempt in range(_RACE_RETRIES):
            try:
                with self.store.locked(self.account, durable=not self.local) as tx:
                    return decide(tx)
            except LostRaceError:
                if attempt == _RACE_RETRIES - 1:
                    raise
                log.info("lost a race on %s; re-reading", self.account)
        raise AssertionError("unreachable")

    def _change(self, order_id: str, decide: Callable[[Order, datetime], transitions.Change | None]) -> Order | None:
        def run(tx: AccountTx) -> Order | None:
            order = tx.order(order_id)
            if order is None:
                return None
            change = decide(order, self.clock())
            if change is not None:
                tx.save(order, change)
            return order

        return self._locked(run)

    # ------------------------------------------------------------------ placing
    def submit(self, request: OrderRequest) -> Order:
        """Validate, risk-check and commit under the account lock, then send. Returns the order's state.

        Raises InvalidOrderError (nothing recorded), RiskRejectedError (a risk_rejected event, no
        order), BrokerAuthError (the order is rejected with the reason) and OrderOutcomeUnknownError
        (the order stays open, outcome unknown, until a look-up settles it).
        """
        request = request.normalised()
        check = getattr(self.broker, "check_request", None)
        if check is not None:
            check(request)

        def place(tx: AccountTx) -> Order | RiskRejectedError:
            now = self.clock()
            correlation_id = current_correlation_id()
            risk_record: dict[str, object] = {"outcome": "bypassed" if request.bypass_risk else "not checked"}
            if self.risk is not None and not request.bypass_risk:
                snapshot = tx.risk_snapshot(self.account, request, self.risk.limits, now, self.broker.last_price)
                verdict = self.risk.check(request, snapshot)
                risk_record = self.risk.record(request, snapshot, verdict)
                if verdict is not None:
                    tx.record_events(
                        [
                            TradingEventRecord(
                                "risk_rejected",
                                symbol=request.symbol,
                                side=request.side,
                                quantity=request.quantity,
                                price=request.limit_price,
                                strategy=request.strategy,
                                correlation_id=correlation_id,
                                metadata={"rule": verdict.rule, "reason": verdict.reason, "risk": risk_record},
                                timestamp=now,
                            )
                        ]
                    )
                    return RiskRejectedError(verdict.reason, verdict.rule)
            order = order_from_request(request, self._new_id(), self.broker.name, correlation_id, now)
            # The risk verdict travels with the order's first event: an explanation shows what was checked.
            placed = transitions.event(
                "order_placed",
                order,
                now,
                metadata={"order_type": order.order_type, "order_class": order.order_class, "risk": risk_record},
            )
            tx.insert_order(order, [placed])
            legs = legs_for(request, order)
            for leg in legs:
                role = leg.leg_role
                tx.insert_order(leg, [transitions.event("order_placed", leg, now, metadata={"leg": role})])
            order.legs = tuple(legs)
            return order

        placed = self._locked(place)
        if isinstance(placed, RiskRejectedError):
            raise placed
        self.crash_hook("after_commit")
        if not self.local:
            return self._send_remote(placed)
        # Inside batch() the order was inserted in this very transaction: nobody else can have seen it.
        return self._send_local(placed, fresh=getattr(self._batching, "depth", 0) > 0)

    def _send_local(self, order: Order, *, fresh: bool = False) -> Order:
        def send(tx: AccountTx) -> Order:
            current = order if fresh else tx.order(order.order_id)
            if current is None or current.status != "pending":
                return current or order  # settled meanwhile (e.g. cancelled by another process)
            if current.order_class != "simple" and not fresh:  # fresh: its pending legs are attached
                current.legs = tuple(leg for leg in tx.legs(current.order_id) if leg.status == "pending")
            report = self.broker.submit(current)
            self.crash_hook("after_send")
            return self._apply(tx, report, current) or current

        return self._locked(send)

    def _send_remote(self, order: Order) -> Order:
        return send_remote(self, order)

    # ------------------------------------------------------------------ updates
    def apply_report(self, report: ExecutionReport) -> Order | None:
        """Apply a broker report (submit answer, stream event, bar fill, look-up), idempotently."""
        return self._locked(lambda tx: self._apply(tx, report))

    def _apply(self, tx: AccountTx, report: ExecutionReport, order: Order | None = None) -> Order | None:
        """Apply ``report`` inside ``tx``; ``order`` when the caller has just read it locked in ``tx``."""
        if order is None or order.order_id != report.order_id:
            order = tx.order(report.order_id)
        if order is None and report.broker_order_id:
            # A leg (or an order replaced at the broker) carries the broker's client id, not ours.
            order = tx.order_by_broker_id(report.broker_order_id)
        if order is None:
            log.warning("report for unknown order %s ignored (reconciliation adopts it)", report.order_id)
            return None
        change = transitions.apply(order, report, self.clock())
        if change is not None:
            tx.save(order, change)
        for leg_report in report.legs:
            self._apply(tx, leg_report)
        return order

    def _on_local_report(self, report: ExecutionReport) -> None:
        """A local broker's report (a fill on a new bar): written in the caller's locked transaction."""
        self.apply_report(report)

    def _on_broker_report(self, report: ExecutionReport) -> None:
        """An asynchronous report (stream): written now, or kept in order until the database is back."""
        if self.backlog:
            self.backlog.append(report)
            self.drain_backlog()
            return
        try:
            self.apply_report(report)
        except DATABASE_ERRORS as exc:
            log.warning("database unavailable; report for %s kept for later: %s", report.order_id, exc)
            self.backlog.append(report)

    def drain_backlog(self) -> int:
        """Write the kept reports in order; stops at the first that still cannot be written."""
        written = 0
        while self.backlog:
            try:
                self.apply_report(self.backlog[0])
            except DATABASE_ERRORS:
                break
            self.backlog.popleft()
            written += 1
        return written

    def mark_unknown(self, order_id: str, reason: str) -> Order | None:
        delay = self.timings.recheck_delay

        def decide(order: Order, now: datetime) -> transitions.Change | None:
            return transitions.mark_unknown(order, reason, now, delay(order.check_attempts).total_seconds())

        return self._change(order_id, decide)

    def settle_missing(self, order_id: str) -> Order | None:
        """The broker does not know the order: unknown (looked up again) until the window has passed."""
        window = self.timings.unknown_window
        delay = self.timings.recheck_delay

        def decide(order: Order, now: datetime) -> transitions.Change | None:
            if self.local:
                # The paper broker's send and its answer commit together: pending means never sent.
                if order.status != "pending":
                    return None
                reason = (
                    "never reached the paper broker (interrupted before it was sent); place it again if still wanted"
                )
                return transitions.cancel_unsent(order, reason, now)
            since = order.created_at if order.status == "pending" else (order.unknown_since or now)
            if (now - since).total_seconds() >= window:
                return transitions.settle_never_received(order, self.broker.name, now, window)
            reason = f"not found at {self.broker.name}"
            return transitions.mark_unknown(order, reason, now, delay(order.check_attempts).total_seconds())

        return self._change(order_id, decide)

    def adopt(
        self,
        found: BrokerOrder,
        *,
        strategy: str = "adopted",
        parent_order_id: str | None = None,
        replaces: str | None = None,
    ) -> Order | None:
        """An order the broker holds under our id prefix that the book lacks: add it, as the broker has it."""
        return adopt_order(self, found, strategy=strategy, parent_order_id=parent_order_id, replaces=replaces)

    def on_bar(self, symbol: str, bar: object, *, may_fill: bool = True) -> None:
        """A new bar for a local broker: its working orders may fill, all inside the account lock.

        ``may_fill=False`` (the symbol is not in ``working_symbols()``, read in the same batch) only
        records the bar as the last price: no reads for a symbol with nothing to fill.
        """
        on_bar = getattr(self.broker, "on_bar", None)
        if not self.local or on_bar is None:
            return
        note_bar = getattr(self.broker, "note_bar", None)
        if not may_fill and note_bar is not None:
            note_bar(symbol, bar)
            return
        self._locked(lambda tx: on_bar(symbol, bar))

    def working_symbols(self) -> set[str] | None:
        """A local broker's symbols with working orders, read under the account lock (call it inside
        ``batch()`` so the answer holds for the batch); None when the broker cannot say."""
        working = getattr(self.broker, "working_symbols", None)
        if not self.local or working is None:
            return None
        return self._locked(lambda tx: set(working()))

    # ------------------------------------------------------------------ cancelling
    def cancel(self, order_id: str) -> Order:
        """Cancel an open order; returns its state (``cancelled``, or ``pending_cancel`` at a remote broker)."""
        return cancelling.cancel_order(self, order_id)

    def cancel_all(self) -> list[Order]:
        return cancelling.cancel_all(self)

    # ------------------------------------------------------------------ replacing and closing
    def replace(
        self,
        order_id: str,
        *,
        quantity: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail: Decimal | None = None,
    ) -> Order:
        """Replace an open order (a new order, the old one ``replaced``); returns the new order."""
        return amend.replace_order(
            self, order_id, quantity=quantity, limit_price=limit_price, stop_price=stop_price, trail=trail
        )

    def close_position(self, symbol: str) -> Order:
        """Cancel the symbol's open orders and flatten it at market; returns the closing order."""
        return amend.close_position(self, symbol)

    def close_all_positions(self) -> tuple[list[Order], list[str]]:
        return amend.close_all_positions(self)

    # ------------------------------------------------------------------ reconciliation
    def reconcile(self, *, force: bool = True, deadline: float | None = None) -> ReconcileResult:
        """Settle the book with the broker: open orders looked up, unknown ones re-checked, ours adopted."""
        return reconcile(self, force=force, deadline=deadline)

    def recheck_unknown(self) -> ReconcileResult:
        """Look up the orders whose outcome is unknown and whose next check is due (long-running loops)."""
        return reconcile(self, force=False, unknown_only=True, adopt=False, record=False)

    # ------------------------------------------------------------------ queries
    def open_orders(self) -> list[Order]:
        return self.store.open_orders(self.account)

    def get(self, order_id: str) -> Order | None:
        return self.store.get_order(order_id)

    def positions(self) -> PositionBook:
        """The account's positions from its fills (the database's, shared by every process)."""
        return self.store.position_book(self.account)

    @property
    def book(self) -> PositionBook:
        return self.positions()

    def position_quantity(self, symbol: str) -> Decimal:
        return self.positions().quantity(symbol)

    def risk_snapshot(self, request: OrderRequest) -> RiskSnapshot:
        """The inputs the risk rules would see for ``request`` now (a preview that places nothing)."""
        assert self.risk is not None
        request = request.normalised()
        return self._locked(
            lambda tx: tx.risk_snapshot(self.account, request, self.risk.limits, self.clock(), self.broker.last_price)  # type: ignore[union-attr]
        )
