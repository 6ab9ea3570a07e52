"""The ingest service: provider → validate → split-adjust → store, with a summary of what happened.

Called by the CLI and by GUI worker threads; every entry point takes a ProgressCallback and a
CancelToken, and returns an ``IngestSummary`` whose ``to_dict()`` is the CLI's JSON summary.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import Engine, func, select

from workstation.db.models import MarketData
from workstation.errors import ConfigurationError, ExitCode, InvalidInputError, WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, no_progress
from workstation.market.corporate_actions import adjust_splits
from workstation.market.frame import INTERVALS, ProviderBatch, Reject, is_intraday
from workstation.market.providers.csv import read_bars_csv
from workstation.market.providers.csv_format import CsvFormat
from workstation.market.store import DEFAULT_BATCH_ROWS, store_bars
from workstation.market.validation import validate_bars

log = logging.getLogger(__name__)


class PreparedBars(NamedTuple):
    """Validated, split-adjusted bars (bar-frame columns) and what happened on the way."""

    bars: pd.DataFrame
    summary: IngestSummary


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
    # True when the file had no volume column (--no-volume): volume was stored as 0.
    no_volume: bool = False

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
    def exit_code(self) -> ExitCode:
        """OK when everything asked for was stored, REFUSED when a symbol failed or a row was rejected."""
        return ExitCode.REFUSED if (self.failures or self.rejects or self.aborted) else ExitCode.OK

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
            "no_volume": self.no_volume,
        }


def prepare_batch(batch: ProviderBatch, *, interval: str | None = None, source: str | None = None) -> PreparedBars:
    """Validate and split-adjust one provider batch in memory: the bars as they would be stored, and a
    summary of what was rejected and decided (nothing stored yet)."""
    summary = IngestSummary(failures=dict(batch.failures), interval=interval, source=source, no_volume=batch.no_volume)
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
        for symbol, first, last in zip(ranges.index, ranges["min"], ranges["max"], strict=True):
            entry = summary.symbols.setdefault(str(symbol), SymbolSummary())
            entry.first, entry.last = first.isoformat(), last.isoformat()
    return PreparedBars(adjusted, summary)


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
    adjusted, summary = prepare_batch(batch, interval=interval, source=source)
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


def read_csv_batch(
    path: Path | str,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    source: str = "csv",
    tz: str | None = None,
    columns: Mapping[str, str] | None = None,
    fmt: CsvFormat | None = None,
    no_volume: bool = False,
) -> tuple[ProviderBatch, str]:
    """A bar CSV read the one way (see providers.csv), refusing a file without bars."""
    _check_source(source)
    batch, used_interval = read_bars_csv(
        path, symbol=symbol, interval=interval, source=source, tz=tz, mapping=columns, fmt=fmt, no_volume=no_volume
    )
    if batch.bars.empty and not batch.rejects:
        raise WorkstationError(f"{Path(path).name}: no bars" + (f" for {symbol}" if symbol else ""))
    return batch, used_interval


def ingest_csv(
    engine: Engine,
    path: Path | str,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    source: str = "csv",
    tz: str | None = None,
    columns: Mapping[str, str] | None = None,
    fmt: CsvFormat | None = None,
    no_volume: bool = False,
    strict: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IngestSummary:
    """Import a bar CSV (see providers.csv for the layouts and formats understood)."""
    batch, used_interval = read_csv_batch(
        path, symbol=symbol, interval=interval, source=source, tz=tz, columns=columns, fmt=fmt, no_volume=no_volume
    )
    return process_batch(
        engine, batch, strict=strict, interval=used_interval, source=source, progress=progress, cancel=cancel
    )


def _check_source(source: str) -> None:
    if not source or len(source) > 32:
        raise InvalidInputError("the source name must be 1 to 32 characters")


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
        total.no_volume = total.no_volume or part.no_volume
    return total


def _symbols(symbols: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(s.strip().upper() for s in symbols if s.strip()))
    if not cleaned:
        raise InvalidInputError("no symbols given")
    too_long = [s for s in cleaned if len(s) > 32]
    if too_long:
        raise InvalidInputError(f"symbol too long: {too_long[0]}")
    return cleaned


def _forgive_empty_increments(batch: ProviderBatch, incremental: set[str]) -> None:
    """With --since last an empty answer means "nothing new yet", not a failure."""
    for symbol in incremental:
        if batch.failures.get(symbol, "").startswith(("Yahoo returned no", "Alpaca returned no")):
            del batch.failures[symbol]


def _mark_up_to_date(summary: IngestSummary, symbols: list[str]) -> None:
    for symbol in symbols:
        if symbol not in summary.failures:
            summary.symbols.setdefault(symbol, SymbolSummary())


def ingest_yahoo(
    engine: Engine,
    symbols: list[str],
    *,
    interval: str = "1d",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    period: str | None = None,
    since_last: bool = False,
    session: Any = None,
    strict: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IngestSummary:
    """Fetch bars and company metadata from Yahoo and store them (source 'yahoo')."""
    from workstation.market.providers.yahoo import HISTORY_LIMIT, SOURCE, YahooRequest, fetch_yahoo
    from workstation.market.symbols import upsert_stock_info

    names = _symbols(symbols)
    request = YahooRequest(interval=interval, start=start, end=end, period=period)
    if since_last:
        step = INTERVALS.get(interval, pd.Timedelta(days=1))
        floor = (
            pd.Timestamp.now(tz="UTC") - HISTORY_LIMIT[interval] + pd.Timedelta(hours=1)
            if interval in HISTORY_LIMIT
            else None
        )
        for symbol, newest in latest_stored(engine, names, interval, SOURCE).items():
            request.starts[symbol] = max(newest + step, floor) if floor is not None else newest + step
    batch, metadata = fetch_yahoo(names, request, session=session, progress=progress, cancel=cancel)
    _forgive_empty_increments(batch, set(request.starts))
    summary = process_batch(
        engine, batch, strict=strict, interval=interval, source=SOURCE, progress=progress, cancel=cancel
    )
    if not summary.aborted:
        stored = [s for s in names if s in summary.symbols and s not in summary.failures]
        with engine.begin() as conn:
            for symbol in stored:
                if metadata.get(symbol):
                    upsert_stock_info(conn, symbol, metadata[symbol], SOURCE)
    _mark_up_to_date(summary, names)
    return summary


def ingest_alpaca(
    engine: Engine,
    symbols: list[str],
    *,
    timeframe: str = "1Day",
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    feed: str = "iex",
    adjustment: str = "split",
    since_last: bool = False,
    client: Any = None,
    strict: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> IngestSummary:
    """Fetch bars from Alpaca's market-data API and store them (source 'alpaca')."""
    from workstation.market.providers.alpaca import SOURCE, TIMEFRAMES, fetch_alpaca

    names = _symbols(symbols)
    interval = TIMEFRAMES.get(timeframe)
    if interval is None:
        raise InvalidInputError(f"unknown timeframe {timeframe!r}: use one of {', '.join(TIMEFRAMES)}")
    if start is None:  # Alpaca's own default is "today"; a useful history is what people expect
        back = pd.DateOffset(years=5) if not is_intraday(interval) else pd.DateOffset(days=30)
        start = (end or pd.Timestamp.now(tz="UTC")).normalize() - back
    starts: dict[str, Any] = {}
    if since_last:
        step = INTERVALS[interval]
        starts = {s: (t + step).to_pydatetime() for s, t in latest_stored(engine, names, interval, SOURCE).items()}
    batch = fetch_alpaca(
        names,
        timeframe=timeframe,
        start=start.to_pydatetime(),
        end=end.to_pydatetime() if end is not None else None,
        feed=feed,
        adjustment=adjustment,
        starts=starts,
        client=client,
        progress=progress,
        cancel=cancel,
    )
    if batch.access_refused:  # the keys or the subscription: exit 2, not a list of failed symbols
        raise ConfigurationError(batch.access_refused)
    _forgive_empty_increments(batch, set(starts))
    summary = process_batch(
        engine, batch, strict=strict, interval=interval, source=SOURCE, progress=progress, cancel=cancel
    )
    _mark_up_to_date(summary, names)
    return summary
