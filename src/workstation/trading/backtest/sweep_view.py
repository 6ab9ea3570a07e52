"""A sweep as the backtest panel shows it (heatmap, ranking, walk-forward), run from a request or loaded back."""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, inspect

from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.trading.backtest.grid import parse_grid
from workstation.trading.backtest.research import BacktestRequest, request_bars
from workstation.trading.backtest.sweep import RANKING, SweepSettings, run_sweep
from workstation.trading.backtest.sweep_store import SweepRecord, load_sweep, save_sweep
from workstation.trading.backtest.walkforward import WindowSpec, run_walk_forward


@dataclass
class SweepView:
    sweep_id: str | None
    axes: dict[str, list[int]]
    points: list[dict[str, Any]]  # {"params": {...}, "metrics": {...}}
    metric: str
    tried: int
    skipped: int
    best_params: dict[str, int] | None
    deflated_sharpe: float | None
    walk_forward: dict[str, Any] | None
    symbols: list[str]

    def matrix(self, metric: str) -> tuple[list[int], list[int], np.ndarray]:
        """(x values, y values, values[y, x]) of ``metric`` over the first two axes; NaN where skipped."""
        names = list(self.axes)
        xs = self.axes[names[0]]
        ys = self.axes[names[1]] if len(names) > 1 else [0]
        grid = np.full((len(ys), len(xs)), np.nan)
        for point in self.points:
            params = point["params"]
            value = point["metrics"].get(metric)
            if value is None or not math.isfinite(float(value)):
                continue
            y = ys.index(params[names[1]]) if len(names) > 1 else 0
            grid[y, xs.index(params[names[0]])] = float(value)
        return xs, ys, grid

    def ranked(self, metric: str) -> list[dict[str, Any]]:
        higher = RANKING.get(metric, True)
        known = [p for p in self.points if p["metrics"].get(metric) is not None]
        return sorted(known, key=lambda p: float(p["metrics"][metric]), reverse=higher)


def run_sweep_request(
    engine: Engine,
    request: BacktestRequest,
    grid_text: str,
    *,
    metric: str = "sharpe",
    walk_forward: str | None = None,
    executor: Executor | None = None,
    save: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SweepView:
    grid = parse_grid(grid_text, request.strategy, fixed={"fast": request.fast, "slow": request.slow})
    spec = WindowSpec.parse(walk_forward) if walk_forward else None
    bars = request_bars(engine, request)
    settings = SweepSettings(strategy=request.strategy, quantity=request.quantity, config=request.config)
    result = run_sweep(bars, grid.points, settings, metric=metric, executor=executor, progress=progress, cancel=cancel)
    result.skipped = grid.skipped
    walk = None
    if spec is not None:
        walk = run_walk_forward(
            bars, grid.points, settings, spec, metric=metric, executor=executor, progress=progress, cancel=cancel
        )
    progress(ProgressUpdate(1, 1, "storing"))
    if save and inspect(engine).has_table("backtest_sweeps"):
        config = request.config
        record = SweepRecord(
            strategy=request.strategy,
            axes=grid.axes,
            parameters={
                "qty": str(request.quantity),
                "fast": request.fast,
                "slow": request.slow,
                "cash": str(config.cash),
                "commission_rate": str(config.commission.rate),
                "commission_per_share": str(config.commission.per_share),
                "commission_min": str(config.commission.minimum),
                "slippage_bps": str(config.slippage_bps),
                "interval": request.interval,
                "source": "stored bars",
            },
            symbols=sorted(bars),
            start=min(f.index[0] for f in bars.values()).to_pydatetime(),
            end=max(f.index[-1] for f in bars.values()).to_pydatetime(),
        )
        save_sweep(engine, record, result, walk)
    best = result.best
    return SweepView(
        sweep_id=result.sweep_id,
        axes={k: list(v) for k, v in grid.axes.items()},
        points=[p.as_json() for p in result.results],
        metric=metric,
        tried=result.tried,
        skipped=result.skipped,
        best_params=None if best is None else dict(best.params),
        deflated_sharpe=result.deflated_sharpe(),
        walk_forward=None if walk is None else walk.as_json(),
        symbols=sorted(bars),
    )


def load_sweep_view(engine: Engine, sweep_id: str) -> SweepView:
    stored = load_sweep(engine, sweep_id)
    row = stored["sweep"]
    return SweepView(
        sweep_id=str(row["sweep_id"]),
        axes={str(k): [int(v) for v in values] for k, values in (row["grid"] or {}).items()},
        points=stored["points"],
        metric=str(row["metric"]),
        tried=int(row["points_tried"]),
        skipped=int(row["points_skipped"]),
        best_params=row.get("best_params"),
        deflated_sharpe=row.get("deflated_sharpe"),
        walk_forward=row.get("walk_forward"),
        symbols=[str(s) for s in row.get("symbols") or []],
    )
