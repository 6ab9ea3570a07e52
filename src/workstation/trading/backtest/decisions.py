"""What a backtest keeps about each order so that a stored fill can be explained later.

The engine notes, for every order a strategy decision placed, the decision bar (its OHLCV) and the
strategy's own account of its signal there (``signal_detail`` when the strategy has one); at the end
the order's final state and its trading events (state changes with their times, the risk verdict
carried by ``order_placed``) are taken from the run's in-memory store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workstation.db.types import json_safe
from workstation.trading.brokers.paper import Bar
from workstation.trading.domain import Order, TradingEventRecord


@dataclass(frozen=True, slots=True)
class Decision:
    decided_at: datetime
    bar: Bar
    signal: dict[str, Any] | None


def bar_record(bar: Bar) -> dict[str, Any]:
    return {
        "timestamp": bar.timestamp,
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
    }


def event_record(event: TradingEventRecord) -> dict[str, Any]:
    return {
        "event_type": event.event_type,
        "timestamp": event.timestamp,
        "quantity": event.quantity,
        "price": event.price,
        "metadata": event.metadata,
    }


def order_rows(
    orders: list[Order], events: list[TradingEventRecord], decisions: dict[str, Decision]
) -> list[dict[str, Any]]:
    """One backtest_orders row (without run_id) per order, JSON-safe."""
    by_order: dict[str, list[TradingEventRecord]] = {}
    for event in events:
        if event.order_id is not None:
            by_order.setdefault(event.order_id, []).append(event)
    rows: list[dict[str, Any]] = []
    for order in orders:
        mine = by_order.get(order.order_id, [])
        placed = next((e for e in mine if e.event_type == "order_placed"), None)
        decision = decisions.get(order.order_id)
        rows.append(
            {
                "order_id": order.order_id,
                "broker_order_id": order.broker_order_id,
                "symbol": order.symbol,
                "side": order.side,
                "quantity": order.quantity,
                "order_type": order.order_type,
                "limit_price": order.limit_price,
                "status": order.status,
                "filled_quantity": order.filled_quantity,
                "average_fill_price": order.average_fill_price,
                "strategy": order.strategy,
                "model_id": order.model_id,
                "created_at": order.created_at,
                "decided_at": decision.decided_at if decision else None,
                "bar": json_safe(bar_record(decision.bar)) if decision else None,
                "signal": json_safe(decision.signal) if decision and decision.signal else None,
                "risk": json_safe((placed.metadata or {}).get("risk")) if placed else None,
                "events": json_safe([event_record(e) for e in mine]),
            }
        )
    return rows
