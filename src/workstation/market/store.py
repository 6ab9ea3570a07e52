"""The bar store: the only writer of market_data. Idempotent on (symbol, interval, timestamp, source).

Bars are written in symbol batches, one transaction each, so a failure never leaves half a batch.
PostgreSQL (see pgwrite): incoming bars are compared exactly with the stored ones of their range; new
bars are COPYed (binary) straight into market_data, revised ones go through a temporary table and
INSERT … ON CONFLICT DO UPDATE, unchanged ones are counted and not touched.
SQLite: the stored bars of the range are read, compared, and new/revised ones written with executemany.
Partitioned market_data (PostgreSQL, 0011): every range the bars need is created before the first batch
transaction opens (creating one waits for open transactions that wrote stock_info, as batches do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from workstation.db import partitions
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.market.symbols import ensure_symbols

log = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 200_000
# Batches written at once on PostgreSQL (see store_bars).
PG_WORKERS = 2
KEY = ("symbol", "interval", "source")
_SQLITE_INSERT = (
    "INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)"
)
_SQLITE_UPDATE = (
    "UPDATE market_data SET open = ?, high = ?, low = ?, close = ?, volume = ? "
    "WHERE symbol = ? AND interval = ? AND timestamp = ? AND source = ?"
)


# Called inside a batch's transaction with the rows it inserted or revised (a bool column ``revised``
# tells which); market.notify announces them there, so an announcement commits with its bars or not at all.
WrittenHook = Callable[[Connection, pd.DataFrame], None]


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
    workers: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    on_written: WrittenHook | None = None,
) -> StoreResult:
    """Write validated bars; returns per-symbol counts and the symbols whose batch failed (with why).

    On PostgreSQL ``workers`` batches (default ``PG_WORKERS``) are written at once, each on its own
    connection and in its own transaction: while one batch's COPY keeps the server busy the next is
    encoded, and on a multi-core machine two server processes load in parallel. Batches hold disjoint
    symbols, so they never wait for each other's locks. Cancelling stops new batches; the ones already
    running finish (and commit) before ``Cancelled`` is raised.
    """
    result = StoreResult(counts={}, failures={})
    total = len(bars)
    postgres = engine.dialect.name == "postgresql"
    parallel = max(1, workers if workers is not None else (PG_WORKERS if postgres else 1))
    done = 0

    def finish(outcome: tuple[list[str], int, dict[str, StoreCounts] | str]) -> None:
        nonlocal done
        symbols, rows, counts = outcome
        if isinstance(counts, str):
            for symbol in symbols:
                result.failures[symbol] = f"not stored: {counts}"
        else:
            result.counts.update(counts)
        done += rows
        progress(ProgressUpdate(done, total, f"stored {symbols[-1]}"))

    def write(batch: pd.DataFrame) -> tuple[list[str], int, dict[str, StoreCounts] | str]:
        return _write_batch(engine, batch, symbol_source, postgres, on_written)

    if postgres and total:
        _ensure_ranges(engine, bars)

    if parallel == 1:
        for batch in _batches(bars, batch_rows):
            if cancel is not None:
                cancel.raise_if_cancelled()
            finish(write(batch))
        return result
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="store-bars") as pool:
        running: set[Future[tuple[list[str], int, dict[str, StoreCounts] | str]]] = set()
        try:
            for batch in _batches(bars, batch_rows):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                if len(running) >= parallel:  # keep at most ``parallel`` batches in memory and in flight
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        finish(future.result())
                running.add(pool.submit(write, batch))
        finally:
            for future in running:
                finish(future.result())
    return result


def _ensure_ranges(engine: Engine, bars: pd.DataFrame) -> bool:
    """Create the market_data ranges ``bars`` need (see db.partitions); False when that failed.

    A failure is logged, not raised: batches whose ranges exist are still stored, the others fail
    with PostgreSQL's "no partition" error and are reported per symbol.
    """
    try:
        partitions.ensure_partitions(
            engine, "market_data", bars["timestamp"], monthly=partitions.monthly_mask(bars["interval"])
        )
    except partitions.PartitionError as exc:
        log.error("%s", exc)
        return False
    return True


def _write_batch(
    engine: Engine, batch: pd.DataFrame, symbol_source: str | None, postgres: bool, on_written: WrittenHook | None
) -> tuple[list[str], int, dict[str, StoreCounts] | str]:
    """One batch in one transaction: (its symbols, its rows, counts per symbol or why it failed)."""
    from workstation.market.pgwrite import MissingSymbolsError

    symbols = sorted(str(s) for s in batch["symbol"].unique())
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                ensure_symbols(conn, symbols, symbol_source or str(batch["source"].iloc[0]))
                new = np.zeros(len(batch), dtype=bool)
                revised = np.zeros(len(batch), dtype=bool)
                writer = _write_postgres if postgres else _write_sqlite
                counts = writer(conn, batch, new, revised)
                if on_written is not None and (new.any() or revised.any()):
                    on_written(conn, batch[new | revised].assign(revised=revised[new | revised]))
        except (DBAPIError, MissingSymbolsError, engine.dialect.loaded_dbapi.Error) as exc:
            if postgres and attempt == 1 and partitions.is_missing_partition(exc):
                # A range this process believed in is gone (dropped meanwhile): re-read, create, retry once.
                partitions.forget(engine)
                if _ensure_ranges(engine, batch):
                    continue
            # The PostgreSQL path works on the driver's cursor, so its errors arrive unwrapped.
            orig = exc.orig if isinstance(exc, DBAPIError) else None
            reason = str(orig if orig is not None else exc).strip().splitlines()[0]
            log.error("storing bars of %s failed: %s", ", ".join(symbols), reason)
            return symbols, len(batch), reason
        return symbols, len(batch), counts
    raise AssertionError("unreachable: the second attempt returns")


# --- PostgreSQL ---------------------------------------------------------------------------------


def _write_postgres(
    conn: Connection, batch: pd.DataFrame, new: np.ndarray, revised: np.ndarray
) -> dict[str, StoreCounts]:
    """Store ``batch``; ``new`` and ``revised`` are filled with which of its rows were inserted / updated."""
    from workstation.market.pgwrite import write_batch

    written = write_batch(conn, batch)
    if written.new is not None and written.revised is not None:
        new[:] = written.new
        revised[:] = written.revised
    return {symbol: StoreCounts(*values) for symbol, values in written.by_symbol.items()}


# --- SQLite -------------------------------------------------------------------------------------


def sqlite_timestamps(values: pd.Series) -> np.ndarray:
    """UTC timestamps in the text form SQLAlchemy's SQLite DATETIME writes, so keys compare equal."""
    utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    return np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ")


