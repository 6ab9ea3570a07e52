"""Helpers for the feature tests: bars go into market_data directly (the ingest service is not needed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert, select

from workstation.db.models import MarketData, StockInfo


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
    with engine.begin() as conn:
        if conn.execute(select(StockInfo.id).where(StockInfo.symbol == symbol)).first() is None:
            conn.execute(insert(StockInfo), [{"symbol": symbol}])
        if rows:
            conn.execute(insert(MarketData), rows)


@pytest.fixture
def orcl(shared_data: Path) -> pd.DataFrame:
    return read_orcl(shared_data)
