"""Backtest inputs: stored bars, or a CSV file read in memory exactly as ``ingest csv`` would store it.

A file goes through the one bar reader (market.providers.csv: layouts, encodings, delimiters, decimal
marks, date orders), the same validation (rejected rows are reported, the good ones kept) and the same
split handling, and its prices come out as the database would return them. So backtesting a file, or
the same file after ``ingest csv``, trades identical bars. Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from workstation.errors import InvalidInputError, RefusedError
from workstation.market.bars import bars_as_stored, load_bars
from workstation.market.ingest import IngestSummary, prepare_batch, read_csv_batch
from workstation.market.providers.csv_format import CsvFormat


@dataclass
class CsvBars:
    """The bars of a file, per symbol, and what reading it found (rejects, split decisions, no volume)."""

    bars: dict[str, pd.DataFrame]
    summary: IngestSummary


def csv_bars(
    path: Path,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    tz: str | None = None,
    columns: Mapping[str, str] | None = None,
    fmt: CsvFormat | None = None,
    no_volume: bool = False,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CsvBars:
    """One symbol's bars from a file: its only series, or the one ``symbol`` picks from a long file."""
    batch, used_interval = read_csv_batch(
        path, symbol=symbol, interval=interval, tz=tz, columns=columns, fmt=fmt, no_volume=no_volume
    )
    held = sorted({str(s) for s in batch.bars["symbol"].unique()} | {r.symbol for r in batch.rejects if r.symbol})
    if len(held) > 1:  # a long file: backtesting its series as one would trade a chimera
        raise InvalidInputError(f"{path.name} holds {len(held)} symbols ({', '.join(held)}): pick one with --symbol")
    prepared = prepare_batch(batch, interval=used_interval, source="csv")
    groups = prepared.bars.groupby("symbol", sort=True)
    bars = {str(name): _clip(bars_as_stored(group), start, end) for name, group in groups}
    if not bars:
        raise RefusedError(f"{path.name}: no valid bars ({prepared.summary.rejected} rows rejected)")
    return CsvBars(bars, prepared.summary)


def stored_bars(
    engine: Engine, symbol: str, interval: str = "1d", *, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    frame = load_bars(engine, symbol, interval, start=start, end=end)
    if frame.empty:
        raise RefusedError(f"no stored {interval} bars for {symbol}; ingest them first or pass --csv")
    return frame


def _clip(frame: pd.DataFrame, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    if start is not None:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame.index <= pd.Timestamp(end)]
    if frame.empty:
        raise RefusedError("no bars in the requested date range")
    return frame
