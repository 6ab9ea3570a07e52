"""Keeping the partitioned tables healthy: ranges ahead, an emptied default partition, whole ranges removed.

Contract
* ``create_ahead(engine)`` makes the ranges the next writes will need before anyone writes them: the
  current and next month of every log table, and market_data's and feature_engineered_data's range for
  now and for the start of next month (a year, or a month when the table already gets monthly ranges).
  It then empties any default partition into ranges (see ``drain_defaults``). Run at start-up (CLI
  commands, the window), by ``workstation db upgrade`` and by ``workstation db partitions`` (for cron).
  ``create_ahead_quietly`` logs instead of raising: start-up must not fail over it.
* ``whole_ranges_before`` / ``detach`` / ``drop_detached`` / ``reattach`` serve ``logs prune``: a range wholly
  older than the cutoff is detached (so late rows go to a fresh range instead), archived and dropped,
  or put back when the prune does not finish. DETACH and DROP need ACCESS EXCLUSIVE on the parent for a
  moment; they wait at most ``DDL_LOCK_TIMEOUT`` per attempt and retry, so a long reader never makes them
  queue the log writer behind it for long.
* ``partition_report`` lists every range with its estimated rows and size for ``workstation db partitions``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from workstation.db.partitions import (
    BAR_TABLES,
    FINE_INTERVALS,
    MONTH,
    PARTITIONED_TABLES,
    Micros,
    PartitionError,
    bound_literal,
    column_names,
    ensure_on,
    ensure_partitions,
    forget,
    period,
    read_layouts,
    to_datetime,
    to_micros,
)

log = logging.getLogger(__name__)

DDL_LOCK_TIMEOUT = "2s"
DDL_ATTEMPTS = 5


@dataclass(frozen=True)
class Range:
    table: str
    name: str
    lower: int  # µs since the epoch, inclusive
    upper: int  # exclusive


def ahead_stamps(now: datetime | None = None, months: int = 1) -> Micros:
    """``now`` and the first instant of each of the next ``months`` months (UTC)."""
    current = int(to_micros([now or datetime.now(UTC)])[0])
    stamps = [current]
    for _ in range(months):
        stamps.append(period(stamps[-1], MONTH)[1])
    return np.array(stamps, dtype=np.int64)


def create_ahead(engine: Engine, now: datetime | None = None, months: int = 1) -> list[str]:
    """Create the ranges of now and the next ``months`` months, then drain default partitions; returns names."""
    if engine.dialect.name != "postgresql":
        return []
    stamps = ahead_stamps(now, months)
    created = ensure_partitions(engine, "market_data", stamps)
    created += ensure_partitions(engine, "feature_engineered_data", stamps, like="market_data")
    for table in PARTITIONED_TABLES:
        if table not in BAR_TABLES:
            created += ensure_partitions(engine, table, stamps)
    return created + drain_defaults(engine)


def create_ahead_quietly(engine: Engine) -> list[str]:
    """``create_ahead`` for start-up: a failure is logged, never raised (writes create ranges on demand)."""
    try:
        created = create_ahead(engine)
    except Exception as exc:  # start-up goes on: each write still makes the range it needs
        log.warning("could not create partitions ahead: %s", str(exc).strip().splitlines()[0])
        return []
    if created:
        log.info("created partitions ahead: %s", ", ".join(created))
    return created


def drain_defaults(engine: Engine) -> list[str]:
    """Create the ranges for whatever rows sit in a default partition (the rows move into them)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        layouts = read_layouts(conn)
    created: list[str] = []
    for table, here in layouts.items():
        if not here.partitioned or here.default is None:
            continue
        fine = "bool_or(interval = ANY(%(fine)s))" if table in BAR_TABLES else "true"
        with engine.begin() as conn:
            rows = conn.exec_driver_sql(
                f'SELECT min("timestamp"), {fine} FROM ONLY "{here.default}"'
                " GROUP BY date_trunc('day', \"timestamp\" AT TIME ZONE 'UTC')",
                {"fine": list(FINE_INTERVALS)},
            ).all()
        if rows:
            forget(engine)  # a range another process dropped must not look present in this one's cache
            stamps = to_micros([r[0] for r in rows])
            like = "market_data" if table == "feature_engineered_data" else None
            made = ensure_partitions(engine, table, stamps, monthly=np.array([bool(r[1]) for r in rows]), like=like)
            log.info("moved %s's default-partition rows into %s", table, ", ".join(made) or "existing ranges")
            created += made
    return created


