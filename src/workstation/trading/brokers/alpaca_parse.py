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

from workstation.trading.domain import ExecutionReport, Fill, map_alpaca_status, to_price, to_quantity

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
    )


def report_from_trade_update(data: dict[str, Any]) -> ExecutionReport:
    """One trade_updates ``data`` object → a report; fill/partial_fill events carry their execution."""
    order = data["order"]
    event = str(data.get("event", ""))
    fills: tuple[Fill, ...] = ()
    if event in ("fill", "partial_fill") and data.get("qty") is not None and data.get("price") is not None:
        cumulative = to_quantity(Decimal(str(order["filled_qty"])))
        fills = (
            Fill(
                # Keyed by the broker's cumulative quantity, so the same execution seen again via
                # reconciliation (which only knows totals) maps to the same booking.
                fill_id=f"{order['id']}-F{cumulative}",
                order_id=str(order["client_order_id"]),
                symbol=str(order["symbol"]),
                side=str(order["side"]),  # type: ignore[arg-type]
                quantity=to_quantity(Decimal(str(data["qty"]))),
                price=to_price(Decimal(str(data["price"]))),
                commission=Decimal(0),
                timestamp=parse_time(data.get("timestamp")) or parse_time(order.get("updated_at")) or datetime.now(UTC),
            ),
        )
    report = report_from_order(order, fills=fills)
    if event == "rejected" and not report.reason:
        return replace(report, reason="rejected by Alpaca")
    return report


def error_message(body: str) -> str:
    """Alpaca error bodies are {"code": …, "message": …}; fall back to the raw text."""
    import json

    try:
        parsed = json.loads(body)
    except (ValueError, TypeError):
        return body.strip()[:200] or "no details"
    if isinstance(parsed, dict) and parsed.get("message"):
        return f"{parsed['message']} (code {parsed.get('code')})"
    return str(parsed)[:200]
