"""CSV files: Yahoo's layout, long files with a symbol column, unnamed index columns, split columns.

Columns are found by name (case and punctuation ignored); ``mapping`` names them explicitly where the
guess is wrong or impossible, e.g. ``{"timestamp": "Day", "close": "Last"}``. Naive timestamps are read
in ``tz`` (America/New_York unless told); a daily bar's date becomes midnight of that day in ``tz``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from workstation.errors import InvalidInputError, WorkstationError
from workstation.market.frame import INTERVALS, ProviderBatch, Reject, empty_splits, is_intraday

DEFAULT_TZ = "America/New_York"

# Canonical field -> accepted header names after lower-casing and dropping non-letters.
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("datetime", "timestamp", "date", "time", "t", "dt", "day"),
    "symbol": ("symbol", "ticker", "sym", "code"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "last"),
    "volume": ("volume", "vol", "v"),
    "split": ("splitratio", "split", "stocksplits", "splits", "splitfactor"),
    "dividend": ("exdividend", "dividend", "dividends"),
}
REQUIRED = ("timestamp", "open", "high", "low", "close", "volume")
_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def detect_columns(columns: list[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Canonical field -> column name. Raises a one-line error naming what is missing."""
    found: dict[str, str] = {}
    explicit = dict(mapping or {})
    for field, column in explicit.items():
        if field not in ALIASES:
            raise InvalidInputError(f"unknown field {field!r} in the column mapping")
        if column not in columns:
            raise InvalidInputError(f"column {column!r} (mapped to {field}) is not in the file")
        found[field] = column
    keys = {column: _key(column) for column in columns}
    for field, aliases in ALIASES.items():
        if field in found:
            continue
        for alias in aliases:  # aliases are in order of preference ("datetime" before "date")
            match = [c for c in columns if keys[c] == alias and c not in found.values()]
            if match:
                found[field] = match[0]
                break
    return found


def _unnamed(column: str) -> bool:
    return column.strip() == "" or column.startswith("Unnamed:")


def parse_timestamps(values: pd.Series, *, tz: str, daily: bool) -> pd.Series:
    """Text to UTC timestamps; NaT where a value does not parse."""
    text = values.astype("string").str.strip()
    aware = text.str.contains(_OFFSET, na=False) & text.str.contains(r"\d[T ]\d", na=False)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if aware.any():
        parsed = pd.to_datetime(text[aware], utc=True, errors="coerce", format="ISO8601")
        if daily:  # the bar's date as its source wrote it, midnight in tz
            parsed = parsed.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
            parsed = parsed.dt.tz_localize(tz).dt.tz_convert("UTC")
        result[aware] = parsed
    naive = ~aware & text.notna() & (text != "")
    if naive.any():
        parsed = pd.to_datetime(text[naive], errors="coerce", format="ISO8601")
        retry = parsed.isna()
        if retry.any():
            parsed[retry] = pd.to_datetime(text[naive][retry], errors="coerce", format="mixed")
        if daily:
            parsed = parsed.dt.normalize()
        result[naive] = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return result


def detect_interval(timestamps: pd.Series, symbols: pd.Series) -> str | None:
    """The most common spacing between consecutive bars of one symbol, as an interval name."""
    frame = pd.DataFrame({"t": timestamps, "s": symbols}).dropna().sort_values(["s", "t"])
    gaps = frame.groupby("s")["t"].diff().dropna()
    gaps = gaps[gaps > pd.Timedelta(0)]
    if gaps.empty:
        return None
    typical = gaps.mode().iloc[0]
    if typical >= pd.Timedelta(hours=20):
        return "1d" if typical < pd.Timedelta(days=5) else ("1wk" if typical < pd.Timedelta(days=20) else "1mo")
    best = min((abs(length - typical), name) for name, length in INTERVALS.items() if length < pd.Timedelta(days=1))
    return best[1]


def symbol_from_filename(path: Path) -> str:
    """'orcl-1995-2014.txt' -> ORCL, 'zipline_csvdir_KO_2012-2014.csv' -> KO: the first short word."""
    tokens = [t for t in re.split(r"[-_. ]", path.stem) if t]
    short = [t for t in tokens if t.isalpha() and len(t) <= 5]
    return (short or tokens or ["UNKNOWN"])[0].upper()


def read_bars_csv(
    path: Path | str,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    source: str = "csv",
    tz: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> tuple[ProviderBatch, str]:
    """Read a bar file. Returns the batch and the interval used (given, or detected from the spacing)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}")
    try:
        text = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise WorkstationError(f"{path.name}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    columns = [str(c) for c in text.columns]
    found = detect_columns(columns, mapping)
    if "timestamp" not in found:
        for column in (c for c in columns if _unnamed(c)):
            sample = text[column].head(20)
            if pd.to_datetime(sample, errors="coerce", format="mixed", utc=True).notna().mean() > 0.8:
                found["timestamp"] = column
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        raise InvalidInputError(
            f"{path.name}: cannot find column(s) {', '.join(missing)} among {', '.join(columns)}; "
            "name them with a mapping such as --columns close=Last",
        )
    if "symbol" not in found and not symbol:
        symbol = symbol_from_filename(path)
    blank = (text == "").all(axis=1)
    lines = pd.Series(np.arange(len(text), dtype=np.int64) + 2, index=text.index)  # header is line 1
    text, lines = text[~blank], lines[~blank]
    symbols = (
        text[found["symbol"]].str.strip().str.upper() if "symbol" in found else pd.Series(symbol, index=text.index)
    )
    if symbol and "symbol" in found:  # --symbol picks one symbol out of a long file
        keep = symbols == symbol.upper()
        text, lines, symbols = text[keep], lines[keep], symbols[keep]
    tzname = tz or DEFAULT_TZ
    raw_times = text[found["timestamp"]]
    probe = parse_timestamps(raw_times, tz=tzname, daily=False)
    detected = detect_interval(probe, symbols)
    if interval is None:
        interval = detected or "1d"
    elif interval not in INTERVALS:
        raise InvalidInputError(f"unknown interval {interval!r}: use one of {', '.join(INTERVALS)}")
    elif detected and is_intraday(detected) and not is_intraday(interval):
        raise InvalidInputError(f"{path.name} holds {detected} bars but the interval given is {interval}")
    daily = not is_intraday(interval)
    times = parse_timestamps(raw_times, tz=tzname, daily=True) if daily else probe
    rejects = [
        Reject(int(line), str(sym) or None, f"timestamp does not parse: {value!r}")
        for line, sym, value, t in zip(lines, symbols, raw_times, times, strict=True)
        if pd.isna(t)
    ]
    bad_symbol = symbols.isna() | (symbols == "")
    rejects += [Reject(int(line), None, "symbol missing") for line in lines[bad_symbol & times.notna()]]
    keep = times.notna() & ~bad_symbol
    bars = pd.DataFrame(
        {
            "row": lines[keep],
            "symbol": symbols[keep],
            "interval": interval,
            "timestamp": times[keep],
            **{f: text.loc[keep, found[f]].str.strip() for f in ("open", "high", "low", "close", "volume")},
            "source": source,
        }
    )
    splits = empty_splits()
    if "split" in found:
        ratio = pd.to_numeric(text.loc[keep, found["split"]], errors="coerce")
        event = ratio.notna() & (ratio > 0) & ((ratio - 1).abs() > 1e-9)
        splits = pd.DataFrame(
            {"symbol": symbols[keep][event], "timestamp": times[keep][event], "ratio": ratio[event].astype(float)}
        ).reset_index(drop=True)
    return ProviderBatch(bars=bars.reset_index(drop=True), splits=splits, rejects=rejects), interval
