"""Parameter sweeps: one backtest per grid point, run side by side on any ``concurrent.futures.Executor``.

A point is exactly the single ``backtest`` with those parameters: the task builds the same strategy
and the same BacktestConfig and calls the same ``run_backtest`` on the same bars, so its metrics (and
final value) are the ones ``workstation backtest --fast F --slow S`` prints.

Tasks are plain data: :func:`evaluate_points` is a top-level function taking the bars (a mapping of
symbol → DataFrame), a list of parameter dicts and the frozen :class:`SweepSettings`; it captures no
engine, URL, lock or callback. That is what lets ``run_sweep`` hand them to the local process pool
(default), a thread pool, :class:`~workstation.ml.executors.SerialExecutor`, or a cluster's executor
(``distributed.Client.get_executor()``). Points are sent in small chunks: few enough to keep the pickled
bars' cost down, many enough that progress moves and a cancel waits for at most one chunk per worker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from workstation.errors import InvalidInputError, JobCancelledError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.trading.backtest.deflated import ReturnMoments, deflated_sharpe
from workstation.trading.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from workstation.trading.strategies.sma_cross import SmaCross
from workstation.warm_pool import WarmPool, local_workers

Bars = Mapping[str, pd.DataFrame]
POLL_SECONDS = 0.2
# Metrics a sweep can rank by, and whether more is better.
RANKING: dict[str, bool] = {
    "sharpe": True,
    "sortino": True,
    "total_return": True,
    "cagr": True,
    "final_value": True,
    "profit_factor": True,
    "win_rate": True,
    "max_drawdown": False,
}


@dataclass(frozen=True, slots=True)
class SweepSettings:
    """Everything of a backtest but the swept parameters (picklable: Decimals and frozen dataclasses)."""

    strategy: str = "sma_cross"
    quantity: Decimal = Decimal(1000)
    config: BacktestConfig = field(default_factory=BacktestConfig)
    defaults: tuple[tuple[str, int], ...] = (("fast", 15), ("slow", 30))


@dataclass(frozen=True, slots=True)
class PointResult:
    """One grid point: its parameters, the backtest's metrics plus ``final_value``, and its return moments."""

    params: dict[str, int]
    metrics: dict[str, float | None]
    moments: ReturnMoments

    def as_json(self) -> dict[str, Any]:
        return {"params": dict(self.params), "metrics": dict(self.metrics)}


@dataclass
class SweepResult:
    results: list[PointResult]
    metric: str
    skipped: int = 0
    sweep_id: str | None = None

    @property
    def tried(self) -> int:
        return len(self.results)

    def best_index(self) -> int | None:
        return best_index(self.results, self.metric)

    @property
    def best(self) -> PointResult | None:
        index = self.best_index()
        return None if index is None else self.results[index]

    def deflated_sharpe(self) -> float | None:
        """The DSR of the best point by Sharpe ratio, deflated for every point tried."""
        index = best_index(self.results, "sharpe")
        if index is None:
            return None
        return deflated_sharpe(self.results[index].moments, [r.moments.sharpe for r in self.results], self.tried)


def metric_value(point: PointResult, metric: str) -> float | None:
    value = point.metrics.get(metric)
    return None if value is None or not math.isfinite(value) else float(value)


def best_index(results: Sequence[PointResult], metric: str) -> int | None:
    """The point ranking first by ``metric`` (ties: the earlier point); None when no point has it."""
    higher = RANKING.get(metric, True)
    best: tuple[float, int] | None = None
    for i, point in enumerate(results):
        value = metric_value(point, metric)
        if value is None:
            continue
        key = value if higher else -value
        if best is None or key > best[0]:
            best = (key, i)
    return None if best is None else best[1]


def strategy_for(settings: SweepSettings, params: Mapping[str, int]) -> SmaCross:
    if settings.strategy != "sma_cross":
        raise InvalidInputError(f"sweeps support sma_cross, not {settings.strategy}")
    values = dict(settings.defaults) | dict(params)
    return SmaCross(int(values["fast"]), int(values["slow"]), settings.quantity)


