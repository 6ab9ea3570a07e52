"""The bar store: the only writer of market_data. Idempotent on (symbol, interval, timestamp, source).

Bars are written in symbol batches, one transaction each, so a failure never leaves half a batch.
PostgreSQL: a symbol whose incoming range holds no stored bar is COPYed (binary) straight into
market_data; the others are COPYed into a temporary table, bars equal to the stored ones are dropped
there (counted unchanged) and the rest go in with INSERT … ON CONFLICT DO UPDATE (new or revised).
SQLite: the stored bars of the range are read, compared, and new/revised ones written with executemany.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.market.pgcopy import COPY_COLUMNS, encode_copy_binary
from workstation.market.symbols import ensure_symbols

log = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 200_000
KEY = ("symbol", "interval", "source")
_SQLITE_INSERT = (
    "INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)"
)
_SQLITE_UPDATE = (
    "UPDATE market_data SET open = ?, high = ?, low = ?, close = ?, volume = ? "
    "WHERE symbol = ? AND interval = ? AND timestamp = ? AND source = ?"
)


@dataclass
class StoreCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class StoreResult:
    counts: dict[str, StoreCounts]
    failures: dict[str, str]


def _batches(bars: pd.DataFrame, batch_rows: int) -> Iterator[pd.DataFrame]:
    """Whole symbols per batch, about ``batch_rows`` rows each."""
    sizes = bars.groupby("symbol", sort=True).size()
    chosen: list[str] = []
    rows = 0
    for symbol, size in sizes.items():
        if chosen and rows + int(size) > batch_rows:
            yield bars[bars["symbol"].isin(chosen)]
            chosen, rows = [], 0
        chosen.append(str(symbol))
        rows += int(size)
    if chosen:
        yield bars[bars["symbol"].isin(chosen)]


def store_bars(
    engine: Engine,
    bars: pd.DataFrame,
    *,
    symbol_source: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> StoreResult:
    """Write validated bars; returns per-symbol counts and the symbols whose batch failed (with why)."""
    result = StoreResult(counts={}, failures={})
    total = len(bars)
    done = 0
    postgres = engine.dialect.name == "postgresql"
    for batch in _batches(bars, batch_rows):
        if cancel is not None:
            cancel.raise_if_cancelled()
        symbols = sorted(batch["symbol"].unique())
        try:
            with engine.begin() as conn:
                ensure_symbols(conn, symbols, symbol_source or str(batch["source"].iloc[0]))
                counts = _write_postgres(conn, batch) if postgres else _write_sqlite(conn, batch)
        except DBAPIError as exc:
            reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
            log.error("storing bars of %s failed: %s", ", ".join(symbols), reason)
            for symbol in symbols:
                result.failures[symbol] = f"not stored: {reason}"
        else:
            result.counts.update(counts)
        done += len(batch)
        progress(ProgressUpdate(done, total, f"stored {symbols[-1]}"))
    return result


# --- PostgreSQL ---------------------------------------------------------------------------------


def _write_postgres(conn: Connection, batch: pd.DataFrame) -> dict[str, StoreCounts]:
    counts = {str(s): StoreCounts() for s in batch["symbol"].unique()}
    ranges = batch.groupby(list(KEY), sort=False)["timestamp"].agg(["min", "max"]).reset_index()
    overlapping = conn.exec_driver_sql(
        "SELECT k.symbol, k.interval, k.source FROM unnest(%(s)s::text[], %(i)s::text[], %(src)s::text[], "
        "%(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS k(symbol, interval, source, lo, hi) "
        "WHERE EXISTS (SELECT 1 FROM market_data m WHERE m.symbol = k.symbol AND m.interval = k.interval "
        "AND m.timestamp BETWEEN k.lo AND k.hi AND m.source = k.source)",
        {
            "s": list(ranges["symbol"]),
            "i": list(ranges["interval"]),
            "src": list(ranges["source"]),
            "lo": list(ranges["min"].dt.to_pydatetime()),
            "hi": list(ranges["max"].dt.to_pydatetime()),
        },
    ).all()
    known = {tuple(row) for row in overlapping}
    keys = pd.MultiIndex.from_frame(batch[list(KEY)])
    needs_merge = keys.isin(list(known)) if known else np.zeros(len(batch), dtype=bool)
    fresh, merge = batch[~needs_merge], batch[needs_merge]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if not fresh.empty:
            with cursor.copy(f"COPY market_data ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(encode_copy_binary(fresh))
            for symbol, size in fresh.groupby("symbol").size().items():
                counts[str(symbol)].inserted += int(size)
        if not merge.empty:
            _merge_postgres(cursor, merge, counts)
    finally:
        cursor.close()
    return counts


def _merge_postgres(cursor: object, merge: pd.DataFrame, counts: dict[str, StoreCounts]) -> None:
    cur = cursor  # a psycopg cursor; typed loosely because psycopg's generics add nothing here
    cur.execute(  # type: ignore[attr-defined]
        "CREATE TEMP TABLE market_data_incoming (symbol varchar(32), interval varchar(8), "
        "timestamp timestamptz, open numeric(18,6), high numeric(18,6), low numeric(18,6), close numeric(18,6), "
        "volume bigint, source varchar(32)) ON COMMIT DROP"
    )
    with cur.copy(  # type: ignore[attr-defined]
        f"COPY market_data_incoming ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.write(encode_copy_binary(merge))
    cur.execute("ANALYZE market_data_incoming")  # type: ignore[attr-defined]
    # Bars equal to the stored ones change nothing: drop them before the upsert so it touches no row.
    cur.execute(  # type: ignore[attr-defined]
        "WITH same AS (DELETE FROM market_data_incoming t USING market_data m "
        "WHERE m.symbol = t.symbol AND m.interval = t.interval AND m.timestamp = t.timestamp "
        "AND m.source = t.source AND m.open = t.open AND m.high = t.high AND m.low = t.low "
        "AND m.close = t.close AND m.volume = t.volume AND m.symbol = ANY(%s) RETURNING t.symbol) "
        "SELECT symbol, count(*) FROM same GROUP BY symbol",
        # Naming the batch's symbols lets PostgreSQL read only their stored bars through the unique
        # index instead of scanning the whole table once per batch.
        (sorted(merge["symbol"].unique().tolist()),),
    )
    for symbol, n in cur.fetchall():  # type: ignore[attr-defined]
        counts[symbol].unchanged += int(n)
    cur.execute(  # type: ignore[attr-defined]
        "WITH up AS (INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source) "
        "SELECT symbol, interval, timestamp, open, high, low, close, volume, source FROM market_data_incoming "
        "ON CONFLICT (symbol, interval, timestamp, source) DO UPDATE SET open = EXCLUDED.open, "
        "high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume "
        "RETURNING symbol, (xmax = 0) AS inserted) "
        "SELECT symbol, count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up GROUP BY symbol"
    )
    for symbol, inserted, updated in cur.fetchall():  # type: ignore[attr-defined]
        counts[symbol].inserted += int(inserted)
        counts[symbol].updated += int(updated)


# --- SQLite -------------------------------------------------------------------------------------


def sqlite_timestamps(values: pd.Series) -> np.ndarray:
    """UTC timestamps in the text form SQLAlchemy's SQLite DATETIME writes, so keys compare equal."""
    utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ")


