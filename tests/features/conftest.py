"""Helpers for the feature tests: bars go into market_data directly (the ingest service is not needed)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert, select

from workstation.db.models import MarketData, StockInfo
from workstation.db.partitions import FINE_INTERVALS, ensure_partitions


def read_orcl(shared_data: Path) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "orcl-1995-2014.txt", parse_dates=["Date"])
    frame = raw.rename(columns=str.lower)[["date", "open", "high", "low", "close", "volume"]]
    # Daily bars are stamped at the 21:00 UTC close.
    frame.index = pd.DatetimeIndex(frame.pop("date")).tz_localize("UTC") + pd.Timedelta(hours=21)
    return frame


def synthetic_bars(n: int, seed: int, start: str = "2015-01-02 21:00") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.006, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.006, n)))
    volume = rng.integers(100_000, 5_000_000, n)
    index = pd.date_range(start, periods=n, freq="B", tz="UTC")
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index)
    return frame.round({"open": 4, "high": 4, "low": 4, "close": 4})


def insert_bars(engine: Engine, symbol: str, bars: pd.DataFrame, source: str = "csv", interval: str = "1d") -> None:
    rows = [
        {
            "symbol": symbol, "interval": interval, "timestamp": ts.to_pydatetime(), "source": source,
            "open": Decimal(f"{r.open:.6f}"), "high": Decimal(f"{r.high:.6f}"), "low": Decimal(f"{r.low:.6f}"),
            "close": Decimal(f"{r.close:.6f}"), "volume": int(r.volume),
        }
        for ts, r in zip(bars.index, bars.itertuples(), strict=True)
    ]  # fmt: skip
    if rows:  # PostgreSQL: market_data is partitioned; the bar store would make the ranges itself
        ensure_partitions(engine, "market_data", [r["timestamp"] for r in rows], monthly=interval in FINE_INTERVALS)
    with engine.begin() as conn:
        if conn.execute(select(StockInfo.id).where(StockInfo.symbol == symbol)).first() is None:
            conn.execute(insert(StockInfo), [{"symbol": symbol}])
        if rows:
            conn.execute(insert(MarketData), rows)


@pytest.fixture
def orcl(shared_data: Path) -> pd.DataFrame:
    return read_orcl(shared_data)


@pytest.fixture
def make_bars() -> Callable[..., pd.DataFrame]:
    """synthetic_bars(n, seed): a reproducible random walk of daily bars."""
    return synthetic_bars


@pytest.fixture
def store_bars() -> Callable[..., None]:
    """insert_bars(engine, symbol, bars, source='csv', interval='1d'): bars into market_data."""
    return insert_bars


def relative_mismatch(actual: pd.DataFrame, expected: pd.DataFrame, rtol: float) -> dict[str, int]:
    """Columns whose cells differ by more than rtol × max(|expected|, the column's median magnitude).

    The median magnitude stands in for |expected| where a feature crosses zero (MACD, returns), where a
    pure relative test would demand infinite precision. NaN must match NaN exactly.
    """
    bad: dict[str, int] = {}
    for name in expected.columns:
        a, e = actual[name].to_numpy(), expected[name].to_numpy()
        scale = np.nanmedian(np.abs(e)) if not np.isnan(e).all() else 0.0
        scale = scale if scale > 0 else 1.0
        ok = (np.abs(a - e) <= rtol * np.maximum(np.abs(e), scale)) | (np.isnan(a) & np.isnan(e))
        if not ok.all():
            bad[name] = int((~ok).sum())
    return bad


@pytest.fixture
def mismatch() -> Callable[[pd.DataFrame, pd.DataFrame, float], dict[str, int]]:
    """relative_mismatch(actual, expected, rtol) -> {column: number of cells out of tolerance}."""
    return relative_mismatch
