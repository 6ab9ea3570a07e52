"""Turning Alpaca's JSON (REST bodies and trade_updates) into our reports.

Alpaca sends money as strings but quantities sometimes as numbers, and timestamps with nanoseconds
and offsets; parse all of them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from workstation.monitoring.redaction import redact_text
from workstation.trading.domain import (
    ORDER_CLASSES,
    BrokerOrder,
    ExecutionReport,
    Fill,
    map_alpaca_status,
    to_price,
    to_quantity,
)

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).replace("Z", "+00:00")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def parse_decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value))


def report_from_order(body: dict[str, Any], *, fills: tuple[Fill, ...] = ()) -> ExecutionReport:
    cumulative = parse_decimal(body.get("filled_qty"))
    average = parse_decimal(body.get("filled_avg_price"))
    return ExecutionReport(
        order_id=str(body["client_order_id"]),
        status=map_alpaca_status(str(body["status"])),
        broker_order_id=str(body["id"]),
        cumulative_quantity=to_quantity(cumulative) if cumulative is not None else None,
        average_price=to_price(average) if average is not None else None,
        fills=fills,
        reason=body.get("reject_reason") or None,
        timestamp=parse_time(body.get("updated_at")),
        # A trailing stop's stop price and mark move at the broker.
        stop_price=_price(body.get("stop_price"))
        if str(body.get("order_type") or body.get("type")) == "trailing_stop"
        else None,
        hwm=_price(body.get("hwm")),
    )


def _price(value: Any) -> Decimal | None:
    parsed = parse_decimal(value)
    return to_price(parsed) if parsed is not None else None


def report_from_trade_update(data: dict[str, Any]) -> ExecutionReport:
    """One trade_updates ``data`` object → a report; fill/partial_fill events carry their execution."""
    order = data["order"]
    event = str(data.get("event", ""))
    fills: tuple[Fill, ...] = ()
    if event in ("fill", "partial_fill") and data.get("qty") is not None and data.get("price") is not None:
        cumulative = to_quantity(Decimal(str(order["filled_qty"])))
        fills = (
            Fill(
                # The order manager derives the fill's identity (order, cumulative quantity) from the
                # report; the execution id travels along.
                fill_id=str(data.get("execution_id") or f"{order['id']}-{cumulative}"),
                order_id=str(order["client_order_id"]),
                symbol=str(order["symbol"]),
                side=str(order["side"]),  # type: ignore[arg-type]
                quantity=to_quantity(Decimal(str(data["qty"]))),
                price=to_price(Decimal(str(data["price"]))),
                commission=Decimal(0),
                timestamp=parse_time(data.get("timestamp")) or parse_time(order.get("updated_at")) or datetime.now(UTC),
                cumulative_quantity=cumulative,
                execution_id=str(data["execution_id"]) if data.get("execution_id") else None,
            ),
        )
    report = report_from_order(order, fills=fills)
    if event == "rejected" and not report.reason:
        return replace(report, reason="rejected by Alpaca")
    return report


def order_from_body(body: dict[str, Any]) -> BrokerOrder | None:
    """A listed order (GET /v2/orders) with what adopting it needs; None when it cannot be represented."""
    quantity = parse_decimal(body.get("qty"))
    if quantity is None or quantity <= 0 or str(body.get("side")) not in ("buy", "sell"):
        return None  # notional (dollar-amount) orders have no quantity to book
    limit = parse_decimal(body.get("limit_price"))
    legs = tuple(
        replace(leg, parent_broker_id=str(body["id"]))
        for leg in (order_from_body(b) for b in body.get("legs") or [])
        if leg is not None
    )
    return BrokerOrder(
        report=report_from_order(body),
        symbol=str(body.get("symbol", "")),
        side=str(body["side"]),  # type: ignore[arg-type]
        quantity=to_quantity(quantity),
        order_type=str(body.get("order_type") or body.get("type") or "market"),
        limit_price=to_price(limit) if limit is not None else None,
        time_in_force=str(body.get("time_in_force") or "day"),
        created_at=parse_time(body.get("submitted_at")) or parse_time(body.get("created_at")),
        stop_price=_price(body.get("stop_price")),
        trail_price=_price(body.get("trail_price")),
        trail_percent=_price(body.get("trail_percent")),
        extended_hours=bool(body.get("extended_hours") or False),
        # "" (a close-position order) and classes the book does not model (mleg) are held as simple.
        order_class=str(body.get("order_class")) if body.get("order_class") in ORDER_CLASSES else "simple",
        replaces=str(body["replaces"]) if body.get("replaces") else None,
        legs=legs,
    )


def error_message(body: str) -> str:
    """Alpaca error bodies are {"code": …, "message": …}; fall back to the raw text. Secrets redacted:
    an error body may echo what it was sent."""
    import json

    try:
        parsed = json.loads(body)
    except (ValueError, TypeError):
        return redact_text(body.strip()[:200]) or "no details"
    if isinstance(parsed, dict) and parsed.get("message"):
        return redact_text(f"{parsed['message']} (code {parsed.get('code')})")
    return redact_text(str(parsed)[:200])
