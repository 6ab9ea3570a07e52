"""Buy-and-hold next to a stored backtest: the run's bars found again in market_data.

A stored run keeps its symbols, first and last bar and equity curve, not the bars. The bars are the
stored ones when the equity curve's timeline is exactly the stored bars' timeline over the run's span (a
run on stored bars, or on a CSV file ingested since); otherwise the comparison is left out with the
reason, rather than drawn against different bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from workstation.market.bars import load_bars
from workstation.trading.backtest.benchmark import BuyAndHold, buy_and_hold
from workstation.trading.backtest.metrics import stamps_ns

# Nominal bar length in seconds; the run's interval is the one nearest its equity curve's median spacing.
NOMINAL_SECONDS = {
    "1m": 60,
    "2m": 120,
    "5m": 300,
    "15m": 900,
    "30m": 1_800,
    "1h": 3_600,
    "1d": 86_400,
    "1wk": 7 * 86_400,
    "1mo": 30 * 86_400,
}
CANDIDATES_TRIED = 2


def _timeline(index: pd.DatetimeIndex) -> np.ndarray:
    utc = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return stamps_ns(utc)


def _likely_intervals(timeline: np.ndarray) -> list[str]:
    spacing = float(np.median(np.diff(timeline))) / 1e9
    return sorted(NOMINAL_SECONDS, key=lambda name: abs(np.log(NOMINAL_SECONDS[name] / spacing)))[:CANDIDATES_TRIED]


def run_bars(
    engine: Engine, symbols: Sequence[str], start: datetime, end: datetime, equity_index: pd.DatetimeIndex
) -> dict[str, pd.DataFrame] | None:
    """The stored bars whose union timeline is the run's equity timeline, or None when none are."""
    timeline = _timeline(equity_index)
    if len(timeline) < 2:
        return None
    for interval in _likely_intervals(timeline):
        bars = {symbol: load_bars(engine, symbol, interval, start=start, end=end) for symbol in symbols}
        if any(frame.empty for frame in bars.values()):
            continue
        union = np.unique(np.concatenate([_timeline(pd.DatetimeIndex(frame.index)) for frame in bars.values()]))
        if np.array_equal(union, timeline):
            return bars
    return None


def benchmark_for_run(engine: Engine, run: dict[str, object], equity: pd.Series) -> BuyAndHold | str:
    """Buy-and-hold over the run's bars with its starting cash, or why it cannot be shown."""
    symbols = [str(s) for s in (run.get("symbols") or [])]  # type: ignore[attr-defined]
    start, end = run.get("start"), run.get("end")
    if not symbols or not isinstance(start, datetime) or not isinstance(end, datetime) or equity.empty:
        return "the run does not record its symbols and bar span"
    bars = run_bars(engine, symbols, start, end, pd.DatetimeIndex(equity.index))
    if bars is None:
        return (
            "the bars this backtest ran on are not stored in the database (a backtest of a CSV file); "
            "ingest the file with 'workstation ingest csv' and export the report again"
        )
    return buy_and_hold(bars, Decimal(str(run["initial_cash"])))
