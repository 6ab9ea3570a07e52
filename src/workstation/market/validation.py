"""Bar checks: every bad bar is rejected with its source row, symbol and reason; every good bar is kept."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workstation.market.frame import PRICE_COLUMNS, Reject, normalise_bars

# Prices are stored as NUMERIC(18,6); compare them at that precision so a bar that the database
# would store as low == open is not rejected for a difference in the 12th decimal.
PRICE_DECIMALS = 6
MAX_PRICE = 999_999_999_999.0
MAX_VOLUME = 2**63 - 1


def _raw_text(value: object) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:27] + "..."


def validate_bars(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Reject]]:
    """Split ``raw`` (bar-frame columns, values possibly text or missing) into good bars and rejects.

    A row may fail several checks; its reason lists them all. Of duplicate bars (same symbol, interval,
    timestamp and source) the first is kept and the later ones are rejected, naming the kept row.
    """
    if raw.empty:
        return normalise_bars(raw.assign(volume=pd.Series(dtype="int64"))), []
    frame = raw.reset_index(drop=True).copy()
    # Only rows with a problem get an entry; most batches have none, so this stays cheap at 2M rows.
    problems: dict[int, list[str]] = {}

    def flag(mask: np.ndarray | pd.Series, reason: str | pd.Series) -> None:
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        for pos in positions:
            problems.setdefault(int(pos), []).append(reason if isinstance(reason, str) else str(reason.iloc[pos]))

    timestamps = frame["timestamp"]
    if not isinstance(timestamps.dtype, pd.DatetimeTZDtype):
        timestamps = pd.to_datetime(timestamps, utc=True, errors="coerce")
    flag(timestamps.isna(), "timestamp missing or does not parse")
    frame["timestamp"] = timestamps

    numbers: dict[str, pd.Series] = {}
    for column in (*PRICE_COLUMNS, "volume"):
        original = frame[column]
        if pd.api.types.is_numeric_dtype(original.dtype):
            values = original.astype("float64")
            flag(values.isna(), f"{column} missing")
        else:
            values = pd.to_numeric(original, errors="coerce").astype("float64")
            missing = original.isna() | (original.astype(str).str.strip() == "")
            bad = values.isna() & ~missing
            flag(missing, f"{column} missing")
            if bad.any():
                flag(bad, original.map(lambda v, c=column: f"{c} is not a number: {_raw_text(v)!r}"))
        infinite = np.isinf(values)
        flag(infinite, f"{column} is not finite")
        values = values.where(~infinite)
        numbers[column] = values
    for column in PRICE_COLUMNS:
        values = numbers[column].round(PRICE_DECIMALS)
        flag(values <= 0, f"{column} must be > 0")
        flag(values > MAX_PRICE, f"{column} too large")
        numbers[column] = values
    volume = numbers["volume"]
    flag(volume < 0, "volume must be >= 0")
    flag(volume > MAX_VOLUME, "volume too large")
    o, h, lo, c = (numbers[k] for k in PRICE_COLUMNS)
    inverted = h < lo
    flag(inverted, "high < low")
    flag((lo > o) & ~inverted, "low > open")
    flag((lo > c) & ~inverted, "low > close")
    flag((o > h) & ~inverted, "open > high")
    flag((c > h) & ~inverted, "close > high")
    for column, values in numbers.items():
        frame[column] = values

    ok = np.ones(len(frame), dtype=bool)
    ok[list(problems)] = False
    keys = ["symbol", "interval", "timestamp", "source"]
    candidates = frame[ok]
    duplicated = candidates.duplicated(keys, keep="first")
    if duplicated.any():
        first_rows = candidates.drop_duplicates(keys, keep="first").set_index(keys)["row"]
        for index in candidates.index[duplicated]:
            key = tuple(frame.loc[index, keys])
            problems.setdefault(int(index), []).append(
                f"duplicate timestamp {frame.loc[index, 'timestamp']} (kept row {first_rows[key]})"
            )
        ok[list(problems)] = False

    rows, symbols = frame["row"].tolist(), frame["symbol"].tolist()
    rejects = [
        Reject(
            row=None if pd.isna(rows[i]) else int(rows[i]),
            symbol=None if pd.isna(symbols[i]) else str(symbols[i]),
            reason="; ".join(p),
        )
        for i, p in sorted(problems.items())
    ]
    good = frame[ok].copy()
    good["volume"] = good["volume"].round().astype(np.int64)
    return normalise_bars(good), rejects
