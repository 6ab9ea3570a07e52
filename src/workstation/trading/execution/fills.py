"""One fill identity, whichever path reports the fill.

A fill is identified by its order and the order's cumulative filled quantity once it is booked —
the one thing the stream (each execution carries the order's ``filled_qty``), a REST look-up (only
totals) and the paper broker all know. The key is unique in the database; the broker's execution id,
where the path carries one, is stored (and unique) as well. ``fill_id`` is derived from the key, so
the same execution gets the same id on every path.

Booking is contiguous: a fill is booked only on top of what is already booked. When a report's
totals run ahead (a missed or late stream message, a restart), the gap is booked as one fill at the
price that makes the order's average equal the broker's. A report at or below what is booked adds
nothing. The cumulative quantity never exceeds the order's quantity.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from workstation.trading.domain import ZERO, ExecutionReport, Fill, Order, plain, to_price

log = logging.getLogger(__name__)


def fill_id_for(order: Order, broker_order_id: str | None, cumulative: Decimal) -> str:
    return f"{broker_order_id or order.broker_order_id or order.order_id}-{plain(cumulative)}"


def _gap_price(total_value: Decimal | None, booked_value: Decimal, gap: Decimal, fallback: Decimal | None) -> Decimal:
    """The price of a catch-up fill: what the broker's average says the missed quantity cost."""
    if total_value is not None and gap > 0:
        price = to_price((total_value - booked_value) / gap)
        # A stale average (an out-of-order message) can make the arithmetic absurd: fall back.
        if price > 0 and (fallback is None or price <= fallback * 100):
            return price
    return to_price(fallback) if fallback is not None and fallback > 0 else ZERO


def new_fills(order: Order, report: ExecutionReport, now: datetime) -> list[Fill]:
    """The fills ``report`` adds on top of what ``order`` has booked (possibly none)."""
    booked = order.filled_quantity
    cumulative = report.cumulative_quantity
    if cumulative is None:
        # A report of executions without the broker's totals (a plain simulator): book them in turn.
        booked_in_turn: list[Fill] = []
        for fill in report.fills:
            total = booked + fill.quantity
            if total > order.quantity:
                break
            booked_in_turn.append(_with_identity(order, report, fill, total))
            booked = total
        return booked_in_turn
    if cumulative > order.quantity:
        log.warning("broker reports %s filled on %s of %s: capped", cumulative, order.order_id, order.quantity)
        cumulative = order.quantity
    if cumulative <= booked:
        return []
    booked_value = (order.average_fill_price or ZERO) * booked
    total_value = report.average_price * cumulative if report.average_price is not None else None
    fills: list[Fill] = []
    execution = report.fills[-1] if report.fills else None
    commission = sum((f.commission for f in report.fills), ZERO)
    when = (execution.timestamp if execution is not None else None) or report.timestamp or now
    if execution is not None and cumulative - execution.quantity >= booked:
        exact = execution.cumulative_quantity == cumulative and cumulative - execution.quantity == booked
        if exact and execution.fill_id == fill_id_for(order, report.broker_order_id, cumulative):
            return [execution]  # reported with its identity already (the paper broker)
        gap = cumulative - execution.quantity - booked
        if gap > 0:
            gap_value = total_value - execution.price * execution.quantity if total_value is not None else None
            price = _gap_price(gap_value, booked_value, gap, report.average_price or execution.price)
            fills.append(_catch_up(order, report, booked + gap, gap, price, ZERO, when))
        fills.append(_with_identity(order, report, execution, cumulative, commission=commission))
        return [f for f in fills if f.price > 0]
    # Totals only, or an execution that overlaps what is booked: book the difference as one fill.
    gap = cumulative - booked
    fallback = report.average_price or (execution.price if execution is not None else None)
    price = _gap_price(total_value, booked_value, gap, fallback)
    if price <= 0:
        return []
    execution_id = execution.execution_id if execution is not None else None
    return [_catch_up(order, report, cumulative, gap, price, commission, when, execution_id)]


def _catch_up(
    order: Order,
    report: ExecutionReport,
    cumulative: Decimal,
    quantity: Decimal,
    price: Decimal,
    commission: Decimal,
    when: datetime,
    execution_id: str | None = None,
) -> Fill:
    return Fill(
        fill_id=fill_id_for(order, report.broker_order_id, cumulative),
        order_id=order.order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=plain(quantity),
        price=price,
        commission=commission,
        timestamp=when,
        cumulative_quantity=plain(cumulative),
        execution_id=execution_id,
    )


def _with_identity(
    order: Order, report: ExecutionReport, fill: Fill, cumulative: Decimal, *, commission: Decimal | None = None
) -> Fill:
    return Fill(
        fill_id=fill_id_for(order, report.broker_order_id, cumulative),
        order_id=order.order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=fill.quantity,
        price=fill.price,
        commission=fill.commission if commission is None else commission,
        timestamp=fill.timestamp,
        cumulative_quantity=plain(cumulative),
        execution_id=fill.execution_id,
    )
