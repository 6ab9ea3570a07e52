"""Parameter-sweep throughput: ``run_sweep`` on the local process pool vs the single backtests one by one.

    PYTHONPATH=src python3 tests/benchmarks/bench_sweep.py [--symbols 100] [--bars 2000] [--baseline-points 6]

1. SYNTHETIC bars (seeded geometric random walks rounded to cents, labelled SYN0000…): --symbols
   symbols × --bars daily bars, one portfolio of all symbols per backtest.
2. The grid fast=5:50:5 × slow=60:150:10 = 100 points (every one valid: fast < slow), sma_cross with
   100 shares per entry, cash 10,000,000, commission rate 0.001.
3. Baseline: ``run_backtest`` called point after point in this process on the same bars (what running
   ``workstation backtest`` once per point does, without its start-up and bar loading). It runs on the
   first --baseline-points points and its per-point time is extrapolated to the grid (each point is one
   backtest of the same bars; the cost per point varies only with its number of trades).
4. The sweep: ``run_sweep`` over all points on the default executor (a fresh local process pool, one
   worker per core, its start-up included), in points/s.
5. The baseline points are compared with the sweep's: metrics and final value must be identical.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

SRC = Path(__file__).resolve().parents[2] / "src"
sys.path.insert(0, str(SRC))

from workstation.trading.backtest.engine import BacktestConfig, run_backtest  # noqa: E402
from workstation.trading.backtest.grid import parse_grid  # noqa: E402
from workstation.trading.backtest.sweep import SweepSettings, run_sweep, shutdown_sweep_pool, strategy_for  # noqa: E402
from workstation.trading.brokers.paper import CommissionModel  # noqa: E402

GRID = "fast=5:50:5,slow=60:150:10"


def synthetic_universe(symbols: int, bars: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2012-01-03", periods=bars, freq="B", tz="UTC")
    universe = {}
    for n in range(symbols):
        close = np.round(rng.uniform(10, 200) * np.exp(np.cumsum(rng.normal(0.0002, 0.02, bars))), 2)
        opens = np.round(close * np.exp(rng.normal(0, 0.006, bars)), 2)
        high = np.round(np.maximum(opens, close) * (1 + rng.uniform(0, 0.01, bars)), 2)
        low = np.round(np.minimum(opens, close) * (1 - rng.uniform(0, 0.01, bars)), 2)
        volume = rng.integers(100_000, 5_000_000, bars).astype(np.float64)
        universe[f"SYN{n:04d}"] = pd.DataFrame(
            {"open": opens, "high": high, "low": low, "close": close, "volume": volume}, index=index
        )
    return universe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--bars", type=int, default=2000)
    parser.add_argument("--baseline-points", type=int, default=6)
    args = parser.parse_args()
    universe = synthetic_universe(args.symbols, args.bars)
    grid = parse_grid(GRID)
    settings = SweepSettings(
        quantity=Decimal(100),
        config=BacktestConfig(cash=Decimal(10_000_000), commission=CommissionModel(rate=Decimal("0.001"))),
    )
    points = grid.points
    print(f"SYNTHETIC bars: {args.symbols} symbols x {args.bars} bars; grid {GRID}: {len(points)} points")
    print(f"cores: {os.cpu_count()}")

    sample = points[: args.baseline_points]
    baseline: list[dict[str, float | None]] = []
    started = time.perf_counter()
    for params in sample:
        result = run_backtest(universe, strategy_for(settings, params), settings.config)
        baseline.append(dict(result.metrics) | {"final_value": float(result.final_value)})
    per_point = (time.perf_counter() - started) / len(sample)
    baseline_rate = 1 / per_point
    print(
        f"baseline  one by one: {per_point:.2f} s/point on the first {len(sample)} points "
        f"-> {baseline_rate:.2f} points/s (extrapolated: {per_point * len(points):.0f} s for {len(points)} points)"
    )

    started = time.perf_counter()
    swept = run_sweep(universe, points, settings)
    elapsed = time.perf_counter() - started
    shutdown_sweep_pool()
    rate = len(points) / elapsed
    print(f"sweep     run_sweep:  {elapsed:.1f} s for {len(points)} points -> {rate:.2f} points/s (pool start-up in)")
    print(f"ratio     sweep / one by one: {rate / baseline_rate:.2f}x")
    identical = all(p.metrics == b for p, b in zip(swept.results, baseline, strict=False))
    print(f"check     first {len(sample)} sweep points identical to the single backtests: {identical}")
    best = swept.best
    if best is not None:
        dsr = swept.deflated_sharpe()
        print(f"best      {best.params} sharpe {best.metrics['sharpe']} of {swept.tried} points; deflated Sharpe {dsr}")
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