def _write_sqlite(conn: Connection, batch: pd.DataFrame) -> dict[str, StoreCounts]:
    counts: dict[str, StoreCounts] = {}
    for (symbol, interval, source), group in batch.groupby(list(KEY), sort=True):
        c = counts.setdefault(str(symbol), StoreCounts())
        stamps = sqlite_timestamps(group["timestamp"])
        stored = conn.exec_driver_sql(
            "SELECT timestamp, open, high, low, close, volume FROM market_data "
            "WHERE symbol = ? AND interval = ? AND source = ? AND timestamp BETWEEN ? AND ?",
            (symbol, interval, source, min(stamps.tolist()), max(stamps.tolist())),
        ).all()
        prices = np.round(group[["open", "high", "low", "close"]].to_numpy(dtype=np.float64), 6)
        volumes = group["volume"].to_numpy(dtype=np.int64)
        existing = {
            str(ts): (round(float(o), 6), round(float(h), 6), round(float(lo), 6), round(float(cl), 6), int(v))
            for ts, o, h, lo, cl, v in stored
        }
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        for i, ts in enumerate(stamps.tolist()):
            o, h, lo, cl = (float(x) for x in prices[i])
            v = int(volumes[i])
            old = existing.get(ts)
            if old is None:
                inserts.append((symbol, interval, ts, o, h, lo, cl, v, source))
            elif old != (o, h, lo, cl, v):
                updates.append((o, h, lo, cl, v, symbol, interval, ts, source))
            else:
                c.unchanged += 1
        if inserts:
            conn.exec_driver_sql(_SQLITE_INSERT, inserts)
        if updates:
            conn.exec_driver_sql(_SQLITE_UPDATE, updates)
        c.inserted += len(inserts)
        c.updated += len(updates)
    return counts
