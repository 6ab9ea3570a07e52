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


def _constant(values: pd.Series) -> bool:
    array = values.to_numpy()
    return len(array) == 0 or bool((array == array[0]).all())


def validate_bars(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Reject]]:
    """Split ``raw`` (bar-frame columns, values possibly text or missing) into good bars and rejects.

    A row may fail several checks; its reason lists them all. Of duplicate bars (same symbol, interval,
    timestamp and source) the first is kept and the later ones are rejected, naming the kept row.
    """
    if raw.empty:
        return normalise_bars(raw.assign(volume=pd.Series(dtype="int64"))), []
    frame = raw.reset_index(drop=True)
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
    ok = np.ones(len(frame), dtype=bool)
    ok[list(problems)] = False
    # Only the key columns of the candidate rows are looked at for duplicates, and the good frame is
    # built once from masked arrays: copying and re-consolidating the whole frame cost more than the checks.
    keys = ["symbol", "interval", "timestamp", "source"]
    columns = {k: (timestamps if k == "timestamp" else frame[k]) for k in keys}
    candidates = pd.DataFrame({k: v.array[ok] for k, v in columns.items()}, index=np.flatnonzero(ok))
    # A key column holding one value everywhere (the usual interval and source) cannot tell bars apart.
    varying = [k for k in keys if k == "timestamp" or not _constant(candidates[k])]
    duplicated = candidates.duplicated(varying, keep="first").to_numpy() if varying else np.zeros(0, dtype=bool)
    if duplicated.any():
        candidates["row"] = frame["row"].to_numpy()[ok]
        first_rows = candidates.drop_duplicates(keys, keep="first").set_index(keys)["row"]
        for index in candidates.index[duplicated]:
            key = tuple(candidates.loc[index, keys])
            problems.setdefault(int(index), []).append(
                f"duplicate timestamp {candidates.loc[index, 'timestamp']} (kept row {first_rows[key]})"
            )
        ok[list(problems)] = False

    row_values, symbol_values = frame["row"].to_numpy(), frame["symbol"].to_numpy()
    rejects = [
        Reject(
            row=None if pd.isna(row_values[i]) else int(row_values[i]),
            symbol=None if pd.isna(symbol_values[i]) else str(symbol_values[i]),
            reason="; ".join(p),
        )
        for i, p in sorted(problems.items())
    ]
    good = pd.DataFrame(
        {
            "row": frame["row"].array[ok],
            "symbol": frame["symbol"].array[ok],
            "interval": frame["interval"].array[ok],
            "timestamp": timestamps.array[ok],
            **{c: numbers[c].to_numpy()[ok] for c in PRICE_COLUMNS},
            "volume": np.round(numbers["volume"].to_numpy()[ok]).astype(np.int64),
            "source": frame["source"].array[ok],
        }
    )
    return normalise_bars(good), rejects
