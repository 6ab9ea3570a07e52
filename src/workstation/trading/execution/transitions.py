"""The order state machine's transitions, as pure functions over an ``Order`` read under its lock.

    pending ─► submitted ─► accepted ─► partially_filled ─► filled
       │  (outcome unknown: still pending, looked up again with backoff)
       │            │            │               └────────► cancelled | expired
       └────────────┴────────────┴─► rejected | cancelled | expired | replaced

* A final state (filled, cancelled, rejected, expired, replaced) is never left: a later report about a
  final order changes nothing (a disagreement is the reconciler's to report, not to apply).
* Statuses only move forward (a stale "accepted" after "partially_filled" is ignored); fills decide
  "filled" and "partially_filled" (see ``fills``).
* Any report from the broker settles an unknown outcome: the broker has the order.

``apply`` mutates the order it is given and returns what to write with it (fills and events), or
None when nothing changed. The caller writes the change conditionally on the version it read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from workstation.db.trading import FINAL_ORDER_STATUSES
from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.domain import ExecutionReport, Fill, Order, TradingEventRecord, to_price
from workstation.trading.execution.fills import new_fills

RANK = {"pending": 0, "submitted": 1, "accepted": 2, "pending_cancel": 3, "partially_filled": 4}
FINAL = frozenset(FINAL_ORDER_STATUSES)
UNKNOWN_REASON = "outcome unknown"


@dataclass(slots=True)
class Change:
    fills: list[Fill] = field(default_factory=list)
    events: list[TradingEventRecord] = field(default_factory=list)


def event(
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


def next_status(order: Order, reported: str) -> str:
    if order.status in FINAL:
        return order.status
    if order.filled_quantity >= order.quantity:
        return "filled"
    if reported in FINAL:
        return reported
    if order.filled_quantity > 0 and RANK.get(reported, 0) < RANK["partially_filled"]:
        return "pending_cancel" if reported == "pending_cancel" else "partially_filled"
    if RANK.get(reported, 0) < RANK.get(order.status, 0):
        return order.status
    return reported


def apply(order: Order, report: ExecutionReport, now: datetime) -> Change | None:
    """Apply one broker report to ``order`` (in place); None when it changes nothing."""
    if order.status in FINAL:
        if order.status == "replaced" and report.replaced_by and order.replaced_by is None:
            # Learning which order replaced it (reconciliation) links it; the state stays.
            order.replaced_by = report.replaced_by
            return Change(events=[event("order_replaced", order, now, metadata={"replaced_by": report.replaced_by})])
        return None
    change = Change()
    dirty = False
    fills = new_fills(order, report, now)
    for fill in fills:
        previous_value = (order.average_fill_price or 0) * order.filled_quantity
        order.filled_quantity = fill.cumulative_quantity or order.filled_quantity + fill.quantity
        order.average_fill_price = to_price((previous_value + fill.price * fill.quantity) / order.filled_quantity)
        kind = "order_filled" if order.filled_quantity >= order.quantity else "order_partially_filled"
        change.events.append(
            event(
                kind,
                order,
                fill.timestamp,
                quantity=fill.quantity,
                price=fill.price,
                metadata={"fill_id": fill.fill_id, "commission": fill.commission, "execution_id": fill.execution_id},
            )
        )
    change.fills = fills
    dirty = bool(fills)
    if report.broker_order_id and not order.broker_order_id:
        order.broker_order_id = report.broker_order_id
        dirty = True
    dirty = _working_changes(order, report) or dirty
    when = report.timestamp or now
    if order.unknown_since is not None:
        # The broker answered about this order: the outcome is known now.
        change.events.append(event("order_outcome_known", order, now, metadata={"status": report.status}))
        order.unknown_since = order.next_check_at = None
        order.check_attempts = 0
        if order.status_reason and order.status_reason.startswith(UNKNOWN_REASON):
            order.status_reason = None
        dirty = True
    status = next_status(order, report.status)
    if status != order.status:
        order.status = status
        if status in FINAL or report.reason:
            order.status_reason = report.reason
        if status not in ("filled", "partially_filled"):
            change.events.append(event(f"order_{status}", order, when, metadata={"reason": report.reason}))
        dirty = True
    if order.submitted_at is None and order.status != "pending":
        order.submitted_at = when
        dirty = True
    return change if dirty else None


def _working_changes(order: Order, report: ExecutionReport) -> bool:
    """What the broker moved on the working order: a trailing stop's stop and mark, a stop-limit's
    trigger, the order that replaced it."""
    changed = False
    if report.stop_price is not None and report.stop_price != order.stop_price:
        order.stop_price = report.stop_price
        changed = True
    if report.hwm is not None and report.hwm != order.hwm:
        order.hwm = report.hwm
        changed = True
    if report.triggered_at is not None and order.triggered_at is None:
        order.triggered_at = report.triggered_at
        changed = True
    if report.replaced_by is not None and order.replaced_by != report.replaced_by:
        order.replaced_by = report.replaced_by
        changed = True
    return changed


def relink(order: Order, parent_order_id: str, now: datetime) -> Change | None:
    """A leg follows its parent's replacement (a replace creates a new order; the legs stay attached)."""
    if order.status in FINAL or order.parent_order_id == parent_order_id:
        return None
    previous = order.parent_order_id
    order.parent_order_id = parent_order_id
    return Change(events=[event("order_leg_relinked", order, now, metadata={"from": previous, "to": parent_order_id})])


def mark_unknown(order: Order, reason: str, now: datetime, delay_seconds: float) -> Change | None:
    """The broker gave no clear answer about ``order``: keep it open and look it up again later."""
    if order.status in FINAL:
        return None
    from datetime import timedelta

    change = Change()
    if order.unknown_since is None:
        order.unknown_since = now
        change.events.append(event("order_send_unknown", order, now, metadata={"reason": reason}))
    order.check_attempts += 1
    order.next_check_at = now + timedelta(seconds=delay_seconds)
    order.status_reason = f"{UNKNOWN_REASON}: {reason}"
    return change


def settle_never_received(order: Order, broker: str, now: datetime, window_seconds: float) -> Change | None:
    """Declared after the unknown window: the broker never got it (final; placing it again is safe)."""
    if order.status in FINAL:
        return None
    order.status = "cancelled"
    order.status_reason = (
        f"never reached {broker}: still unknown there {window_seconds:g} s after it was sent; "
        "place it again if still wanted"
    )
    order.unknown_since = order.next_check_at = None
    return Change(events=[event("order_cancelled", order, now, metadata={"reason": order.status_reason})])


def cancel_unsent(order: Order, reason: str, now: datetime) -> Change | None:
    """An order that provably never reached the broker (a local broker that never saw it)."""
    if order.status in FINAL:
        return None
    order.status = "cancelled"
    order.status_reason = reason
    order.unknown_since = order.next_check_at = None
    return Change(events=[event("order_cancelled", order, now, metadata={"reason": reason})])
