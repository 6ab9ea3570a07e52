"""Reconciliation: make the book agree with the broker, adopting what the broker knows.

On start-up, after the trade stream reconnects, after a database outage and on ``orders reconcile``:

1. every order of the book that is not final is looked up by client order id. Found → the broker's
   state is applied (fills it reports and the book lacks are booked under the one fill identity).
   Not found → the order is not final on one answer: it is marked outcome-unknown and looked up
   again with backoff; only once ``unknown_window`` has passed since it was sent (or since the broker
   stopped showing it) is it declared never received. A local broker (paper) is exact instead: a
   pending order there never reached it;
2. the broker's open orders and the orders submitted since the previous complete reconciliation are
   listed; those carrying this workstation's id prefix that the book lacks are adopted (trading event
   ``order_adopted``), and those the book has open are brought up to date. A broker order that the
   book holds as final with another outcome is a conflict: reported (``order_conflict``), never
   applied — a final state is never left;
3. an ``orders_reconciled`` event records what was done.

``deadline`` (a ``time.monotonic()`` value) stops the work between orders; the result says whether it
was complete.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.domain import (
    STOP_LOSS,
    TAKE_PROFIT,
    BrokerAuthError,
    BrokerOrder,
    ExecutionReport,
    Order,
    TradingError,
    TradingEventRecord,
)
from workstation.trading.execution import transitions
from workstation.trading.execution.legs import LEG_SUFFIX
from workstation.trading.execution.transitions import RANK, relink
from workstation.trading.repository import AccountTx

if TYPE_CHECKING:
    from workstation.trading.order_manager import OrderManager

log = logging.getLogger(__name__)


@dataclass
class ReconcileResult:
    checked: int = 0
    changed: int = 0
    fills_recovered: int = 0
    broker: str = ""
    adopted: int = 0
    unknown: int = 0
    settled_missing: int = 0
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def reconcile(
    manager: OrderManager,
    *,
    force: bool = True,
    deadline: float | None = None,
    unknown_only: bool = False,
    adopt: bool = True,
    record: bool = True,
) -> ReconcileResult:
    result = ReconcileResult(broker=manager.account)
    store = manager.store
    started = manager.clock()
    if unknown_only:
        orders = [o for o in store.open_orders(manager.account) if o.status == "pending" or o.outcome_unknown]
    else:
        orders = store.open_orders(manager.account)
    for order in orders:
        if _expired(deadline):
            result.complete = False
            break
        if not force and order.next_check_at is not None and order.next_check_at > manager.clock():
            result.unknown += 1
            continue
        _check_one(manager, order, result)
    if adopt and not manager.local and result.complete and not _expired(deadline):
        _adopt(manager, result, deadline, started)
    elif adopt and not manager.local:
        result.complete = False
    if record:
        store.record_events(
            [
                TradingEventRecord(
                    "orders_reconciled",
                    correlation_id=current_correlation_id(),
                    metadata={k: v for k, v in result.as_dict().items() if k != "errors"}
                    | {"errors": result.errors[:5]},
                    timestamp=started,
                )
            ]
        )
    return result


def _check_one(manager: OrderManager, order: Order, result: ReconcileResult) -> None:
    result.checked += 1
    before = (order.status, order.filled_quantity)
    try:
        report = manager.broker.lookup(order)
    except BrokerAuthError:
        raise
    except TradingError as exc:
        result.errors.append(f"{order.order_id}: {exc}")
        if order.status == "pending" or order.outcome_unknown:
            after = manager.mark_unknown(order.order_id, f"look-up failed: {exc}")
            if after is not None and after.outcome_unknown:
                result.unknown += 1
        return
    after = manager.apply_report(report) if report is not None else manager.settle_missing(order.order_id)
    if after is None:
        return
    if (after.status, after.filled_quantity) != before:
        result.changed += 1
    if after.filled_quantity > order.filled_quantity:
        result.fills_recovered += 1
    if report is None and after.is_final:
        result.settled_missing += 1
    if after.outcome_unknown:
        result.unknown += 1


def _adopt(manager: OrderManager, result: ReconcileResult, deadline: float | None, started: Any) -> None:
    store = manager.store
    last = getattr(store, "last_reconciled", None)
    previous = last(manager.account) if callable(last) else None
    since = previous - timedelta(seconds=manager.timings.listing_overlap) if previous is not None else None
    try:
        listed: list[BrokerOrder] = manager.broker.recent_orders(since)
    except BrokerAuthError:
        raise
    except TradingError as exc:
        result.errors.append(f"listing orders: {exc}")
        result.complete = False
        return
    prefix = f"{manager.id_prefix}-"
    for found in listed:
        if _expired(deadline):
            result.complete = False
            return
        client_id = found.report.order_id
        if not client_id.startswith(prefix):
            # Placed outside the workstation (its positions show in `positions --compare-broker`), unless
            # it replaces one of the book's orders (modified at the broker): then it is adopted in its place.
            _adopt_replacement(manager, found, result)
            continue
        existing = store.get_order(client_id)
        for leg in found.legs:
            _adopt_leg(manager, client_id, leg, result, parent_known=existing is not None)
        if existing is None:
            if manager.adopt(found) is not None:
                result.adopted += 1
            for leg in found.legs:
                _adopt_leg(manager, client_id, leg, result, parent_known=True)
            continue
        if not existing.is_final:
            after = manager.apply_report(found.report)
            if after is not None and (after.status, after.filled_quantity) != (
                existing.status,
                existing.filled_quantity,
            ):
                result.changed += 1
            continue
        if _disagrees(existing, found):
            result.conflicts += 1
            _record_conflict(manager, existing, found)


def _by_broker_id(manager: OrderManager, broker_order_id: str | None) -> Order | None:
    if broker_order_id is None:
        return None
    return manager._locked(lambda tx: tx.order_by_broker_id(broker_order_id))


def _adopt_leg(
    manager: OrderManager, parent_id: str, leg: BrokerOrder, result: ReconcileResult, *, parent_known: bool
) -> None:
    """A leg the broker lists inside one of our orders: brought up to date, or adopted under the parent."""
    if not parent_known:
        return  # adopted right after its parent
    known = _by_broker_id(manager, leg.report.broker_order_id)
    if known is not None:
        after = manager.apply_report(replace(leg.report, order_id=known.order_id))
        if after is not None and (after.status, after.filled_quantity) != (known.status, known.filled_quantity):
            result.changed += 1
        return
    suffix = LEG_SUFFIX[TAKE_PROFIT if leg.order_type == "limit" else STOP_LOSS]
    ours = replace(leg, report=replace(leg.report, order_id=f"{parent_id}-{suffix}"))
    if manager.adopt(ours, parent_order_id=parent_id) is not None:
        result.adopted += 1


def _adopt_replacement(manager: OrderManager, found: BrokerOrder, result: ReconcileResult) -> None:
    old = _by_broker_id(manager, found.replaces)
    new_id = found.report.order_id
    if old is None or manager.store.get_order(new_id) is not None:
        return
    adopted = manager.adopt(found, strategy=old.strategy or "adopted", parent_order_id=old.parent_order_id,
                            replaces=old.order_id)  # fmt: skip
    if adopted is None:
        return
    result.adopted += 1
    replaced = ExecutionReport(old.order_id, "replaced", reason=f"replaced by {new_id}", replaced_by=new_id)

    def settle(tx: Any) -> None:
        current = tx.order(old.order_id)
        if current is not None:
            manager._apply(tx, replaced, current)
            for leg in tx.legs(old.order_id):
                change = relink(leg, new_id, manager.clock())
                if change is not None:
                    tx.save(leg, change)

    manager._locked(settle)


def _disagrees(order: Order, found: BrokerOrder) -> bool:
    report = found.report
    if report.status not in ("filled", "cancelled", "rejected", "expired", "replaced"):
        # The broker still works an order the book has settled.
        return RANK.get(report.status, 0) >= 0
    cumulative = report.cumulative_quantity
    return report.status != order.status or (cumulative is not None and cumulative != order.filled_quantity)


def _record_conflict(manager: OrderManager, order: Order, found: BrokerOrder) -> None:
    events = getattr(manager.store, "events", None)
    if callable(events) and any(e.event_type == "order_conflict" for e in events(order_id=order.order_id)):
        return
    report = found.report
    message = (
        f"{manager.broker.name} holds {order.order_id} as {report.status} "
        f"(filled {report.cumulative_quantity}); the book has it {order.status} (filled {order.filled_quantity})"
    )
    log.error("reconciliation conflict: %s", message)
    manager.store.record_events(
        [
            TradingEventRecord(
                "order_conflict",
                symbol=order.symbol,
                side=order.side,
                quantity=order.quantity,
                order_id=order.order_id,
                correlation_id=current_correlation_id(),
                metadata={"reason": message, "broker_status": report.status},
                timestamp=manager.clock(),
            )
        ]
    )


def adopt_order(
    manager: OrderManager,
    found: BrokerOrder,
    *,
    strategy: str = "adopted",
    parent_order_id: str | None = None,
    replaces: str | None = None,
) -> Order | None:
    """An order the broker holds under our id prefix that the book lacks: added as the broker has it (an
    ``order_adopted`` event, then its report), in one locked transaction; a known one only takes the report."""
    report = found.report

    def decide(tx: AccountTx) -> Order | None:
        existing = tx.order(report.order_id)
        if existing is not None:
            return manager._apply(tx, report)
        now = manager.clock()
        order = Order(
            order_id=report.order_id,
            symbol=found.symbol,
            side=found.side,
            quantity=found.quantity,
            order_type=found.order_type,  # type: ignore[arg-type]
            limit_price=found.limit_price,
            time_in_force=found.time_in_force,
            broker=manager.broker.name,
            strategy=strategy,
            correlation_id=current_correlation_id(),
            created_at=found.created_at or now,
            stop_price=found.stop_price,
            trail_price=found.trail_price,
            trail_percent=found.trail_percent,
            extended_hours=found.extended_hours,
            order_class=found.order_class,
            parent_order_id=parent_order_id,
            replaces=replaces,
        )
        metadata: dict[str, object] = {"broker_order_id": report.broker_order_id, "broker_status": report.status}
        tx.insert_order(order, [transitions.event("order_adopted", order, now, metadata=metadata)])
        change = transitions.apply(order, report, now)
        if change is not None:
            tx.save(order, change)
        return order

    return manager._locked(decide)
