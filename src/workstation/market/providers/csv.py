"""CSV files: Yahoo's layout, long files with a symbol column, unnamed index columns, split columns.

The one reader of bar files: ``ingest csv`` stores what it returns and ``backtest --csv`` trades it in
memory, both after the same validation and split handling. Encoding, delimiter, decimal mark and date
order are detected (see csv_format; ``CsvFormat`` forces them). Columns are found by name (case, accents
and punctuation ignored, English and common European headers); ``mapping`` names them explicitly where
the guess is wrong or impossible, e.g. ``{"timestamp": "Day", "close": "Last"}``. Naive timestamps are
read in ``tz`` (America/New_York unless told); a daily bar's date becomes midnight of that day in ``tz``.
A file without a volume column is read only when the caller says so (``no_volume``): volume is then 0.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from workstation.errors import InvalidInputError
from workstation.market.frame import INTERVALS, ProviderBatch, Reject, empty_splits, is_intraday
from workstation.market.providers.csv_format import (
    CsvFormat,
    decode,
    detect_dayfirst,
    detect_decimal,
    detect_delimiter,
    digits_may_be_grouped,
    to_plain_numbers,
)

DEFAULT_TZ = "America/New_York"

# Canonical field -> accepted header names after folding accents, lower-casing and dropping non-letters;
# English first, then the usual German, French, Spanish and Italian headers.
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("datetime", "timestamp", "date", "time", "t", "dt", "day", "datum", "fecha", "data"),
    "symbol": ("symbol", "ticker", "sym", "code"),
    "open": ("open", "o", "eroffnung", "erster", "ouverture", "apertura"),
    "high": ("high", "h", "hoch", "hochst", "plushaut", "haut", "maximo", "massimo"),
    "low": ("low", "l", "tief", "tiefst", "plusbas", "bas", "minimo"),
    "close": ("close", "c", "last", "schluss", "schlusskurs", "cloture", "dernier", "cierre", "chiusura"),
    "volume": ("volume", "vol", "v", "volumen", "stuck"),
    "split": ("splitratio", "split", "stocksplits", "splits", "splitfactor"),
    "dividend": ("exdividend", "dividend", "dividends"),
}
PRICES = ("open", "high", "low", "close")
REQUIRED = ("timestamp", *PRICES, "volume")
# Price cells looked at to tell a decimal comma from a decimal point.
_DECIMAL_SAMPLE = 200
_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


def _key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()  # Schlußkurs, Clôture
    return re.sub(r"[^a-z]", "", folded.lower().replace("ß", "ss"))


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


def parse_timestamps(values: pd.Series, *, tz: str, daily: bool, dayfirst: bool | None = None) -> pd.Series:
    """Text to UTC timestamps; NaT where a value does not parse.

    ISO text is read as ISO whatever ``dayfirst`` says; other dates in the order ``dayfirst`` gives
    (None: detected from the values, see csv_format.detect_dayfirst).
    """
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
            parsed[retry] = _parse_not_iso(text[naive][retry], dayfirst)
        if daily:
            parsed = parsed.dt.normalize()
        result[naive] = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return result


def _parse_not_iso(text: pd.Series, dayfirst: bool | None) -> pd.Series:
    """31.12.2014, 12/31/2014 15:30, Dec 31 2014, …: one format for the column, then each value left over."""
    order = detect_dayfirst(text.head(5000).tolist()) if dayfirst is None else dayfirst
    with warnings.catch_warnings():
        # pandas warns when the format it guesses from one value contradicts ``dayfirst`` (31.12.2014 under
        # --monthfirst); the order is decided above, for the whole column, and enforced below.
        warnings.filterwarnings("ignore", message="Parsing dates in .* format when dayfirst=", category=UserWarning)
        guessed = _in_order(guess_datetime_format(str(text.iloc[0]), dayfirst=order), order)
    parsed = (
        pd.to_datetime(text, errors="coerce", format=guessed)
        if guessed
        else pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    )
    left = parsed.isna()
    if left.any():  # a value the column's format does not fit (12/31 in a day-first file), read on its own
        parsed[left] = pd.to_datetime(text[left], errors="coerce", format="mixed", dayfirst=order)
    return parsed


def _in_order(fmt: str | None, dayfirst: bool) -> str | None:
    """``fmt`` with its day and month swapped when they are not in the order asked for."""
    if fmt is None or "%d" not in fmt or "%m" not in fmt or (fmt.index("%d") < fmt.index("%m")) == dayfirst:
        return fmt
    return fmt.replace("%d", "%DAY").replace("%m", "%d").replace("%DAY", "%m")


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


class CsvTable(NamedTuple):
    """A file as text cells (header from line 1), its delimiter, and whether a number may be written
    with thousands separators in a decimal-point file (see csv_format.digits_may_be_grouped)."""

    cells: pd.DataFrame
    delimiter: str
    grouped_digits: bool


def read_table(path: Path, fmt: CsvFormat) -> CsvTable:
    """Read the file's text cells in the format given or detected."""
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}")
    text, _encoding = decode(path.read_bytes())
    delimiter = fmt.delimiter or detect_delimiter(text)
    try:
        with warnings.catch_warnings():
            # More fields in a row than in the header: pandas would warn and drop data. Say so instead.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(
                io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, skip_blank_lines=False,
                index_col=False,
            )  # fmt: skip
    except pd.errors.ParserWarning:
        raise InvalidInputError(
            f"{path.name}: rows have more {_describe(delimiter)}-separated fields than the header; "
            "check the delimiter (--delimiter)"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"{path.name}: not a readable CSV file ({str(exc).splitlines()[0]})") from None
    return CsvTable(table, delimiter, digits_may_be_grouped(text, delimiter))


