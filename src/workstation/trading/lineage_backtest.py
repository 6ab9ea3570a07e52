"""Explaining a stored backtest fill or order: the run's backtest_orders row holds the order's state
changes, its risk verdict, the decision bar and the strategy's signal there; the run names the
command line that started it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, inspect, select

from workstation.trading.lineage import Explanation, UnknownTradeError, status_of
from workstation.trading.lineage_links import action_origin, parse_time, prediction_link, stored_bar
from workstation.trading.tables import backtest_fills, backtest_orders, backtest_runs


def explain_backtest(engine: Engine, trade_id: str) -> Explanation | None:
    if not inspect(engine).has_table("backtest_orders"):
        return None
    run_id, _, local_id = trade_id.rpartition(":")
    with engine.connect() as conn:
        key = _find(conn, local_id, run_id) if run_id else _find(conn, trade_id, None)
        if key is None:
            return None
        run_id, order_id = key
        order = conn.execute(
            select(backtest_orders).where(backtest_orders.c.run_id == run_id, backtest_orders.c.order_id == order_id)
        ).first()
        run = conn.execute(select(backtest_runs).where(backtest_runs.c.run_id == run_id)).first()
        fills = conn.execute(
            select(backtest_fills)
            .where(backtest_fills.c.run_id == run_id, backtest_fills.c.order_id == order_id)
            .order_by(backtest_fills.c.timestamp, backtest_fills.c.id)
        ).all()
    if order is None or run is None:
        return None
    o, r = order._mapping, run._mapping
    order_record = {
        "order_id": o["order_id"],
        "client_order_id": o["order_id"],
        "broker_order_id": o["broker_order_id"],
        "broker": "backtest",
        "run_id": run_id,
        "symbol": o["symbol"],
        "side": o["side"],
        "quantity": o["quantity"],
        "order_type": o["order_type"],
        "limit_price": o["limit_price"],
        "time_in_force": "gtc",
        "status": o["status"],
        "filled_quantity": o["filled_quantity"],
        "average_fill_price": o["average_fill_price"],
        "strategy": o["strategy"],
        "model_id": o["model_id"],
        "correlation_id": r["correlation_id"],
        "created_at": o["created_at"],
        "state_changes": [
            {**event, "status": status_of(str(event.get("event_type")))} for event in (o["events"] or [])
        ],
    }
    fill_rows = [
        {
            "fill_id": f.fill_id,
            "timestamp": f.timestamp,
            "quantity": f.quantity,
            "price": f.price,
            "commission": f.commission,
        }
        for f in fills
    ]
    signal: dict[str, Any] | None = None
    if o["signal"]:
        signal = dict(o["signal"]) | {
            "strategy": r["strategy"],
            "parameters": r["parameters"],
            "bar": o["decided_at"],
            "interval": r["interval"],
        }
    prediction = None
    if signal is not None and signal.get("kind") == "prediction":
        prediction = prediction_link(
            engine,
            prediction_id=signal.get("prediction_id"),
            model_id=signal.get("model_id"),
            symbol=o["symbol"],
            at=parse_time(signal.get("predicted_at")) or o["decided_at"],
        )
    bars = _bars(engine, o, r["interval"], prediction)
    origin: dict[str, Any] = {
        "kind": "bar",
        "symbol": o["symbol"],
        "interval": r["interval"],
        "timestamp": o["decided_at"],
        "strategy": r["strategy"],
        "model_id": o["model_id"],
        "run_id": run_id,
        "run_started_by": action_origin(engine, r["correlation_id"]),
    }
    return Explanation(order_record, fill_rows, o["risk"], signal, prediction, bars, origin)


def _find(conn: Any, local_id: str, run_id: str | None) -> tuple[str, str] | None:
    """(run_id, order_id) of a backtest order or fill id, within one run or across all runs."""
    orders = select(backtest_orders.c.run_id, backtest_orders.c.order_id).where(backtest_orders.c.order_id == local_id)
    fills = select(backtest_fills.c.run_id, backtest_fills.c.order_id).where(
        and_(backtest_fills.c.fill_id == local_id, backtest_fills.c.order_id.is_not(None))
    )
    if run_id is not None:
        orders = orders.where(backtest_orders.c.run_id == run_id)
        fills = fills.where(backtest_fills.c.run_id == run_id)
    found = {(str(a), str(b)) for a, b in conn.execute(orders.limit(2)).all()}
    found |= {(str(a), str(b)) for a, b in conn.execute(fills.limit(2)).all()}
    if len(found) > 1:
        raise UnknownTradeError(f"{local_id!r} is in more than one backtest run: give RUN_ID:{local_id}")
    return next(iter(found), None)


def _bars(
    engine: Engine, order: Any, interval: str | None, prediction: dict[str, Any] | None
) -> list[dict[str, Any]] | None:
    """The decision bar as the run saw it (stored with the order: a CSV run's bars are nowhere else)."""
    out: list[dict[str, Any]] = []
    if order["bar"]:
        out.append(
            {"role": "decision", "symbol": order["symbol"], "interval": interval, "stored": True, "source": "backtest"}
            | dict(order["bar"])
        )
    elif order["decided_at"] is not None:
        out.append(stored_bar(engine, order["symbol"], interval, order["decided_at"], "decision"))
    predicted_at = parse_time((prediction or {}).get("timestamp"))
    decided_at = order["decided_at"]
    if predicted_at is not None and decided_at is not None and predicted_at != decided_at:
        out.append(stored_bar(engine, order["symbol"], interval, predicted_at, "prediction"))
    return out or None
