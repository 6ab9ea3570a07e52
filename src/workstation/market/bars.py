"""Reading stored bars: the one query every consumer (features, backtests, charts, models) uses.

On PostgreSQL the bars arrive packed in one bytea of fixed-size binary records (the layout the bar store's
reload comparison reads: ``pgcopy.STORED_BAR``, prices as whole millionths), turned into arrays by one
numpy view: no Python object per bar. Each record is the generated column bar_record (0017), read from
the covering index ix_market_data_chart, so the server only concatenates them.
A price of NUMERIC(18,6) is k millionths exactly, and k / 1e6 in float64 is the correctly rounded double,
the same as ``float(Decimal)``. With ``last`` the query reads the newest bars in descending time order,
which on the partitioned table (0011) scans the newest range first and never opens older ranges once
enough bars are found. SQLite goes through the ORM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from workstation.db.models import MarketData
from workstation.db.pgbinary import PG_EPOCH_US
from workstation.market.frame import PRICE_COLUMNS
from workstation.market.pgcopy import MICROS, PRICES, price_micros, stored_bar_records

BAR_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")

_PG_BARS = """
SELECT min(b.source), max(b.source),
       string_agg(b.bar_record, ''::bytea)
  FROM (SELECT m.timestamp, m.bar_record, m.source FROM market_data m
         WHERE m.symbol = %(symbol)s AND m.interval = %(interval)s{where}{latest}) b
"""
_PG_SOURCES = """
SELECT m.source, count(*) FROM market_data m WHERE m.symbol = %(symbol)s AND m.interval = %(interval)s{where}
 GROUP BY m.source
"""


def load_bars(
    engine: Engine,
    symbol: str,
    interval: str = "1d",
    *,
    source: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    last: int | None = None,
) -> pd.DataFrame:
    """Bars of one symbol and interval, oldest first, as float64 OHLC and int64 volume.

    The index is the bar's UTC timestamp. When ``source`` is None and several sources hold bars for
    the same symbol and interval, the source with the most bars wins (never a mix of two vendors).
    ``last`` keeps only the newest ``last`` bars (of the chosen source) within ``start``/``end``.
    """
    if engine.dialect.name == "postgresql":
        return _load_postgres(engine, symbol, interval, source, start, end, last)
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
        return _empty()
    if source is None and frame["source"].nunique() > 1:
        frame = frame[frame["source"] == frame["source"].value_counts().idxmax()]
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame = frame.set_index("timestamp").drop(columns="source")
    for column in ("open", "high", "low", "close"):
        frame[column] = frame[column].astype(np.float64)
    frame["volume"] = frame["volume"].astype(np.int64)
    return frame.iloc[max(0, len(frame) - last) :] if last is not None else frame


def _filters(source: str | None, start: datetime | None, end: datetime | None) -> str:
    chosen = (
        (" AND m.source = %(source)s", source),
        (" AND m.timestamp >= %(start)s", start),
        (" AND m.timestamp <= %(end)s", end),
    )
    return "".join(clause for clause, value in chosen if value is not None)


def pg_bars_query(
    symbol: str,
    interval: str,
    *,
    source: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    last: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """The PostgreSQL query ``load_bars`` runs (one row: first and last source name, the packed bars)."""
    params: dict[str, Any] = {"symbol": symbol, "interval": interval, "source": source, "start": start, "end": end}
    latest = ""
    if last is not None:
        latest, params["last"] = " ORDER BY m.timestamp DESC LIMIT %(last)s", max(0, int(last))
    return _PG_BARS.format(where=_filters(source, start, end), latest=latest), params


def _load_postgres(
    engine: Engine,
    symbol: str,
    interval: str,
    source: str | None,
    start: datetime | None,
    end: datetime | None,
    last: int | None,
) -> pd.DataFrame:
    sql, params = pg_bars_query(symbol, interval, source=source, start=start, end=end, last=last)
    with engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor(binary=True) as cursor:
            first, final, packed = cursor.execute(sql, params).fetchone()
            if first is not None and first != final:
                # Two vendors hold this series: the one with most bars wins, ties to the first name (as the
                # feature build picks), and its own bars are read.
                counts = cursor.execute(_PG_SOURCES.format(where=_filters(None, start, end)), params).fetchall()
                chosen = str(min(counts, key=lambda r: (-int(r[1]), str(r[0])))[0])
                sql, params = pg_bars_query(symbol, interval, source=chosen, start=start, end=end, last=last)
                _, _, packed = cursor.execute(sql, params).fetchone()
        conn.rollback()
    if packed is None:
        return _empty()
    records = stored_bar_records(bytes(packed))
    if len(records) > 1 and records["timestamp"][0] > records["timestamp"][1]:
        records = records[::-1]  # read newest first (``last``)
    if len(records) > 2 and not (np.diff(records["timestamp"]) > 0).all():
        records = records[np.argsort(records["timestamp"], kind="stable")]  # string_agg kept no order
    stamps = records["timestamp"] + PG_EPOCH_US
    index = pd.DatetimeIndex(stamps.astype("datetime64[us]"), name="timestamp").tz_localize("UTC")
    columns: dict[str, Any] = {p: records[p] / MICROS for p in PRICES}
    columns["volume"] = records["volume"].astype(np.int64)
    return pd.DataFrame(columns, index=index)


def _empty() -> pd.DataFrame:
    columns = {c: pd.Series(dtype="float64") for c in BAR_COLUMNS[1:5]}
    empty = pd.DataFrame(columns | {"volume": pd.Series(dtype="int64")})
    empty.index = pd.DatetimeIndex([], tz="UTC", name="timestamp")
    return empty


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
