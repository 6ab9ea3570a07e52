"""One symbol's feature build: decide what to recompute, compute it, and (optionally) write it.

Runs in a worker process of the build's pool or in the caller's process. Everything it receives and
returns is picklable; each worker process keeps one engine per database URL for its lifetime.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from psycopg.types.numeric import FloatLoader
from sqlalchemy import Engine, event

from workstation.db.engine import create_db_engine
from workstation.features import changes, store
from workstation.features.catalog import HISTORY_BARS
from workstation.features.compute import compute_matrix
from workstation.features.spec import FloatArray
from workstation.market.bars import load_bars

log = logging.getLogger(__name__)

_ENGINES: dict[str, Engine] = {}


@dataclass(frozen=True)
class SymbolTask:
    symbol: str
    interval: str
    source: str
    version: str
    full: bool
    write: bool  # False: return the rows for the caller to write (SQLite has one writer)


@dataclass
class SymbolOutcome:
    symbol: str
    source: str
    mode: str  # full | incremental | revised | up_to_date | failed
    since: datetime | None = None  # first rewritten bar (None: the whole history)
    rows_written: int = 0
    rows_deleted: int = 0
    error: str | None = None
    # Filled when the task did not write: what the caller must write.
    timestamps: pd.DatetimeIndex | None = field(default=None, repr=False)
    bars: FloatArray | None = field(default=None, repr=False)
    features: FloatArray | None = field(default=None, repr=False)


def run_in_worker(url: str, task: SymbolTask) -> SymbolOutcome:
    """Pool entry point: the engine for ``url`` is created once per worker process."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_db_engine(url)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _numeric_as_float)
    return run_task(engine, task)


def _numeric_as_float(dbapi_connection: Any, _record: Any) -> None:
    # This engine only feeds load_bars → float64 arrays: parsing NUMERIC straight to float (correctly
    # rounded, the same double as float(Decimal)) skips a Decimal per price and halves the bar load time.
    dbapi_connection.adapters.register_loader("numeric", FloatLoader)


def run_task(engine: Engine, task: SymbolTask) -> SymbolOutcome:
    try:
        return _build(engine, task)
    except Exception as exc:  # one symbol's failure must not stop the others; the summary reports it
        log.exception("feature build failed for %s %s", task.symbol, task.interval)
        return SymbolOutcome(task.symbol, task.source, "failed", error=f"{type(exc).__name__}: {exc}".strip())


def _plan(engine: Engine, task: SymbolTask) -> tuple[str, datetime | None, datetime | None]:
    """(mode, first bar to rewrite, first bar to load); mode 'up_to_date' means nothing to do."""
    if task.full:
        return "full", None, None
    with engine.connect() as conn:
        last = store.last_stored(conn, task.symbol, task.interval, task.version)
        if last is None or last[1] != task.source:
            return "full", None, None
        built_through = last[0]
        revised = changes.first_changed_bar(conn, task.symbol, task.interval, task.source, task.version, built_through)
        new = changes.first_bar_after(conn, task.symbol, task.interval, task.source, built_through)
        candidates = [t for t in (revised, new) if t is not None]
        if not candidates:
            return "up_to_date", None, None
        since = min(candidates)
        load_from = changes.replay_start(conn, task.symbol, task.interval, task.source, since, HISTORY_BARS)
    return ("revised" if revised is not None else "incremental"), since, load_from


def _build(engine: Engine, task: SymbolTask) -> SymbolOutcome:
    mode, since, load_from = _plan(engine, task)
    outcome = SymbolOutcome(task.symbol, task.source, mode, since=since)
    if mode == "up_to_date":
        return outcome
    bars = load_bars(engine, task.symbol, task.interval, source=task.source, start=load_from)
    ohlcv = np.column_stack([bars[c].to_numpy(np.float64) for c in store.BAR_FIELDS])
    features = compute_matrix(*ohlcv.T)
    keep = slice(None) if since is None else slice(int(bars.index.searchsorted(pd.Timestamp(since))), None)
    outcome.timestamps = pd.DatetimeIndex(bars.index[keep])
    outcome.bars = np.ascontiguousarray(ohlcv[keep])
    outcome.features = np.ascontiguousarray(features[keep])
    if task.write:
        write_outcome(engine, task, outcome)
    return outcome


def write_outcome(engine: Engine, task: SymbolTask, outcome: SymbolOutcome) -> None:
    """Replace the rows from ``since`` on (all rows for a full build) in one transaction."""
    assert outcome.timestamps is not None
    assert outcome.bars is not None
    assert outcome.features is not None
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Derived data, rebuilt on demand: not waiting for the WAL flush at each symbol's commit is safe
            # (a crash loses at most the last few symbols' rows, never consistency) and saves an fsync per symbol.
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        outcome.rows_deleted = store.delete_rows(conn, task.symbol, task.interval, task.version, outcome.since)
        outcome.rows_written = store.write_rows(
            conn,
            symbol=task.symbol,
            interval=task.interval,
            source=task.source,
            version=task.version,
            timestamps=outcome.timestamps,
            bars=outcome.bars,
            features=outcome.features,
        )
    outcome.timestamps = outcome.bars = outcome.features = None
