"""The ingest service: provider → validate → split-adjust → store, with a summary of what happened.

Called by the CLI and by GUI worker threads; every entry point takes a ProgressCallback and a
CancelToken, and returns an ``IngestSummary`` whose ``to_dict()`` is the CLI's JSON summary.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from workstation.db.models import MarketData
from workstation.errors import WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, no_progress
from workstation.market.corporate_actions import adjust_splits
from workstation.market.frame import ProviderBatch, Reject
from workstation.market.providers.csv import read_bars_csv
from workstation.market.store import DEFAULT_BATCH_ROWS, store_bars
from workstation.market.validation import validate_bars

log = logging.getLogger(__name__)


@dataclass
class SymbolSummary:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    first: str | None = None
    last: str | None = None
    adjustment: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestSummary:
    symbols: dict[str, SymbolSummary] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    interval: str | None = None
    source: str | None = None
    # True when --strict found rejects and nothing was written.
    aborted: bool = False

    @property
    def inserted(self) -> int:
        return sum(s.inserted for s in self.symbols.values())

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.symbols.values())

    @property
    def unchanged(self) -> int:
        return sum(s.unchanged for s in self.symbols.values())

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def exit_code(self) -> int:
        """0 when everything asked for was stored, 1 when a symbol failed or a row was rejected."""
        return 1 if (self.failures or self.rejects or self.aborted) else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejects": [r.to_dict() for r in self.rejects],
            "symbols": {s: v.to_dict() for s, v in sorted(self.symbols.items())},
            "failures": dict(sorted(self.failures.items())),
            "interval": self.interval,
            "source": self.source,
            "written": not self.aborted,
        }


def process_batch(
    engine: Engine,
    batch: ProviderBatch,
    *,
    strict: bool = False,
    interval: str | None = None,
    source: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IngestSummary:
    """Validate, adjust and store one provider batch."""
    summary = IngestSummary(failures=dict(batch.failures), interval=interval, source=source)
    good, rejects = validate_bars(batch.bars)
    summary.rejects = sorted(batch.rejects + rejects, key=lambda r: (r.row is None, r.row or 0))
    for reject in summary.rejects:
        if reject.symbol:
            summary.symbols.setdefault(reject.symbol, SymbolSummary()).rejected += 1
    adjusted, decisions = adjust_splits(good, batch.splits, prices_adjusted=batch.prices_adjusted)
    for symbol, decision in decisions.items():
        entry = summary.symbols.setdefault(symbol, SymbolSummary())
        entry.adjustment = decision
        if decision != "none":
            log.info("%s: %s", symbol, decision)
    if not adjusted.empty:
        ranges = adjusted.groupby("symbol")["timestamp"].agg(["min", "max"])
        for symbol, row in ranges.iterrows():
            entry = summary.symbols.setdefault(str(symbol), SymbolSummary())
            entry.first, entry.last = row["min"].isoformat(), row["max"].isoformat()
    if strict and summary.rejects:
        summary.aborted = True
        return summary
    if cancel is not None:
        cancel.raise_if_cancelled()
    stored = store_bars(engine, adjusted, batch_rows=batch_rows, progress=progress, cancel=cancel)
    for symbol, counts in stored.counts.items():
        entry = summary.symbols.setdefault(symbol, SymbolSummary())
        entry.inserted, entry.updated, entry.unchanged = counts.inserted, counts.updated, counts.unchanged
    summary.failures.update(stored.failures)
    return summary


def ingest_csv(
    engine: Engine,
    path: Path | str,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    source: str = "csv",
    tz: str | None = None,
    columns: Mapping[str, str] | None = None,
    strict: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IngestSummary:
    """Import a bar CSV (see providers.csv for the layouts understood)."""
    _check_source(source)
    batch, used_interval = read_bars_csv(path, symbol=symbol, interval=interval, source=source, tz=tz, mapping=columns)
    if batch.bars.empty and not batch.rejects:
        raise WorkstationError(f"{Path(path).name}: no bars" + (f" for {symbol}" if symbol else ""))
    return process_batch(
        engine, batch, strict=strict, interval=used_interval, source=source, progress=progress, cancel=cancel
    )


def _check_source(source: str) -> None:
    if not source or len(source) > 32:
        raise WorkstationError("the source name must be 1 to 32 characters", exit_code=2)


def latest_stored(engine: Engine, symbols: list[str], interval: str, source: str) -> dict[str, pd.Timestamp]:
    """Newest stored bar per symbol for one interval and source (for --since last)."""
    query = (
        select(MarketData.symbol, func.max(MarketData.timestamp))
        .where(MarketData.symbol.in_(symbols), MarketData.interval == interval, MarketData.source == source)
        .group_by(MarketData.symbol)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: dict[str, pd.Timestamp] = {}
    for symbol, newest in rows:
        if newest is not None:
            stamp = pd.Timestamp(newest)
            out[symbol] = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return out


def merge_summaries(parts: list[IngestSummary]) -> IngestSummary:
    total = IngestSummary()
    for part in parts:
        total.symbols.update(part.symbols)
        total.rejects.extend(part.rejects)
        total.failures.update(part.failures)
        total.interval = total.interval or part.interval
        total.source = total.source or part.source
        total.aborted = total.aborted or part.aborted
    return total