def partition_report(engine: Engine) -> list[dict[str, Any]]:
    """Every range of every partitioned table: bounds, estimated rows and total size (indexes included)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:
        layouts = read_layouts(conn)
        report: list[dict[str, Any]] = []
        for table, here in layouts.items():
            names = [*here.names, *([here.default] if here.default else [])]
            for i, name in enumerate(names):
                rows, size = conn.exec_driver_sql(
                    "SELECT greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid) FROM pg_class c"
                    " WHERE c.oid = to_regclass(%(n)s)",
                    {"n": f'"{name}"'},
                ).one()
                default = i >= len(here.names)
                report.append(
                    {
                        "table": table,
                        "partition": name,
                        "from": None if default else _bound(int(here.lowers[i])),
                        "to": None if default else _bound(int(here.uppers[i])),
                        "rows_estimate": int(rows),
                        "bytes": int(size),
                    }
                )
    return report


def _bound(stamp: int) -> str | None:
    if stamp in (np.iinfo(np.int64).min, np.iinfo(np.int64).max):
        return None
    return to_datetime(stamp).isoformat()


# --- whole ranges for logs prune -----------------------------------------------------------------------


def whole_ranges_before(engine: Engine, table: str, cutoff: datetime) -> list[Range]:
    """The ranges of ``table`` that hold only times before ``cutoff`` (oldest first); none when unpartitioned."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as conn:  # not the cache: another prune may have dropped some meanwhile
        here = read_layouts(conn, (table,))[table]
    if not here.partitioned:
        return []
    limit = int(to_micros([cutoff])[0])
    return [
        Range(table, name, int(lo), int(hi))
        for name, lo, hi in zip(here.names, here.lowers, here.uppers, strict=True)
        if hi <= limit
    ]


def _ddl(engine: Engine, statements: list[str]) -> None:
    """Run DDL that needs ACCESS EXCLUSIVE on a busy parent: short lock waits, retried."""
    for attempt in range(1, DDL_ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'")
                for statement in statements:
                    conn.exec_driver_sql(statement)
            return
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03" or attempt == DDL_ATTEMPTS:  # lock_not_available
                raise PartitionError(f"{statements[0]}: {str(exc.orig).strip().splitlines()[0]}") from exc
            time.sleep(0.5 * attempt)
        finally:
            forget(engine)


def detach(engine: Engine, part: Range) -> str:
    """Detach ``part`` from its table and rename it ``<name>_detached``; returns the new name.

    From then on no row can reach it: a late row for its month gets a fresh range (and the next prune).
    """
    detached = f"{part.name}_detached"
    _ddl(
        engine,
        [
            f'ALTER TABLE "{part.table}" DETACH PARTITION "{part.name}"',
            f'ALTER TABLE "{part.name}" RENAME TO "{detached}"',
        ],
    )
    return detached


def drop_detached(engine: Engine, detached: str) -> int:
    """Drop a detached range; returns the rows it held."""
    with engine.begin() as conn:
        rows = int(conn.exec_driver_sql(f'SELECT count(*) FROM "{detached}"').scalar_one())
        conn.exec_driver_sql(f'DROP TABLE "{detached}"')
    return rows


def reattach(engine: Engine, part: Range, detached: str) -> None:
    """Undo ``detach``: attach it again, or — when late rows made a new range meanwhile — move its rows back."""
    with engine.begin() as conn:
        here = read_layouts(conn, (part.table,))[part.table]
        lo, hi = bound_literal(part.lower), bound_literal(part.upper)
        if here.missing(np.array([part.lower], dtype=np.int64))[0] and here.gap_around(part.lower)[1] >= part.upper:
            conn.exec_driver_sql(f'ALTER TABLE "{detached}" RENAME TO "{part.name}"')
            bounds = f"FROM ({lo}) TO ({hi})"
            conn.exec_driver_sql(f'ALTER TABLE "{part.table}" ATTACH PARTITION "{part.name}" FOR VALUES {bounds}')
        else:
            day = "date_trunc('day', \"timestamp\" AT TIME ZONE 'UTC')"
            days = conn.exec_driver_sql(f'SELECT min("timestamp") FROM "{detached}" GROUP BY {day}').scalars()
            ensure_on(conn, part.table, to_micros(list(days)))
            columns = ", ".join(f'"{c}"' for c in column_names(conn, part.table))
            conn.exec_driver_sql(f'INSERT INTO "{part.table}" ({columns}) SELECT {columns} FROM "{detached}"')
            conn.exec_driver_sql(f'DROP TABLE "{detached}"')
    forget(engine)