def point_result(params: Mapping[str, int], result: BacktestResult) -> PointResult:
    values = result.equity.to_numpy(dtype=np.float64)
    returns = np.diff(values) / values[:-1] if len(values) > 1 else np.array([])
    metrics = dict(result.metrics) | {"final_value": float(result.final_value)}
    return PointResult(dict(params), metrics, ReturnMoments.of(returns))


def evaluate_point(bars: Bars, params: Mapping[str, int], settings: SweepSettings) -> PointResult:
    """One grid point: the single backtest with these parameters on these bars."""
    return point_result(params, run_backtest(bars, strategy_for(settings, params), settings.config))


def evaluate_points(bars: Bars, points: Sequence[Mapping[str, int]], settings: SweepSettings) -> list[PointResult]:
    """The task an executor runs: a chunk of points over the same bars (one pickled copy per chunk)."""
    return [evaluate_point(bars, params, settings) for params in points]


# -- the local pool ------------------------------------------------------------------------------------
_sweeps = WarmPool(local_workers(), "workstation.trading.backtest.sweep")


def sweep_pool() -> ProcessPoolExecutor:
    """The local pool, started on first use and kept for the process (warm_pool: forkserver, so workers
    never inherit the caller's threads, e.g. the GUI's; the backtester is imported once per worker)."""
    return _sweeps.get()


def shutdown_sweep_pool() -> None:
    _sweeps.shutdown()


def _workers_of(executor: Executor) -> int:
    count = getattr(executor, "_max_workers", None)
    return int(count) if isinstance(count, int) and count > 0 else local_workers()


def chunked(points: Sequence[Mapping[str, int]], workers: int) -> list[list[dict[str, int]]]:
    """About four chunks per worker, at most 8 points each (a cancel waits for one chunk per worker)."""
    size = max(1, min(8, math.ceil(len(points) / max(1, workers * 4))))
    return [[dict(p) for p in points[i : i + size]] for i in range(0, len(points), size)]


def run_sweep(
    bars: Bars,
    points: Sequence[Mapping[str, int]],
    settings: SweepSettings,
    *,
    metric: str = "sharpe",
    executor: Executor | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SweepResult:
    """Backtest every point on ``executor`` (None: the local process pool); results in the points' order.

    Cancel: pending chunks are dropped, running ones finish (a chunk is a few backtests), then
    JobCancelledError. A point that fails fails the sweep with its error.
    """
    if metric not in RANKING:
        raise InvalidInputError(f"unknown metric {metric!r}: choose one of {', '.join(RANKING)}")
    if not points:
        raise InvalidInputError("the sweep has no points")
    for params in points:
        strategy_for(settings, params)  # an invalid point is refused before anything runs
    pool = executor if executor is not None else sweep_pool()
    chunks = chunked(points, _workers_of(pool))
    offsets = np.cumsum([0] + [len(c) for c in chunks]).tolist()
    futures: dict[Future[list[PointResult]], int] = {}
    slots: list[PointResult | None] = [None] * len(points)
    done_points = 0
    progress(ProgressUpdate(0, len(points), "starting"))
    try:
        for k, chunk in enumerate(chunks):
            if cancel is not None and cancel.cancelled:
                raise JobCancelledError("cancelled by the user")
            futures[pool.submit(evaluate_points, dict(bars), chunk, settings)] = k
        pending = set(futures)
        while pending:
            if cancel is not None and cancel.cancelled:
                raise JobCancelledError("cancelled by the user")
            finished, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                k = futures[future]
                for j, outcome in enumerate(future.result()):
                    slots[offsets[k] + j] = outcome
                done_points += len(chunks[k])
            if finished:
                progress(ProgressUpdate(done_points, len(points), f"{done_points}/{len(points)} points"))
    except BaseException as exc:
        for future in futures:
            future.cancel()
        wait([f for f in futures if not f.cancelled()])
        if cancel is not None and cancel.cancelled and not isinstance(exc, JobCancelledError):
            # Ctrl+C reaches the workers too (one process group): their interruption is this cancel.
            raise JobCancelledError("cancelled by the user") from exc
        raise
    return SweepResult([s for s in slots if s is not None], metric)
