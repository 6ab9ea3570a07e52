"""feature_engineered_data through a Core table built from the catalog: read, delete and bulk write.

Writes go through binary COPY on PostgreSQL and executemany on SQLite. The ORM class
FeatureEngineeredData maps only the spec's columns; every catalog column is reached through
``feature_table`` below, so the catalog stays the one place that lists features.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    Double,
    Engine,
    MetaData,
    String,
    Table,
    select,
)
from sqlalchemy.engine import Connection

from workstation.db import partitions
from workstation.db.types import BigId, UTCDateTime
from workstation.errors import WorkstationError
from workstation.features.catalog import FEATURE_NAMES, FEATURE_VERSION
from workstation.features.copy_binary import HEADER, TRAILER, encode_rows
from workstation.features.spec import FloatArray

BAR_FIELDS = ("open", "high", "low", "close", "volume")

_metadata = MetaData()
feature_table = Table(
    "feature_engineered_data",
    _metadata,
    Column("id", BigId, primary_key=True),
    Column("symbol", String(32), nullable=False),
    Column("interval", String(8), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("source", String(32), nullable=False),
    *(Column(name, Double) for name in BAR_FIELDS),
    *(Column(name, Double) for name in FEATURE_NAMES),
    Column("feature_version", String(16), nullable=False),
)

# Column order of every write: keys, the bar, the catalog, the version.
WRITE_COLUMNS = ("symbol", "interval", "timestamp", "source", *BAR_FIELDS, *FEATURE_NAMES, "feature_version")
_READABLE = frozenset((*BAR_FIELDS, *FEATURE_NAMES))


def load_features(
    engine: Engine,
    symbol: str,
    interval: str = "1d",
    *,
    columns: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    feature_version: str = FEATURE_VERSION,
) -> pd.DataFrame:
    """Stored features of one symbol, oldest first, float64 (NaN where NULL), indexed by UTC bar time.

    ``columns`` picks catalog features (and/or open, high, low, close, volume); default: the whole catalog.
    """
    wanted = list(FEATURE_NAMES) if columns is None else list(columns)
    unknown = [c for c in wanted if c not in _READABLE]
    if unknown:
        raise WorkstationError(f"unknown feature column(s): {', '.join(unknown)} (see 'workstation features list')")
    t = feature_table
    query = select(t.c.timestamp, *(t.c[c] for c in wanted)).where(
        t.c.symbol == symbol, t.c.interval == interval, t.c.feature_version == feature_version
    )
    if start is not None:
        query = query.where(t.c.timestamp >= start)
    if end is not None:
        query = query.where(t.c.timestamp <= end)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(t.c.timestamp)).all()
    index = pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], utc=True), name="timestamp")
    values = np.array([r[1:] for r in rows], dtype=np.float64).reshape(len(rows), len(wanted))
    return pd.DataFrame(values, index=index, columns=wanted)


def write_rows(
    conn: Connection,
    *,
    symbol: str,
    interval: str,
    source: str,
    version: str,
    timestamps: pd.DatetimeIndex,
    bars: FloatArray,
    features: FloatArray,
) -> int:
    """Insert rows (bars: n×5 OHLCV, features: n×catalog) in the caller's transaction; returns the row count."""
    n = len(timestamps)
    if n == 0:
        return 0
    if conn.dialect.name == "postgresql":
        # On its own connection: the feature table has no foreign key, so creating a range never waits
        # for the caller's transaction.
        partitions.ensure_partitions(conn.engine, "feature_engineered_data", timestamps, like="market_data")
        _copy_postgres(conn, symbol, interval, source, version, timestamps, np.hstack([bars, features]))
    else:
        insert_rows_sqlite(conn, symbol, interval, source, version, timestamps, np.hstack([bars, features]))
    return n


def _copy_postgres(
    conn: Connection,
    symbol: str,
    interval: str,
    source: str,
    version: str,
    timestamps: pd.DatetimeIndex,
    values: FloatArray,
) -> None:
    stamps_us = timestamps.tz_convert("UTC").as_unit("us").asi8
    copy_rows(conn, [encode_rows((symbol, interval), stamps_us, (source,), values, (version,))])


def copy_rows(conn: Connection, bodies: list[bytes]) -> None:
    """One binary COPY of pre-encoded row bodies (``copy_binary.encode_rows`` output) on PostgreSQL."""
    columns = ", ".join(f'"{c}"' for c in WRITE_COLUMNS)
    dbapi: Any = conn.connection.dbapi_connection
    with (
        dbapi.cursor() as cursor,
        cursor.copy(f"COPY feature_engineered_data ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(HEADER)
        for body in bodies:
            copy.write(body)
        copy.write(TRAILER)


def insert_rows_sqlite(
    conn: Connection,
    symbol: str,
    interval: str,
    source: str,
    version: str,
    timestamps: pd.DatetimeIndex,
    values: FloatArray,
) -> None:
    # UTCDateTime keeps naive UTC text on SQLite in SQLAlchemy's format; the join with market_data compares it.
    stamps = timestamps.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S.%f")
    cells = values.astype(object)
    cells[np.isnan(values)] = None
    rows = [(symbol, interval, stamp, source, *row, version) for stamp, row in zip(stamps, cells.tolist(), strict=True)]
    columns = ", ".join(f'"{c}"' for c in WRITE_COLUMNS)
    marks = ", ".join("?" for _ in WRITE_COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO feature_engineered_data ({columns}) VALUES ({marks})", rows)
