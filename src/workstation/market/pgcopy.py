"""PostgreSQL binary COPY rows for market_data, built with numpy instead of a Python loop per row.

Every row of one (symbol, interval, source) group has the same size, so a group is one numpy structured
array written as bytes. Prices go over the wire as NUMERIC in PostgreSQL's base-10000 digit form with a
fixed layout (three integer groups, two fraction groups, scale 6), which the server normalises; that
matches the NUMERIC(18,6) columns exactly, so stored and incoming values compare equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COPY_COLUMNS = ("symbol", "interval", "timestamp", "open", "high", "low", "close", "volume", "source")
_HEADER = b"PGCOPY\n\xff\r\n\x00" + np.array([0, 0], dtype=">i4").tobytes()
_TRAILER = np.array([-1], dtype=">i2").tobytes()
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in microseconds since 1970
_NUMERIC_DIGITS = 5
_NUMERIC_LEN = 8 + 2 * _NUMERIC_DIGITS
_PRICE_LIMIT = 10**12


def _row_dtype(symbol: bytes, interval: bytes, source: bytes) -> np.dtype[np.void]:
    fields: list[tuple[str, str] | tuple[str, str, tuple[int]]] = [("nfields", ">i2")]
    fields += [("l_symbol", ">i4"), ("symbol", f"S{len(symbol)}")]
    fields += [("l_interval", ">i4"), ("interval", f"S{len(interval)}")]
    fields += [("l_timestamp", ">i4"), ("timestamp", ">i8")]
    for price in ("open", "high", "low", "close"):
        fields += [(f"l_{price}", ">i4"), (f"{price}_head", ">i2", (4,)), (price, ">i2", (_NUMERIC_DIGITS,))]
    fields += [("l_volume", ">i4"), ("volume", ">i8")]
    fields += [("l_source", ">i4"), ("source", f"S{len(source)}")]
    return np.dtype(fields)


def _numeric_digits(values: np.ndarray) -> np.ndarray:
    """Positive prices (< 1e12) as base-10000 digits: 3 integer groups then 6 decimals in 2 groups."""
    micro = np.round(values * 1_000_000).astype(np.int64)
    if len(micro) and (micro.min() < 0 or micro.max() >= _PRICE_LIMIT * 1_000_000):
        raise ValueError("prices must be validated (0 <= price < 1e12) before COPY")
    whole, frac = np.divmod(micro, 1_000_000)
    digits = np.empty((len(values), _NUMERIC_DIGITS), dtype=np.int64)
    digits[:, 0] = whole // 100_000_000
    digits[:, 1] = (whole // 10_000) % 10_000
    digits[:, 2] = whole % 10_000
    digits[:, 3] = frac // 100
    digits[:, 4] = (frac % 100) * 100
    return digits


def _encode_group(group: pd.DataFrame, symbol: str, interval: str, source: str) -> bytes:
    sym, ivl, src = (s.encode() for s in (symbol, interval, source))
    rows = np.zeros(len(group), dtype=_row_dtype(sym, ivl, src))
    rows["nfields"] = len(COPY_COLUMNS)
    rows["l_symbol"], rows["symbol"] = len(sym), sym
    rows["l_interval"], rows["interval"] = len(ivl), ivl
    rows["l_source"], rows["source"] = len(src), src
    stamps = group["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    rows["l_timestamp"] = 8
    rows["timestamp"] = stamps.astype(np.int64) - _PG_EPOCH_US
    # NUMERIC header: ndigits, weight (index of the first group counted from the decimal point), sign, dscale.
    head = np.array([_NUMERIC_DIGITS, 2, 0, 6], dtype=np.int64)
    for price in ("open", "high", "low", "close"):
        rows[f"l_{price}"] = _NUMERIC_LEN
        rows[f"{price}_head"] = head
        rows[price] = _numeric_digits(group[price].to_numpy(dtype=np.float64))
    rows["l_volume"] = 8
    rows["volume"] = group["volume"].to_numpy(dtype=np.int64)
    return rows.tobytes()


def encode_copy_binary(bars: pd.DataFrame) -> bytes:
    """The whole COPY … (FORMAT BINARY) payload for ``bars`` in the column order ``COPY_COLUMNS``."""
    parts = [_HEADER]
    for (symbol, interval, source), group in bars.groupby(["symbol", "interval", "source"], sort=False):
        parts.append(_encode_group(group, str(symbol), str(interval), str(source)))
    parts.append(_TRAILER)
    return b"".join(parts)
