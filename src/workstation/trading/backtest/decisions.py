"""What a backtest keeps about each order so that a stored fill can be explained later.

The engine notes, for every order a strategy decision placed, the decision bar (the series and its
index: nothing is converted in the event loop) ; when the run is saved, each order becomes one
backtest_orders row: its final state, its trading events (state changes with their times), the risk
verdict carried by ``order_placed``, the decision bar's OHLCV and the strategy's account of its signal
there (``signal_detail`` when the strategy has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from workstation.trading.domain import Order, TradingEventRecord
from workstation.trading.strategies.base import BarSeries


@dataclass(frozen=True, slots=True)
class Decision:
    decided_at: datetime
    series: BarSeries
    index: int


def _json(value: Any) -> Any:
    """JSON-ready copy of the few shapes stored here (faster than the general json_safe on every order)."""
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is datetime:
        return value.isoformat()
    if kind is dict:
        return {str(k): _json(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_json(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


@dataclass
class BacktestLineage:
    """The run's orders, events and decisions, turned into rows only when the run is saved."""

    orders: list[Order]
    events: list[TradingEventRecord]
    decisions: dict[str, Decision]
    signal_detail: Callable[[BarSeries, int], dict[str, Any] | None] | None = None
    _rows: list[dict[str, Any]] | None = field(default=None, repr=False)

    def order_rows(self) -> list[dict[str, Any]]:
        """One backtest_orders row (without run_id) per order."""
        if self._rows is None:
            self._rows = self._build()
        return self._rows

    def _build(self) -> list[dict[str, Any]]:
        by_order: dict[str, list[TradingEventRecord]] = {}
        for event in self.events:
            if event.order_id is not None:
                by_order.setdefault(event.order_id, []).append(event)
        rows: list[dict[str, Any]] = []
        for order in self.orders:
            risk = None
            events: list[dict[str, Any]] = []
            for e in by_order.get(order.order_id, []):
                metadata = e.metadata or {}
                if e.event_type == "order_placed" and "risk" in metadata:
                    risk = _json(metadata["risk"])
                    metadata = {k: v for k, v in metadata.items() if k != "risk"}  # kept once, in "risk"
                events.append(
                    {
                        "event_type": e.event_type,
                        "timestamp": e.timestamp.isoformat(),
                        "quantity": None if e.quantity is None else str(e.quantity),
                        "price": None if e.price is None else str(e.price),
                        "metadata": _json(metadata) or None,
                    }
                )
            decision = self.decisions.get(order.order_id)
            bar = signal = None
            if decision is not None:
                s, i = decision.series, decision.index
                bar = {
                    "timestamp": decision.decided_at.isoformat(),
                    "open": round(float(s.open[i]), 6),
                    "high": round(float(s.high[i]), 6),
                    "low": round(float(s.low[i]), 6),
                    "close": round(float(s.close[i]), 6),
                    "volume": int(s.volume[i]),
                }
                if self.signal_detail is not None:
                    signal = _json(self.signal_detail(s, i))
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
                    "bar": bar,
                    "signal": signal,
                    "risk": risk,
                    "events": events,
                }
            )
        return rows
