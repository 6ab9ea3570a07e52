"""The bar store: the only writer of market_data. Idempotent on (symbol, interval, timestamp, source).

Bars are written in symbol batches, one transaction each, so a failure never leaves half a batch.
PostgreSQL (see pgwrite): incoming bars are compared exactly with the stored ones of their range; new
bars are COPYed (binary) straight into market_data, revised ones go through a temporary table and
INSERT … ON CONFLICT DO UPDATE, unchanged ones are counted and not touched.
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
    """Whole symbols per batch, about ``batch_rows`` rows each, in symbol order.

    One stable sort by symbol code, then contiguous slices: no per-batch scan of the whole frame.
    """
    if bars.empty:
        return
    codes, _ = pd.factorize(bars["symbol"], sort=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    ends = np.cumsum(sizes)
    start = 0  # position in ``order`` where the current batch begins
    for end in ends:  # a batch closes once it holds ``batch_rows`` rows, or at the last symbol
        if end - start >= batch_rows or end == ends[-1]:
            yield bars.take(order[start:end])
            start = int(end)


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
    from workstation.market.pgwrite import MissingSymbolsError

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
        except (DBAPIError, MissingSymbolsError) as exc:
            orig = exc.orig if isinstance(exc, DBAPIError) else None
            reason = str(orig if orig is not None else exc).strip().splitlines()[0]
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
    from workstation.market.pgwrite import write_batch

    written = write_batch(conn, batch)
    return {symbol: StoreCounts(*values) for symbol, values in written.by_symbol.items()}


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