def _write_sqlite(
    conn: Connection, batch: pd.DataFrame, new: np.ndarray, revised: np.ndarray
) -> dict[str, StoreCounts]:
    """Store ``batch``; ``new`` and ``revised`` are filled with which of its rows were inserted / updated.

    The batch is converted once (a live batch is one bar of each of many symbols: per-symbol pandas work
    would cost more than the SQL); each (symbol, interval, source) reads its stored range with one
    index-range query, and all inserts and updates go out as one executemany each.
    """
    counts: dict[str, StoreCounts] = {}
    stamps = sqlite_timestamps(batch["timestamp"]).tolist()
    prices = np.round(batch[["open", "high", "low", "close"]].to_numpy(dtype=np.float64), 6).tolist()
    volumes = batch["volume"].to_numpy(dtype=np.int64).tolist()
    groups: dict[Any, Any] = batch.groupby(list(KEY), sort=True).indices  # (symbol, interval, source) -> rows
    inserts: list[tuple[object, ...]] = []
    updates: list[tuple[object, ...]] = []
    for (symbol, interval, source), where in sorted(groups.items()):
        c = counts.setdefault(str(symbol), StoreCounts())
        mine = [stamps[i] for i in where]
        stored = conn.exec_driver_sql(
            "SELECT timestamp, open, high, low, close, volume FROM market_data "
            "WHERE symbol = ? AND interval = ? AND source = ? AND timestamp BETWEEN ? AND ?",
            (symbol, interval, source, min(mine), max(mine)),
        ).all()
        existing = {
            str(ts): (round(float(o), 6), round(float(h), 6), round(float(lo), 6), round(float(cl), 6), int(v))
            for ts, o, h, lo, cl, v in stored
        }
        for i in where.tolist():
            ts = stamps[i]
            o, h, lo, cl = prices[i]
            v = volumes[i]
            old = existing.get(ts)
            if old is None:
                inserts.append((symbol, interval, ts, o, h, lo, cl, v, source))
                new[i] = True
                c.inserted += 1
            elif old != (o, h, lo, cl, v):
                updates.append((o, h, lo, cl, v, symbol, interval, ts, source))
                revised[i] = True
                c.updated += 1
            else:
                c.unchanged += 1
    if inserts:
        conn.exec_driver_sql(_SQLITE_INSERT, inserts)
    if updates:
        conn.exec_driver_sql(_SQLITE_UPDATE, updates)
    return counts
