"""One batch of symbols: settle what to recompute, compute it, and (optionally) write it.

Runs in a worker process of the build's pool or in the caller's process. Everything it receives and
returns is picklable; each worker process keeps one engine per database URL for its lifetime. A batch
reads its bars with one query and writes its rows in one transaction (see ``bulk``), so per-symbol
round trips do not dominate incremental builds of many symbols.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Engine

from workstation.db import partitions
from workstation.db.engine import create_db_engine
from workstation.features import bulk, changes, store
from workstation.features.bulk import MA_COLUMN, RSI_COLUMN, BarRequest
from workstation.features.catalog import HISTORY_BARS
from workstation.features.compute import compute_matrix
from workstation.features.copy_binary import encode_rows
from workstation.features.spec import FloatArray
from workstation.features.state import SymbolPlan, save_states

log = logging.getLogger(__name__)

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()  # a Dask worker may run batches on several threads


@dataclass(frozen=True)
class BatchTask:
    interval: str
    version: str
    plans: tuple[SymbolPlan, ...]
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
    # Filled between compute and write (and returned when the task did not write).
    stamps_us: NDArray[np.int64] | None = field(default=None, repr=False)
    bars: FloatArray | None = field(default=None, repr=False)
    features: FloatArray | None = field(default=None, repr=False)


def run_in_worker(url: str, task: BatchTask) -> list[SymbolOutcome]:
    """Pool entry point; workers outlive builds (see ``pool``). The engine for ``url`` is kept for the
    next batch, and an engine for another database is closed, so idle workers hold one connection."""
    return run_batch(worker_engine(url), task)


def worker_engine(url: str) -> Engine:
    """This worker process's engine for ``url`` (see ``run_in_worker``)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            for other in _ENGINES.values():
                other.dispose()
            _ENGINES.clear()
            engine = _ENGINES[url] = create_db_engine(url)
        return engine


def run_batch(engine: Engine, task: BatchTask) -> list[SymbolOutcome]:
    try:
        outcomes = _compute(engine, task)
        if task.write:
            write_outcomes(engine, task, outcomes)
        return outcomes
    except Exception as exc:  # a failed batch must not stop the others; the summary reports its symbols
        log.exception("feature build failed for %s", ", ".join(p.symbol for p in task.plans))
        error = f"{type(exc).__name__}: {exc}".strip()
        return [SymbolOutcome(p.symbol, p.source, "failed", error=error) for p in task.plans]


def _settle(engine: Engine, task: BatchTask) -> list[SymbolOutcome]:
    """Outcome skeletons: mode and first bar to rewrite; 'check' plans are compared bar by bar here."""
    outcomes: list[SymbolOutcome] = []
    for plan in task.plans:
        if plan.mode == "full":
            outcomes.append(SymbolOutcome(plan.symbol, plan.source, "full"))
        elif plan.mode == "tail":
            outcomes.append(SymbolOutcome(plan.symbol, plan.source, "incremental", since=plan.since))
        else:
            outcomes.append(_check(engine, task, plan))
    return outcomes


def _check(engine: Engine, task: BatchTask, plan: SymbolPlan) -> SymbolOutcome:
    assert plan.previous is not None
    built_through = plan.previous.built_through
    with engine.begin() as conn:
        revised = changes.first_changed_bar(conn, plan.symbol, task.interval, plan.source, task.version, built_through)
        new = changes.first_bar_after(conn, plan.symbol, task.interval, plan.source, built_through)
    candidates = [t for t in (revised, new) if t is not None and t <= plan.through]
    if not candidates:
        return SymbolOutcome(plan.symbol, plan.source, "up_to_date")
    mode = "revised" if revised is not None else "incremental"
    return SymbolOutcome(plan.symbol, plan.source, mode, since=min(candidates))


