"""Writing cleaned rows to the database: COPY on PostgreSQL, executemany on SQLite, one transaction per batch."""

from __future__ import annotations

import contextlib
import json
import operator
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from workstation.db import partitions
from workstation.monitoring.rows import SHAPES

Row = tuple[str, dict[str, Any]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_DATA_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.IntegrityError,
    sa_exc.DataError,
    psycopg.IntegrityError,
    psycopg.DataError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
    TypeError,
    ValueError,
    KeyError,
)


def is_data_error(exc: BaseException) -> bool:
    """True when the rows themselves were refused (retrying will not help); False for an unreachable database."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        return isinstance(exc.orig, _DATA_ERRORS)
    return isinstance(exc, _DATA_ERRORS)


def _grouped(rows: Sequence[Row]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for table, row in rows:
        grouped.setdefault(table, []).append(row)
    return grouped


class DatabaseSink:
    """Inserts batches of log rows for the writer thread (never called from the logging caller).

    On PostgreSQL the log tables are partitioned by month (0011): the month ranges of a batch's oldest
    and newest rows are made sure of first (a spill replay may bring rows of a month with no range, even
    one a prune dropped); should a range in between be missing, COPY's "no partition" refusal — which
    would otherwise count as bad rows — makes every row's range and the batch is written once more. A
    range that cannot be created raises PartitionError, which the writer treats as an outage (spill, retry).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgresql = engine.dialect.name == "postgresql"

    def write(self, rows: Sequence[Row]) -> None:
        if not rows:
            return
        grouped = _grouped(rows)
        if not self.postgresql:
            self._write(grouped)
            return
        self._ensure_ranges(grouped, every_row=False)
        try:
            self._write(grouped)
        except Exception as exc:
            if not partitions.is_missing_partition(exc):
                raise
            partitions.forget(self.engine)
            self._ensure_ranges(grouped, every_row=True)
            self._write(grouped)

    def _ensure_ranges(self, grouped: dict[str, list[dict[str, Any]]], *, every_row: bool) -> None:
        for table, rows in grouped.items():
            times = [row["timestamp"] for row in rows]
            # The hot path compares the datetimes and converts only the two extremes (naive and aware times
            # mixed cannot be compared: then every one is converted).
            if not every_row:
                with contextlib.suppress(TypeError):
                    times = [min(times), max(times)]
            wanted = np.array([_micros(t) for t in times], dtype=np.int64)
            partitions.ensure_partitions(self.engine, table, wanted)

    def _write(self, grouped: dict[str, list[dict[str, Any]]]) -> None:
        with self.engine.connect() as conn:
            dbapi = conn.connection.driver_connection
            try:
                if self.postgresql:
                    self._copy(dbapi, grouped)
                else:
                    self._executemany(dbapi, grouped)
            except BaseException as exc:
                _rollback_quietly(dbapi)
                if not is_data_error(exc):
                    conn.invalidate()  # a half-dead connection must not go back to the pool
                raise

    @staticmethod
    def _copy(dbapi: Any, grouped: dict[str, list[dict[str, Any]]]) -> None:
        with dbapi.cursor() as cursor:
            for table, rows in grouped.items():
                columns = SHAPES[table].columns
                names = ", ".join(f'"{c}"' for c in columns)
                values = operator.itemgetter(*columns)
                meta = columns.index("metadata")
                dumps = json.dumps
                with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    write = copy.write_row
                    for row in rows:
                        record = values(row)
                        if record[meta] is not None:  # jsonb travels as its text
                            record = (*record[:meta], dumps(record[meta], ensure_ascii=False), *record[meta + 1 :])
                        write(record)
        dbapi.commit()

    @staticmethod
    def _executemany(dbapi: Any, grouped: dict[str, list[dict[str, Any]]]) -> None:
        cursor = dbapi.cursor()
        try:
            for table, rows in grouped.items():
                columns = SHAPES[table].columns
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                    [[_sqlite_value(row[c]) for c in columns] for row in rows],
                )
            dbapi.commit()
        finally:
            cursor.close()


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:  # the house rule is UTC; a naive time must not make a row unwritable
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _rollback_quietly(dbapi: Any) -> None:
    with contextlib.suppress(Exception):  # the connection is being discarded anyway
        dbapi.rollback()


def _sqlite_value(value: Any) -> Any:
    # The same storage forms SQLAlchemy uses on SQLite: naive-UTC ISO text, JSON text, floats.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return float(value)
    return value
