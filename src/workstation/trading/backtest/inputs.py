"""Backtest inputs: stored bars, or a CSV file in the Yahoo layout (Date,Open,High,Low,Close,Adj Close,Volume).

The CSV reader is deliberately minimal and local to backtests: raw (unadjusted) OHLCV, dates as
UTC midnight. The full CSV ingest with validation lives in the market package.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from workstation.errors import WorkstationError
from workstation.market.bars import load_bars

_REQUIRED = ("open", "high", "low", "close", "volume")


def read_csv_bars(path: Path, *, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    if not path.is_file():
        raise WorkstationError(f"no such CSV file: {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise WorkstationError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    frame.columns = [str(c).strip().lower().replace(" ", "_") for c in frame.columns]
    time_column = next((c for c in ("date", "datetime", "timestamp", "time") if c in frame.columns), None)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if time_column is None or missing:
        raise WorkstationError(
            f"{path.name}: expected columns Date,Open,High,Low,Close,Volume; missing {', '.join(missing) or 'Date'}"
        )
    stamps = pd.to_datetime(frame[time_column], utc=True, errors="coerce")
    bad = stamps.isna() | frame[list(_REQUIRED)].isna().any(axis=1)
    if bool(bad.all()):
        raise WorkstationError(f"{path.name}: no usable rows")
    frame = frame.loc[~bad, list(_REQUIRED)].astype("float64")
    frame.index = pd.DatetimeIndex(stamps[~bad], name="timestamp")
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    return _clip(frame, start, end)


def stored_bars(
    engine: Engine, symbol: str, interval: str = "1d", *, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    frame = load_bars(engine, symbol, interval, start=start, end=end)
    if frame.empty:
        raise WorkstationError(f"no stored {interval} bars for {symbol}; ingest them first or pass --csv")
    return frame


def _clip(frame: pd.DataFrame, start: datetime | None, end: datetime | None) -> pd.DataFrame:
    if start is not None:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame.index <= pd.Timestamp(end)]
    if frame.empty:
        raise WorkstationError("no bars in the requested date range")
    return frame