def _compute(engine: Engine, task: BatchTask) -> list[SymbolOutcome]:
    outcomes = _settle(engine, task)
    plans = {p.symbol: p for p in task.plans}
    todo = [o for o in outcomes if o.mode != "up_to_date"]
    requests = [BarRequest(o.symbol, o.source, o.since, plans[o.symbol].through) for o in todo]
    for outcome, bars in zip(todo, bulk.load_batch(engine, task.interval, requests, HISTORY_BARS), strict=True):
        try:
            features = compute_matrix(*bars.ohlcv.T)
        except Exception as exc:  # e.g. a TA-Lib error on degenerate bars: this symbol fails, the batch goes on
            log.exception("feature computation failed for %s", outcome.symbol)
            outcome.mode, outcome.error = "failed", f"{type(exc).__name__}: {exc}".strip()
            continue
        first = 0
        if outcome.since is not None:
            since_us = pd.DatetimeIndex([outcome.since]).as_unit("us").asi8[0]
            first = int(np.searchsorted(bars.stamps_us, since_us))
        outcome.stamps_us = np.ascontiguousarray(bars.stamps_us[first:])
        outcome.bars = np.ascontiguousarray(bars.ohlcv[first:])
        outcome.features = np.ascontiguousarray(features[first:])
    return outcomes


def write_outcomes(engine: Engine, task: BatchTask, outcomes: list[SymbolOutcome]) -> None:
    """Replace the computed rows and record the new build state, all in one transaction.

    A failed symbol keeps its old rows and state; the others of the batch are written.
    """
    plans = {p.symbol: p for p in task.plans}
    done = [o for o in outcomes if o.mode != "failed"]
    computed = [o for o in done if o.stamps_us is not None]
    if computed and engine.dialect.name == "postgresql":
        # Ranges first, outside the write transaction (partitioned table, 0011): market_data's bounds.
        needed = np.concatenate([o.stamps_us for o in computed if o.stamps_us is not None])
        partitions.ensure_partitions(engine, "feature_engineered_data", needed, like="market_data")
    with engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            # Derived data, rebuilt on demand: not waiting for the WAL flush at each commit is safe
            # (a crash loses at most the last few batches' rows, never consistency) and saves an fsync.
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            # These writes keep feature_build_state's counts themselves: the table's trigger need not mark them stale.
            conn.exec_driver_sql("SET LOCAL workstation.feature_builder = 'on'")
        removed = bulk.delete_batch(conn, task.interval, task.version, {o.symbol: o.since for o in computed})
        bodies: list[bytes] = []
        for o in computed:
            assert o.stamps_us is not None and o.bars is not None and o.features is not None
            values = np.hstack([o.bars, o.features])
            if postgres:
                bodies.append(encode_rows((o.symbol, task.interval), o.stamps_us, (o.source,), values, (task.version,)))
            else:
                stamps = pd.DatetimeIndex(pd.to_datetime(o.stamps_us, unit="us", utc=True))
                store.insert_rows_sqlite(conn, o.symbol, task.interval, o.source, task.version, stamps, values)
        if bodies:
            store.copy_rows(conn, bodies)
        save_states(conn, task.interval, task.version, [_new_state(plans[o.symbol], o, removed) for o in done])
    for o in computed:
        o.stamps_us = o.bars = o.features = None


def _new_state(plan: SymbolPlan, outcome: SymbolOutcome, removed: dict[str, tuple[int, int, int]]) -> dict[str, Any]:
    gone = removed.get(outcome.symbol, (0, 0, 0))
    outcome.rows_deleted = gone[0]
    written = (0, 0, 0)
    if outcome.features is not None:
        f = outcome.features
        outcome.rows_written = len(f)
        written = (
            len(f),
            int(np.count_nonzero(~np.isnan(f[:, RSI_COLUMN]))),
            int(np.count_nonzero(~np.isnan(f[:, MA_COLUMN]))),
        )
    total, rsi, ma = written
    if outcome.mode != "full":  # a full build deleted every old row: only what it wrote remains
        assert plan.previous is not None
        p = plan.previous
        before = (p.total_records, p.rsi_records, p.ma_records)
        total, rsi, ma = (b - g + w for b, g, w in zip(before, gone, written, strict=True))
    return {
        "symbol": plan.symbol,
        "source": plan.source,
        "built_through": plan.through,
        "bar_count": plan.bar_count,
        "bar_checksum": plan.checksum,
        "total_records": total,
        "rsi_records": rsi,
        "ma_records": ma,
    }
