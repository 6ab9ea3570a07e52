"""Stored sweeps: save one with its points, list them, load one (the panel's heatmap, the sweep report)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from workstation.db.types import json_safe
from workstation.errors import WorkstationError
from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.backtest.sweep import SweepResult
from workstation.trading.backtest.sweep_tables import backtest_sweep_points, backtest_sweeps
from workstation.trading.backtest.walkforward import WalkForwardResult


@dataclass(frozen=True, slots=True)
class SweepRecord:
    """What a sweep was run on and with, beside its results."""

    strategy: str
    axes: Mapping[str, Sequence[int]]
    parameters: Mapping[str, Any]
    symbols: Sequence[str]
    start: datetime | None
    end: datetime | None


def save_sweep(
    engine: Engine, record: SweepRecord, result: SweepResult, walk_forward: WalkForwardResult | None = None
) -> str:
    sweep_id = result.sweep_id or f"sw-{uuid.uuid4().hex[:16]}"
    result.sweep_id = sweep_id
    best = result.best
    with engine.begin() as conn:
        conn.execute(
            insert(backtest_sweeps).values(
                sweep_id=sweep_id,
                strategy=record.strategy,
                grid=json_safe({k: list(v) for k, v in record.axes.items()}),
                parameters=json_safe(dict(record.parameters)),
                symbols=list(record.symbols),
                start=record.start,
                end=record.end,
                metric=result.metric,
                points_tried=result.tried,
                points_skipped=result.skipped,
                best_params=json_safe(best.params) if best else None,
                best_metrics=json_safe(best.metrics) if best else None,
                deflated_sharpe=result.deflated_sharpe(),
                walk_forward=json_safe(walk_forward.as_json()) if walk_forward else None,
                correlation_id=current_correlation_id(),
            )
        )
        conn.execute(
            insert(backtest_sweep_points),
            [
                {"sweep_id": sweep_id, "params": json_safe(p.params), "metrics": json_safe(p.metrics)}
                for p in result.results
            ],
        )
    return sweep_id


def list_sweeps(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    query = select(backtest_sweeps).order_by(backtest_sweeps.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def load_sweep(engine: Engine, sweep_id: str) -> dict[str, Any]:
    """The sweep row plus its points (params, metrics) in the order they were stored."""
    with engine.connect() as conn:
        row = conn.execute(select(backtest_sweeps).where(backtest_sweeps.c.sweep_id == sweep_id)).one_or_none()
        if row is None:
            raise WorkstationError(f"no stored sweep {sweep_id}")
        points = conn.execute(
            select(backtest_sweep_points.c.params, backtest_sweep_points.c.metrics)
            .where(backtest_sweep_points.c.sweep_id == sweep_id)
            .order_by(backtest_sweep_points.c.id)
        ).all()
    return {"sweep": dict(row._mapping), "points": [{"params": p, "metrics": m} for p, m in points]}


def delete_sweep(engine: Engine, sweep_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(backtest_sweep_points).where(backtest_sweep_points.c.sweep_id == sweep_id))
        conn.execute(delete(backtest_sweeps).where(backtest_sweeps.c.sweep_id == sweep_id))
