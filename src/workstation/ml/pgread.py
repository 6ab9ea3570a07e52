"""Exact and fast reads of feature rows from PostgreSQL: binary COPY read by numpy as fixed-width records.

Text COPY needs a decimal-to-binary parse of every value, and pandas' fast parser is not correctly
rounded: about a third of the values came back 1 ULP off, so the same bar read here and through the
driver gave different model inputs (and confidences). Binary COPY sends the IEEE 754 bits themselves.

Every field is made fixed-width in the SELECT — the symbol as its 1-based position in the requested
list, the bar time as timestamptz (8 bytes), NULL as NaN, every number as float8 — so the payload is an
array of identical records (framing in :mod:`workstation.db.pgbinary`) that numpy views without parsing.
A NULL and a stored NaN both read as NaN, as they did through the driver.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from workstation.db.pgbinary import HEADER, PG_EPOCH_US, TRAILER

SIGNATURE = HEADER[:11]
_US_TO_NS = 1000


@dataclass(frozen=True)
class BinaryRows:
    """The rows as arrays: ``symbol_index`` (0-based into the requested symbols), ``timestamp_ns`` (UTC,
    nanoseconds since 1970) and one float64 array per column (read-only views into the COPY payload)."""

    symbol_index: NDArray[np.int32]
    timestamp_ns: NDArray[np.int64]
    columns: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.symbol_index)


def _record_dtype(n_doubles: int) -> np.dtype[np.void]:
    fields: list[tuple[str, str]] = [
        ("count", ">i2"),
        ("sym_len", ">i4"),
        ("sym", ">i4"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
    ]
    for j in range(n_doubles):
        fields += [(f"len{j}", ">i4"), (f"v{j}", ">f8")]
    return np.dtype(fields)


def _body(payload: bytearray) -> memoryview:
    """The tuples between the header (with its extension area) and the trailer."""
    if bytes(payload[: len(SIGNATURE)]) != SIGNATURE:
        raise RuntimeError("binary COPY payload without the PGCOPY signature")
    (extension,) = struct.unpack_from(">i", payload, len(SIGNATURE) + 4)
    start = len(SIGNATURE) + 8 + extension
    if bytes(payload[-len(TRAILER) :]) != TRAILER:
        raise RuntimeError("binary COPY payload without its trailer")
    return memoryview(payload)[start : len(payload) - len(TRAILER)]


def read_feature_rows(
    engine: Engine,
    table: str,
    symbols: Sequence[str],
    sources: Sequence[str],
    columns: Sequence[str],
    where: str,
    params: Sequence[object],
) -> BinaryRows:
    """Rows of ``table`` for each (symbols[i], sources[i]) pair matching ``where`` (SQL over the table's
    columns with %s placeholders bound to ``params``), ``columns`` read as exact float64."""
    cells = ", ".join(f"COALESCE(CAST(f.\"{c}\" AS double precision), 'NaN')" for c in columns)
    query = (
        f"SELECT CAST(s.k - 1 AS integer), f.timestamp, {cells} "
        "FROM unnest(CAST(%s AS text[]), CAST(%s AS text[])) WITH ORDINALITY AS s(symbol, source, k) "
        f"CROSS JOIN LATERAL (SELECT * FROM {table} WHERE symbol = s.symbol AND source = s.source AND {where}) AS f"
    )
    payload = bytearray()
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        statement = f"COPY ({query}) TO STDOUT (FORMAT binary)"
        with raw.cursor() as cursor, cursor.copy(statement, [list(symbols), list(sources), *params]) as copy:
            for chunk in copy:
                payload += chunk
    dtype = _record_dtype(len(columns))
    body = _body(payload)
    if len(body) % dtype.itemsize:
        raise RuntimeError("binary COPY rows are not the fixed width expected (a column is not a number?)")
    records = np.frombuffer(body, dtype=dtype)
    if len(records) and (
        np.any(records["count"] != 2 + len(columns))
        or np.any(records["sym_len"] != 4)
        or np.any(records["ts_len"] != 8)
    ):
        raise RuntimeError("binary COPY rows do not have the expected fields")
    timestamps = (records["ts"].astype(np.int64) + PG_EPOCH_US) * _US_TO_NS
    return BinaryRows(
        records["sym"].astype(np.int32),
        timestamps,
        {name: records[f"v{j}"] for j, name in enumerate(columns)},
    )
