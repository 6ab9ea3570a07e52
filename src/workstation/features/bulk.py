"""Set-at-a-time database work for a batch of symbols: read their bars, delete and write their rows.

On PostgreSQL a batch costs a fixed number of statements whatever its size: one binary COPY reads
every symbol's bars (with the replay window worked out by the server), one DELETE removes the rows to
be replaced and reports their counts, one binary COPY (``store.copy_rows``) writes the new rows. Reading parses the COPY
stream with a numpy record dtype, so no Python object is made per bar. SQLite (the single-user
fallback) goes symbol by symbol through the ordinary queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Engine, and_, func, select
from sqlalchemy.engine import Connection

from workstation.db.pgbinary import DOUBLES, INT64S, PG_EPOCH_US, unpack_array
from workstation.features import changes
from workstation.features.catalog import FEATURE_NAMES
from workstation.features.spec import FloatArray
from workstation.features.store import feature_table
from workstation.market.bars import load_bars

RSI_COLUMN = FEATURE_NAMES.index("rsi_1d")
MA_COLUMN = FEATURE_NAMES.index("price_ma_short")


@dataclass(frozen=True)
class BarRequest:
    symbol: str
    source: str
    since: datetime | None  # first bar to rewrite (None: all); HISTORY_BARS bars before it are read too
    through: datetime  # last bar to read


@dataclass
class SymbolBars:
    stamps_us: NDArray[np.int64]  # Unix microseconds, oldest first
    ohlcv: FloatArray  # n × 5


# One row per symbol: its bars as binary arrays (array_send), oldest first. Prices become float8 in the
# server (correctly rounded, the same double as float(Decimal)); the client only reinterprets bytes.
_PG_LOAD = """
SELECT b.i::int4, array_send(x.ts), array_send(x.o), array_send(x.h), array_send(x.l), array_send(x.c),
       array_send(x.v)
  FROM unnest(%(symbols)s::text[], %(sources)s::text[], %(since)s::timestamptz[], %(through)s::timestamptz[])
       WITH ORDINALITY AS b(symbol, source, since, through, i)
 CROSS JOIN LATERAL (
       SELECT coalesce((SELECT r.timestamp FROM market_data r
                         WHERE r.symbol = b.symbol AND r.interval = %(interval)s AND r.source = b.source
                           AND r.timestamp < b.since
                         ORDER BY r.timestamp DESC OFFSET %(skip)s LIMIT 1), '-infinity') AS start) w
 CROSS JOIN LATERAL (
       SELECT array_agg(m.timestamp ORDER BY m.timestamp) AS ts,
              array_agg(m.open::float8 ORDER BY m.timestamp) AS o,
              array_agg(m.high::float8 ORDER BY m.timestamp) AS h,
              array_agg(m.low::float8 ORDER BY m.timestamp) AS l,
              array_agg(m.close::float8 ORDER BY m.timestamp) AS c,
              array_agg(m.volume::float8 ORDER BY m.timestamp) AS v
         FROM market_data m
        WHERE m.symbol = b.symbol AND m.interval = %(interval)s AND m.source = b.source
          AND m.timestamp >= w.start AND m.timestamp <= b.through) x
 ORDER BY b.i
"""


def load_batch(engine: Engine, interval: str, requests: list[BarRequest], history: int) -> list[SymbolBars]:
    """Each request's bars from HISTORY bars before ``since`` (or the first bar) through ``through``."""
    if engine.dialect.name != "postgresql":
        return [_load_one(engine, interval, r, history) for r in requests]
    params = {
        "symbols": [r.symbol for r in requests],
        "sources": [r.source for r in requests],
        "since": [r.since for r in requests],
        "through": [r.through for r in requests],
        "interval": interval,
        "skip": history - 1,
    }
    with engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor(binary=True) as cursor:
            rows = cursor.execute(_PG_LOAD, params).fetchall()
        conn.rollback()
    loaded: list[SymbolBars] = []
    for _i, ts, *columns in rows:
        stamps = unpack_array(ts, INT64S).astype(np.int64) + PG_EPOCH_US
        ohlcv = np.column_stack([unpack_array(c, DOUBLES) for c in columns]).astype(np.float64)
        loaded.append(SymbolBars(stamps, ohlcv.reshape(len(stamps), 5)))
    return loaded


def _load_one(engine: Engine, interval: str, request: BarRequest, history: int) -> SymbolBars:
    start = None
    if request.since is not None:
        with engine.connect() as conn:
            start = changes.replay_start(conn, request.symbol, interval, request.source, request.since, history)
    bars = load_bars(engine, request.symbol, interval, source=request.source, start=start, end=request.through)
    ohlcv = np.column_stack([bars[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")])
    stamps = pd.DatetimeIndex(bars.index).as_unit("us").asi8.astype(np.int64)
    return SymbolBars(stamps, ohlcv.reshape(len(stamps), 5))


def delete_batch(
    conn: Connection, interval: str, version: str, since: dict[str, datetime | None]
) -> dict[str, tuple[int, int, int]]:
    """Delete each symbol's rows from its ``since`` (all when None); symbol -> (rows, rsi rows, ma rows) removed."""
    if not since:
        return {}
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            """WITH gone AS (
                   DELETE FROM feature_engineered_data f
                    USING unnest(%(symbols)s::text[], %(since)s::timestamptz[]) AS d(symbol, since)
                    WHERE f.symbol = d.symbol AND f.interval = %(interval)s AND f.feature_version = %(version)s
                      AND f.timestamp >= coalesce(d.since, '-infinity')
                RETURNING f.symbol, f.rsi_1d, f.price_ma_short)
               SELECT symbol, count(*), count(rsi_1d), count(price_ma_short) FROM gone GROUP BY symbol""",
            {"symbols": list(since), "since": list(since.values()), "interval": interval, "version": version},
        ).all()
        return {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}
    t = feature_table.c
    removed: dict[str, tuple[int, int, int]] = {}
    for symbol, first in since.items():
        condition = and_(t.symbol == symbol, t.interval == interval, t.feature_version == version)
        if first is not None:
            condition = and_(condition, t.timestamp >= first)
        counts = conn.execute(select(func.count(), func.count(t.rsi_1d), func.count(t.price_ma_short)).where(condition))
        removed[symbol] = tuple(int(v) for v in counts.one())  # type: ignore[assignment]
        conn.execute(feature_table.delete().where(condition))
    return removed
