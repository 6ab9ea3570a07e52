"""Reading stored bars: the one query every consumer (features, backtests, charts, models) uses."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from workstation.db.models import MarketData
from workstation.market.frame import PRICE_COLUMNS
from workstation.market.pgcopy import MICROS, price_micros

BAR_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


def load_bars(
    engine: Engine,
    symbol: str,
    interval: str = "1d",
    *,
    source: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Bars of one symbol and interval, oldest first, as float64 OHLC and int64 volume.

    The index is the bar's UTC timestamp. When ``source`` is None and several sources hold bars for
    the same symbol and interval, the source with the most bars wins (never a mix of two vendors).
    """
    query = select(
        MarketData.timestamp,
        MarketData.open,
        MarketData.high,
        MarketData.low,
        MarketData.close,
        MarketData.volume,
        MarketData.source,
    ).where(MarketData.symbol == symbol, MarketData.interval == interval)
    if source is not None:
        query = query.where(MarketData.source == source)
    if start is not None:
        query = query.where(MarketData.timestamp >= start)
    if end is not None:
        query = query.where(MarketData.timestamp <= end)
    query = query.order_by(MarketData.timestamp)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=[*BAR_COLUMNS, "source"])
    if frame.empty:
        empty = pd.DataFrame(
            {c: pd.Series(dtype="float64") for c in BAR_COLUMNS[1:5]} | {"volume": pd.Series(dtype="int64")}
        )
        empty.index = pd.DatetimeIndex([], tz="UTC", name="timestamp")
        return empty
    if source is None and frame["source"].nunique() > 1:
        frame = frame[frame["source"] == frame["source"].value_counts().idxmax()]
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame = frame.set_index("timestamp").drop(columns="source")
    for column in ("open", "high", "low", "close"):
        frame[column] = frame[column].astype(np.float64)
    frame["volume"] = frame["volume"].astype(np.int64)
    return frame


def bars_as_stored(bars: pd.DataFrame) -> pd.DataFrame:
    """Validated bars of one symbol (bar-frame columns) exactly as ``load_bars`` returns them once stored.

    Same index and dtypes; each price is the float the stored NUMERIC(18,6) reads back as (whole
    millionths, rounded the way the store rounds them), so a backtest of a file in memory and of the
    same file after ``ingest csv`` see identical bars.
    """
    frame = pd.DataFrame(
        {column: price_micros(bars[column].to_numpy()) / MICROS for column in PRICE_COLUMNS}
        | {"volume": bars["volume"].to_numpy(dtype=np.int64)},
        index=pd.DatetimeIndex(pd.to_datetime(bars["timestamp"], utc=True), name="timestamp"),
    )
    return frame.sort_index()
