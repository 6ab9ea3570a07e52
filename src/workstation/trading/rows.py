"""Rows of orders, fills and trading_events ↔ the domain types, both ways.

Reading is defensive: a row written by an older version (a quantity of 1e30 stored before the bounds
existed, a NaN) must not stop every command that lists orders — it is reported and skipped.
Writing redacts every free-text field (status_reason, event metadata) with the monitoring redactor,
so a broker error that echoes a credential never reaches a table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from workstation.db.types import json_safe
from workstation.monitoring.redaction import redactor
from workstation.trading.bounds import MAX_PRICE, MAX_QUANTITY
from workstation.trading.domain import Fill, Order, TradingEventRecord, plain, utcnow

log = logging.getLogger(__name__)


class BadRowError(ValueError):
    """A stored row that cannot be read as what it claims to be."""


def _number(value: Any, what: str, limit: Decimal) -> Decimal:
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
        if not number.is_finite() or abs(number) > limit:
            raise BadRowError(f"{what} {value!r} is out of range")
        return plain(number)
    except (InvalidOperation, ValueError, ArithmeticError) as exc:
        if isinstance(exc, BadRowError):
            raise
        raise BadRowError(f"{what} {value!r} is not a number") from None


def _optional(value: Any, what: str, limit: Decimal) -> Decimal | None:
    return None if value is None else _number(value, what, limit)


def order_from_row(row: Any) -> Order:
    """An Order from an orders row (ORM object or Core row); BadRowError when a value is unusable."""
    return Order(
        order_id=row.order_id,
        symbol=row.symbol,
        side=row.side,
        quantity=_number(row.quantity, "quantity", MAX_QUANTITY),
        order_type=row.order_type,
        limit_price=_optional(row.price, "price", MAX_PRICE),
        time_in_force=row.time_in_force,
        broker=row.broker,
        status=row.status,
        filled_quantity=_number(row.filled_quantity, "filled quantity", MAX_QUANTITY),
        average_fill_price=_optional(row.average_fill_price, "average fill price", MAX_PRICE),
        broker_order_id=row.broker_order_id,
        status_reason=row.status_reason,
        strategy=row.strategy,
        model_id=row.model_id,
        correlation_id=row.correlation_id,
        created_at=row.created_at,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
        version=int(getattr(row, "version", 0) or 0),
        unknown_since=getattr(row, "unknown_since", None),
        next_check_at=getattr(row, "next_check_at", None),
        check_attempts=int(getattr(row, "check_attempts", 0) or 0),
        stop_price=_optional(getattr(row, "stop_price", None), "stop price", MAX_PRICE),
        trail_price=_optional(getattr(row, "trail_price", None), "trail price", MAX_PRICE),
        trail_percent=_optional(getattr(row, "trail_percent", None), "trail percent", MAX_PRICE),
        hwm=_optional(getattr(row, "hwm", None), "high-water mark", MAX_PRICE),
        extended_hours=bool(getattr(row, "extended_hours", False) or False),
        order_class=getattr(row, "order_class", None) or "simple",
        parent_order_id=getattr(row, "parent_order_id", None),
        replaces=getattr(row, "replaces", None),
        replaced_by=getattr(row, "replaced_by", None),
        triggered_at=getattr(row, "triggered_at", None),
    )


def fill_from_row(row: Any, side: str) -> Fill | None:
    """A Fill from a fills row (the side comes from its order); None, logged, when unusable."""
    try:
        cumulative = getattr(row, "cumulative_quantity", None)
        return Fill(
            fill_id=row.fill_id,
            order_id=row.order_id,
            symbol=row.symbol,
            side=side,  # type: ignore[arg-type]  # the orders CHECK constraint guarantees buy|sell
            quantity=_number(row.quantity, "quantity", MAX_QUANTITY),
            price=_number(row.price, "price", MAX_PRICE),
            commission=_number(row.commission, "commission", MAX_PRICE * MAX_QUANTITY),
            timestamp=row.timestamp,
            cumulative_quantity=_optional(cumulative, "cumulative quantity", MAX_QUANTITY),
            execution_id=getattr(row, "execution_id", None),
        )
    except BadRowError as exc:
        log.warning("fill %s skipped: %s", getattr(row, "fill_id", "?"), exc)
        return None


def readable_orders(rows: Sequence[Any], skipped: list[str] | None = None) -> list[Order]:
    """The rows that read as orders; the others are reported (logged, and added to ``skipped``)."""
    orders = []
    for row in rows:
        try:
            orders.append(order_from_row(row))
        except BadRowError as exc:
            message = f"order {row.order_id} skipped: {exc}"
            log.warning("%s", message)
            if skipped is not None:
                skipped.append(message)
    return orders


_REFRESH_SECONDS = 5.0
_refreshed_at = [-_REFRESH_SECONDS]


def refresh_secrets() -> None:
    """Pick up secrets from the environment (a rescan costs ~60 µs: at most every few seconds)."""
    now = time.monotonic()
    if now - _refreshed_at[0] >= _REFRESH_SECONDS:
        _refreshed_at[0] = now
        redactor().refresh()


def clean_text(value: str | None) -> str | None:
    return redactor().text(value) if value else value


def clean_metadata(value: dict[str, Any] | None) -> Any:
    return json_safe(redactor().metadata(value)) if value else None


def order_values(order: Order) -> dict[str, Any]:
    """The columns an order's state change writes (free text redacted)."""
    return {
        "status": order.status,
        "filled_quantity": order.filled_quantity,
        "average_fill_price": order.average_fill_price,
        "broker_order_id": order.broker_order_id,
        "status_reason": clean_text(order.status_reason),
        "submitted_at": order.submitted_at,
        "unknown_since": order.unknown_since,
        "next_check_at": order.next_check_at,
        "check_attempts": order.check_attempts,
        # What a broker moves on a working order (a trailing stop, a triggered stop-limit, a replace).
        "stop_price": order.stop_price,
        "hwm": order.hwm,
        "triggered_at": order.triggered_at,
        "replaced_by": order.replaced_by,
        "parent_order_id": order.parent_order_id,
        "updated_at": utcnow(),
    }


