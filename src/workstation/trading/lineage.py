"""Explain a trade: from a fill or an order back to what started it.

    fills → order (client and broker ids, every state change with its time) → risk verdict
          → strategy signal → prediction (model, version, confidence, input vector, inputs that stood out)
          → the bar(s) → origin (the click, the command line or the bar)

The chain is followed by ids and correlation ids, all from the database: the order's trading events
(``order_placed`` carries the risk verdict), the ``signal_generated`` event under the order's
correlation id (a strategy order's bar scope), the prediction it names, the bar it was made on, and
the user action recorded under the same correlation id. A backtest fill is explained from the run's
stored orders (see ``lineage_backtest``).

Accepted ids: an order's client order id or broker id, a fill id or execution id, and for backtests
``RUN_ID:ORDER_ID`` or ``RUN_ID:FILL_ID`` (a backtest fill id alone when only one run has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from workstation.db.logs import TradingEvent
from workstation.db.trading import ORDER_STATUSES, Fill, Order
from workstation.db.types import json_safe
from workstation.errors import InvalidInputError
from workstation.trading.lineage_links import action_origin, parse_time, prediction_link, stored_bar

KEYS = ("order", "fills", "risk", "signal", "prediction", "bars", "origin")


class UnknownTradeError(InvalidInputError):
    """No order or fill has that id (exit code 2)."""


@dataclass
class Explanation:
    """One trade's chain; a link that does not apply (a manual order has no signal) is None."""

    order: dict[str, Any]
    fills: list[dict[str, Any]]
    risk: dict[str, Any] | None
    signal: dict[str, Any] | None
    prediction: dict[str, Any] | None
    bars: list[dict[str, Any]] | None
    origin: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        """Exactly the keys of ``KEYS``; Decimals and times as text."""
        return {key: json_safe(getattr(self, key)) for key in KEYS}

    @property
    def symbol(self) -> str:
        return str(self.order["symbol"])

    @property
    def is_backtest(self) -> bool:
        return self.order.get("run_id") is not None


def explain(engine: Engine, trade_id: str) -> Explanation:
    """The chain behind an order or fill (see the module docstring); UnknownTradeError for an unknown id."""
    trade_id = trade_id.strip()
    if not trade_id:
        raise UnknownTradeError("give an order id, client or broker order id, or fill id")
    order_id = _live_order_id(engine, trade_id)
    if order_id is not None:
        return _explain_live(engine, order_id)
    from workstation.trading.lineage_backtest import explain_backtest

    found = explain_backtest(engine, trade_id)
    if found is not None:
        return found
    raise UnknownTradeError(f"no order or fill with id {trade_id!r}")


def _live_order_id(engine: Engine, trade_id: str) -> str | None:
    with engine.connect() as conn:
        order_id = conn.execute(
            select(Order.order_id).where(or_(Order.order_id == trade_id, Order.broker_order_id == trade_id)).limit(1)
        ).scalar()
        if order_id is None:
            order_id = conn.execute(
                select(Fill.order_id).where(or_(Fill.fill_id == trade_id, Fill.execution_id == trade_id)).limit(1)
            ).scalar()
    return None if order_id is None else str(order_id)


