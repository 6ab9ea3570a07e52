"""PostgreSQL binary COPY rows for market_data, built with numpy instead of a Python loop per row.

Rows whose text fields (symbol, interval, source) have the same byte lengths have the same size, so
each such class — usually one or two per batch, not one per symbol — is one numpy structured array
written as bytes. Prices go over the wire as NUMERIC in PostgreSQL's base-10000 digit form with a
fixed layout (three integer groups, two fraction groups, scale 6), which the server normalises; that
matches the NUMERIC(18,6) columns exactly, so stored and incoming values compare equal.

``stored_bar_records`` reads the other direction: the packed bytes the reload comparison asks the
server for (see pgwrite), one fixed-size big-endian record per stored bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workstation.db.pgbinary import HEADER, PG_EPOCH_US, TRAILER

COPY_COLUMNS = ("symbol", "interval", "timestamp", "open", "high", "low", "close", "volume", "source")
PRICES = ("open", "high", "low", "close")
MICROS = 1_000_000  # NUMERIC(18,6): a price is a whole number of millionths
_NUMERIC_DIGITS = 5
_NUMERIC_LEN = 8 + 2 * _NUMERIC_DIGITS
_PRICE_LIMIT = 10**12
# One stored bar as market_data.bar_record holds it (generated, migration 0017): timestamptz_send, then
# int8send of each price in millionths and of the volume. The same layout serves the incoming side of
# the ingest's comparison.
STORED_BAR = np.dtype([("timestamp", ">i8"), *((p, ">i8") for p in PRICES), ("volume", ">i8")])


def _row_dtype(symbol: int, interval: int, source: int) -> np.dtype[np.void]:
    fields: list[tuple[str, str] | tuple[str, str, tuple[int]]] = [("nfields", ">i2")]
    fields += [("l_symbol", ">i4"), *_text("symbol", symbol)]
    fields += [("l_interval", ">i4"), *_text("interval", interval)]
    fields += [("l_timestamp", ">i4"), ("timestamp", ">i8")]
    for price in PRICES:
        fields += [(f"l_{price}", ">i4"), (f"{price}_head", ">i2", (4,)), (price, ">i2", (_NUMERIC_DIGITS,))]
    fields += [("l_volume", ">i4"), ("volume", ">i8")]
    fields += [("l_source", ">i4"), *_text("source", source)]
    return np.dtype(fields)


def _text(name: str, size: int) -> list[tuple[str, str]]:
    """A text field of ``size`` bytes; an empty text is just its length word."""
    return [(name, f"S{size}")] if size else []


def price_micros(values: np.ndarray) -> np.ndarray:
    """Prices as int64 millionths, rounded the way they are stored."""
    return np.round(np.asarray(values, dtype=np.float64) * MICROS).astype(np.int64)


def pg_timestamps(values: pd.Series) -> np.ndarray:
    """tz-aware timestamps as int64 microseconds since 2000-01-01 UTC (PostgreSQL's timestamptz)."""
    return pd.DatetimeIndex(values).as_unit("us").asi8 - PG_EPOCH_US


def _numeric_digits(micro: np.ndarray) -> np.ndarray:
    """Positive prices (< 1e12) in millionths as base-10000 digits: 3 integer groups, 2 fraction groups."""
    if len(micro) and (micro.min() < 0 or micro.max() >= _PRICE_LIMIT * MICROS):
        raise ValueError("prices must be validated (0 <= price < 1e12) before COPY")
    whole, frac = np.divmod(micro, MICROS)
    digits = np.empty((len(micro), _NUMERIC_DIGITS), dtype=">i2")
    digits[:, 0] = whole // 100_000_000
    digits[:, 1] = (whole // 10_000) % 10_000
    digits[:, 2] = whole % 10_000
    digits[:, 3] = frac // 100
    digits[:, 4] = (frac % 100) * 100
    return digits


def _codes(values: pd.Series) -> tuple[np.ndarray, list[bytes]]:
    codes, uniques = pd.factorize(values)
    return codes, [str(u).encode() for u in uniques]


def encode_copy_binary(bars: pd.DataFrame) -> bytes:
    """The whole COPY … (FORMAT BINARY) payload for ``bars`` in the column order ``COPY_COLUMNS``."""
    texts = {name: _codes(bars[name]) for name in ("symbol", "interval", "source")}
    lengths = {name: np.array([len(u) for u in uniques], dtype=np.int64) for name, (_, uniques) in texts.items()}
    row_lengths = {name: lengths[name][codes] for name, (codes, _) in texts.items()}
    stamps = pg_timestamps(bars["timestamp"])
    digits = {p: _numeric_digits(price_micros(bars[p].to_numpy())) for p in PRICES}
    volume = bars["volume"].to_numpy(dtype=np.int64)
    head = np.array([_NUMERIC_DIGITS, 2, 0, 6], dtype=">i2")  # ndigits, weight, sign, dscale
    # Rows are grouped by the byte lengths of their three text fields; each group has one row size.
    classes = pd.DataFrame(row_lengths).groupby(["symbol", "interval", "source"], sort=False).indices
    parts = [HEADER]
    for lengths_key, where in classes.items():
        l_sym, l_ivl, l_src = (int(n) for n in lengths_key)  # type: ignore[attr-defined]
        rows = np.empty(len(where), dtype=_row_dtype(l_sym, l_ivl, l_src))
        rows["nfields"] = len(COPY_COLUMNS)
        for name, size in (("symbol", l_sym), ("interval", l_ivl), ("source", l_src)):
            codes, uniques = texts[name]
            rows[f"l_{name}"] = size
            if size:
                rows[name] = np.array(uniques, dtype=f"S{size}")[codes[where]]
        rows["l_timestamp"] = 8
        rows["timestamp"] = stamps[where]
        for price in PRICES:
            rows[f"l_{price}"] = _NUMERIC_LEN
            rows[f"{price}_head"] = head
            rows[price] = digits[price][where]
        rows["l_volume"] = 8
        rows["volume"] = volume[where]
        parts.append(rows.tobytes())
    parts.append(TRAILER)
    return b"".join(parts)


def incoming_records(bars: pd.DataFrame) -> np.ndarray:
    """``bars`` in the ``STORED_BAR`` layout (native byte order), to compare with stored records."""
    out = np.empty(len(bars), dtype=STORED_BAR.newbyteorder("="))
    out["timestamp"] = pg_timestamps(bars["timestamp"])
    for price in PRICES:
        out[price] = price_micros(bars[price].to_numpy())
    out["volume"] = bars["volume"].to_numpy(dtype=np.int64)
    return out


def stored_bar_records(packed: bytes) -> np.ndarray:
    """The packed bytes of stored bars as a structured array (native byte order)."""
    return np.frombuffer(packed, dtype=STORED_BAR).astype(STORED_BAR.newbyteorder("="))
