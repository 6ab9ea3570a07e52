"""Stored backtest results: one run row plus its fills, trades and equity curve, for reports and the GUI."""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, insert, select

from workstation.db.types import json_safe
from workstation.errors import WorkstationError
from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.backtest.engine import BacktestResult
from workstation.trading.tables import (
    backtest_equity,
    backtest_fills,
    backtest_orders,
    backtest_runs,
    backtest_trades,
)


def save_backtest(
    engine: Engine, result: BacktestResult, *, model_id: str | None = None, interval: str | None = None
) -> str:
    run_id = result.run_id or f"bt-{uuid.uuid4().hex[:16]}"
    result.run_id = run_id
    with engine.begin() as conn:
        conn.execute(
            insert(backtest_runs).values(
                run_id=run_id,
                strategy=result.strategy,
                parameters=json_safe(result.parameters),
                symbols=result.symbols,
                start=result.start,
                end=result.end,
                initial_cash=result.initial_cash,
                final_cash=result.final_cash,
                final_value=result.final_value,
                total_return=result.total_return,
                metrics=json_safe(result.metrics),
                model_id=model_id,
                correlation_id=current_correlation_id(),
                interval=interval,
            )
        )
        rows = result.lineage.order_rows() if result.lineage is not None else []
        if rows:
            conn.execute(insert(backtest_orders), [row | {"run_id": run_id} for row in rows])
        if result.fills:
            conn.execute(
                insert(backtest_fills),
                [
                    {
                        "run_id": run_id,
                        "timestamp": f.timestamp,
                        "symbol": f.symbol,
                        "side": f.side,
                        "quantity": f.quantity,
                        "price": f.price,
                        "commission": f.commission,
                        "order_id": f.order_id,
                        "fill_id": f.fill_id,
                    }
                    for f in result.fills
                ],
            )
        if result.trades:
            conn.execute(
                insert(backtest_trades),
                [
                    {
                        "run_id": run_id,
                        "symbol": t.symbol,
                        "direction": t.direction,
                        "quantity": t.quantity,
                        "entry_time": t.entry_time,
                        "entry_price": t.entry_price,
                        "exit_time": t.exit_time,
                        "exit_price": t.exit_price,
                        "pnl": t.pnl,
                        "commission": t.commission,
                        "is_open": int(t.is_open),
                    }
                    for t in result.trades
                ],
            )
        if len(result.equity):
            conn.execute(
                insert(backtest_equity),
                [
                    {"run_id": run_id, "timestamp": ts.to_pydatetime(), "equity": round(float(v), 6)}
                    for ts, v in zip(pd.DatetimeIndex(result.equity.index), result.equity.to_numpy(), strict=True)
                ],
            )
    return run_id


def list_backtests(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    query = select(backtest_runs).order_by(backtest_runs.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def load_backtest(engine: Engine, run_id: str) -> dict[str, Any]:
    """The run row plus fills, trades and the equity curve (a UTC-indexed Series)."""
    with engine.connect() as conn:
        run = conn.execute(select(backtest_runs).where(backtest_runs.c.run_id == run_id)).one_or_none()
        if run is None:
            raise WorkstationError(f"no backtest run {run_id}")
        fills = [
            dict(r._mapping) for r in conn.execute(select(backtest_fills).where(backtest_fills.c.run_id == run_id))
        ]
        trades = [
            dict(r._mapping) for r in conn.execute(select(backtest_trades).where(backtest_trades.c.run_id == run_id))
        ]
        points = conn.execute(
            select(backtest_equity.c.timestamp, backtest_equity.c.equity)
            .where(backtest_equity.c.run_id == run_id)
            .order_by(backtest_equity.c.timestamp)
        ).all()
    equity = pd.Series(
        [float(v) for _, v in points], index=pd.DatetimeIndex([t for t, _ in points], name="timestamp"), name="equity"
    )
    return {"run": dict(run._mapping), "fills": fills, "trades": trades, "equity": equity}


def delete_backtest(engine: Engine, run_id: str) -> None:
    with engine.begin() as conn:
        for table in (backtest_equity, backtest_trades, backtest_fills, backtest_orders, backtest_runs):
            conn.execute(delete(table).where(table.c.run_id == run_id))