def _explain_live(engine: Engine, order_id: str) -> Explanation:
    with Session(engine) as session:
        order = session.execute(select(Order).where(Order.order_id == order_id)).scalar_one()
        fills = session.execute(
            select(Fill).where(Fill.order_id == order_id).order_by(Fill.timestamp, Fill.id)
        ).scalars()
        fill_rows = [
            {
                "fill_id": f.fill_id,
                "execution_id": f.execution_id,
                "timestamp": f.timestamp,
                "quantity": f.quantity,
                "price": f.price,
                "commission": f.commission,
                "cumulative_quantity": f.cumulative_quantity,
            }
            for f in fills
        ]
        events = session.execute(
            select(TradingEvent)
            .where(TradingEvent.order_id == order_id)
            .order_by(TradingEvent.timestamp, TradingEvent.id)
        ).scalars()
        changes = []
        risk_event: dict[str, Any] | None = None
        for event in events:
            changes.append(_change(event))
            if event.event_type == "order_placed" and risk_event is None:
                risk_event = dict(event.metadata_ or {})
        signal_event = None
        if order.correlation_id:
            signal_event = session.execute(
                select(TradingEvent)
                .where(
                    TradingEvent.correlation_id == order.correlation_id,
                    TradingEvent.event_type == "signal_generated",
                    TradingEvent.symbol == order.symbol,
                )
                .order_by(TradingEvent.timestamp.desc())
                .limit(1)
            ).scalar()
    order_record = {
        "order_id": order.order_id,
        "client_order_id": order.order_id,
        "broker_order_id": order.broker_order_id,
        "broker": order.broker,
        "run_id": None,
        "symbol": order.symbol,
        "side": order.side,
        "quantity": order.quantity,
        "order_type": order.order_type,
        "limit_price": order.price,
        "stop_price": order.stop_price,
        "time_in_force": order.time_in_force,
        "status": order.status,
        "status_reason": order.status_reason,
        "filled_quantity": order.filled_quantity,
        "average_fill_price": order.average_fill_price,
        "strategy": order.strategy,
        "model_id": order.model_id,
        "correlation_id": order.correlation_id,
        "created_at": order.created_at,
        "submitted_at": order.submitted_at,
        "updated_at": order.updated_at,
        "state_changes": changes,
    }
    risk = risk_event.get("risk") if risk_event else None
    signal = _signal(signal_event) if signal_event is not None else None
    prediction = None
    bars: list[dict[str, Any]] | None = None
    if signal is not None:
        bar_time = parse_time(signal.get("bar"))
        prediction = prediction_link(
            engine,
            prediction_id=signal.get("prediction_id"),
            model_id=signal.get("model_id") or order.model_id,
            symbol=order.symbol,
            at=bar_time,
        )
        bars = _bars(engine, order.symbol, signal.get("interval"), bar_time, prediction)
    origin = action_origin(engine, order.correlation_id)
    if origin is None and signal is not None:
        origin = {
            "kind": "bar",
            "correlation_id": order.correlation_id,
            "symbol": order.symbol,
            "interval": signal.get("interval"),
            "timestamp": signal.get("bar"),
            "strategy": signal.get("strategy"),
            "model_id": signal.get("model_id"),
        }
    return Explanation(order_record, fill_rows, risk, signal, prediction, bars, origin)


def _change(event: TradingEvent) -> dict[str, Any]:
    metadata = {k: v for k, v in (event.metadata_ or {}).items() if k != "risk"}
    return {
        "event_type": event.event_type,
        "status": status_of(event.event_type),
        "timestamp": event.timestamp,
        "quantity": event.quantity,
        "price": event.price,
        "metadata": metadata,  # the risk verdict it carried is the explanation's own "risk"
    }


def status_of(event_type: str) -> str | None:
    """The order status an event moved the order to (None for events that are not state changes)."""
    statuses = {
        "order_placed": "pending",
        "order_adopted": "accepted",
        "order_filled": "filled",
        "order_partially_filled": "partially_filled",
    }
    if event_type in statuses:
        return statuses[event_type]
    if event_type.startswith("order_") and event_type[6:] in ORDER_STATUSES:
        return event_type[6:]
    return None


def _signal(event: TradingEvent) -> dict[str, Any]:
    metadata = dict(event.metadata_ or {})
    return {
        "event": "signal_generated",
        "kind": "prediction",
        "timestamp": event.timestamp,
        "strategy": event.strategy,
        "symbol": event.symbol,
        "bar_close": event.price,
        "correlation_id": event.correlation_id,
        **metadata,
    }


def _bars(
    engine: Engine,
    symbol: str,
    interval: str | None,
    decided_at: Any,
    prediction: dict[str, Any] | None,
) -> list[dict[str, Any]] | None:
    """The decision bar, and the prediction's bar when it is an earlier one."""
    out: list[dict[str, Any]] = []
    if decided_at is not None:
        out.append(stored_bar(engine, symbol, interval, decided_at, "decision"))
    predicted_at = parse_time((prediction or {}).get("timestamp"))
    if predicted_at is not None and predicted_at != decided_at:
        out.append(stored_bar(engine, symbol, interval, predicted_at, "prediction"))
    return out or None