def _describe(delimiter: str) -> str:
    return {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe"}.get(delimiter, repr(delimiter))


def _looks_like_times(sample: pd.Series, dayfirst: bool | None) -> bool:
    parsed = parse_timestamps(sample, tz="UTC", daily=False, dayfirst=dayfirst)
    return bool(len(sample)) and float(parsed.notna().mean()) > 0.8


def read_bars_csv(
    path: Path | str,
    *,
    symbol: str | None = None,
    interval: str | None = None,
    source: str = "csv",
    tz: str | None = None,
    mapping: Mapping[str, str] | None = None,
    fmt: CsvFormat | None = None,
    no_volume: bool = False,
) -> tuple[ProviderBatch, str]:
    """Read a bar file. Returns the batch and the interval used (given, or detected from the spacing)."""
    path = Path(path)
    fmt = fmt or CsvFormat()
    text, delimiter, grouped_digits = read_table(path, fmt)
    columns = [str(c) for c in text.columns]
    found = detect_columns(columns, mapping)
    if "timestamp" not in found:
        for column in (c for c in columns if _unnamed(c)):
            if _looks_like_times(text[column].head(20), fmt.dayfirst):
                found["timestamp"] = column
                break
    if no_volume and "volume" in found:
        raise InvalidInputError(f"{path.name} has a volume column ({found['volume']!r}); leave out --no-volume")
    missing = [f for f in REQUIRED if f not in found and not (f == "volume" and no_volume)]
    if missing:
        hint = "; without volume data, say so with --no-volume" if missing == ["volume"] else ""
        raise InvalidInputError(
            f"{path.name}: cannot find column(s) {', '.join(missing)} among {', '.join(columns)} "
            f"({_describe(delimiter)}-separated); name them with a mapping such as --columns close=Last{hint}"
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
        if not keep.any():
            held = sorted(s for s in symbols.unique() if isinstance(s, str) and s)
            raise InvalidInputError(f"{path.name} has no rows for {symbol.upper()}; it holds {', '.join(held)}")
        text, lines, symbols = text[keep], lines[keep], symbols[keep]
    tzname = tz or DEFAULT_TZ
    raw_times = text[found["timestamp"]]
    decimal = fmt.decimal or detect_decimal(
        (cell for f in PRICES for cell in text[found[f]].head(_DECIMAL_SAMPLE).tolist()), delimiter
    )
    dayfirst = (
        detect_dayfirst(raw_times.head(5000).tolist(), decimal_comma=decimal == ",")
        if fmt.dayfirst is None
        else fmt.dayfirst
    )
    probe = parse_timestamps(raw_times, tz=tzname, daily=False, dayfirst=dayfirst)
    detected = detect_interval(probe, symbols)
    if interval is None:
        interval = detected or "1d"
    elif interval not in INTERVALS:
        raise InvalidInputError(f"unknown interval {interval!r}: use one of {', '.join(INTERVALS)}")
    elif detected and is_intraday(detected) and not is_intraday(interval):
        raise InvalidInputError(f"{path.name} holds {detected} bars but the interval given is {interval}")
    daily = not is_intraday(interval)
    times = parse_timestamps(raw_times, tz=tzname, daily=True, dayfirst=dayfirst) if daily else probe
    unparsed = times.isna()
    rejects = [
        Reject(int(line), str(sym) or None, f"timestamp does not parse: {value!r}")
        for line, sym, value in zip(lines[unparsed], symbols[unparsed], raw_times[unparsed], strict=True)
    ]
    bad_symbol = symbols.isna() | (symbols == "")
    rejects += [Reject(int(line), None, "symbol missing") for line in lines[bad_symbol & times.notna()]]
    keep = times.notna() & ~bad_symbol
    rewrite = decimal == "," or grouped_digits

    def numbers(field: str) -> pd.Series:
        cells = text.loc[keep, found[field]].str.strip()
        return to_plain_numbers(cells, decimal) if rewrite else cells

    volume = pd.Series("0", index=text.index[keep], dtype="string") if no_volume else numbers("volume")
    bars = pd.DataFrame(
        {
            "row": lines[keep],
            "symbol": symbols[keep],
            "interval": interval,
            "timestamp": times[keep],
            **{f: numbers(f) for f in PRICES},
            "volume": volume,
            "source": source,
        }
    )
    splits = empty_splits()
    if "split" in found:
        ratio = pd.to_numeric(numbers("split"), errors="coerce")
        event = ratio.notna() & (ratio > 0) & ((ratio - 1).abs() > 1e-9)
        splits = pd.DataFrame(
            {"symbol": symbols[keep][event], "timestamp": times[keep][event], "ratio": ratio[event].astype(float)}
        ).reset_index(drop=True)
    batch = ProviderBatch(bars=bars.reset_index(drop=True), splits=splits, rejects=rejects, no_volume=no_volume)
    return batch, interval