def new_order_values(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "symbol": order.symbol,
        "side": order.side,
        "quantity": order.quantity,
        "order_type": order.order_type,
        "price": order.limit_price,
        "strategy": order.strategy,
        "model_id": order.model_id,
        "broker": order.broker,
        "time_in_force": order.time_in_force,
        "correlation_id": order.correlation_id,
        "created_at": order.created_at,
        "version": order.version,
        "trail_price": order.trail_price,
        "trail_percent": order.trail_percent,
        "extended_hours": order.extended_hours,
        "order_class": order.order_class,
        "replaces": order.replaces,
        **order_values(order),
    }


def fill_values(fill: Fill) -> dict[str, Any]:
    return {
        "fill_id": fill.fill_id,
        "order_id": fill.order_id,
        "symbol": fill.symbol,
        "quantity": fill.quantity,
        "price": fill.price,
        "commission": fill.commission,
        "timestamp": fill.timestamp,
        "cumulative_quantity": fill.cumulative_quantity,
        "execution_id": fill.execution_id,
        "created_at": utcnow(),
    }


def event_values(event: TradingEventRecord) -> dict[str, Any]:
    return {
        "timestamp": event.timestamp,
        "correlation_id": event.correlation_id,
        "metadata": clean_metadata(event.metadata),
        "event_type": event.event_type,
        "symbol": event.symbol,
        "side": event.side,
        "quantity": event.quantity,
        "price": event.price,
        "order_id": event.order_id,
        "strategy": event.strategy,
        "created_at": event.timestamp,
    }


def event_from_row(row: Any) -> TradingEventRecord:
    return TradingEventRecord(
        event_type=row.event_type,
        symbol=row.symbol,
        side=row.side,
        quantity=row.quantity,
        price=row.price,
        order_id=row.order_id,
        strategy=row.strategy,
        correlation_id=row.correlation_id,
        metadata=row.metadata_ if hasattr(row, "metadata_") else row.metadata,
        timestamp=row.timestamp,
    )
