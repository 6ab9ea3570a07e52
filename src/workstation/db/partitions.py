"""Range partitions of the big PostgreSQL tables: the ranges rule, the known ranges, creating missing ones.

Contract
* Partitioned on PostgreSQL (migration 0011_partitioning) by range of ``timestamp``, in UTC calendar
  periods: market_data and feature_engineered_data by **year**, or by **month** for bars shorter than an
  hour (``FINE_INTERVALS``); the five log tables by month. SQLite, and a PostgreSQL schema before 0011,
  are not partitioned: every function here is then a no-op.
* The rule, sized to the data: per 1,000 symbols a year of daily bars is ~250k rows and of hourly bars
  ~1.8M (one range a year); a month of 1-minute bars is ~8M rows and of 5-minute bars ~1.6M (one range a
  month). So daily history back to 1990 is ~37 ranges, a year of minute bars 12. From the current month
  on, a yearly wish past the newest range becomes a month when that range is a month or holds fine bars,
  so a table that receives minute bars keeps getting months (daily bars then share them).
  feature_engineered_data copies market_data's bounds, so a bar and its features sit in matching ranges.
* Ranges never overlap: a wanted range is clipped to the gap between existing ones, and an existing range
  is never split or merged (that would rewrite it under an ACCESS EXCLUSIVE lock).
* ``ensure_partitions(engine, table, timestamps, monthly=…)`` (``ensure_partitions_for`` for several
  tables, as fixtures that insert rows directly need) makes sure a range exists for every timestamp
  before the caller writes it. It works on its own connection, in short transactions
  serialised per table by an advisory lock, so call it *before* opening the write transaction: creating
  a market_data range takes SHARE ROW EXCLUSIVE on stock_info (its foreign key) and waits for open
  transactions that wrote stock_info. When nothing is missing it costs a numpy lookup in ranges cached
  per engine; ``forget`` drops the cache (after migrations, or when a write found a range gone).
* No DEFAULT partition is created, but one is tolerated: a new range first takes over the default
  partition's rows for it (moved in the same transaction), so a default partition never blocks a range.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine

from workstation.errors import WorkstationError

BAR_TABLES = ("market_data", "feature_engineered_data")
LOG_TABLES = ("system_logs", "trading_events", "performance_logs", "error_logs", "user_action_logs")
PARTITIONED_TABLES = (*BAR_TABLES, *LOG_TABLES)
# Bars this fine fill a month of a range with millions of rows per 1,000 symbols: monthly ranges.
FINE_INTERVALS = ("1m", "2m", "5m", "15m", "30m")
# Waiting longer than this for a lock (e.g. on stock_info behind another ingest) fails the creation.
LOCK_TIMEOUT = "30s"

YEAR, MONTH = "year", "month"
_NEG, _POS = np.iinfo(np.int64).min, np.iinfo(np.int64).max  # MINVALUE / MAXVALUE bounds
_BOUND = re.compile(r"FOR VALUES FROM \((?P<lo>[^)]*)\) TO \((?P<hi>[^)]*)\)")
_MONTH_DAYS_US = 31 * 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Micros = NDArray[np.int64]


class PartitionError(WorkstationError):
    """A range could not be created (lock timeout, permissions): the write that needed it cannot go on."""


@dataclass(frozen=True)
class Layout:
    """One table's partitions as the catalog has them: ranges sorted by lower bound, in µs since the epoch."""

    partitioned: bool
    names: tuple[str, ...] = ()
    lowers: Micros = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    uppers: Micros = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    default: str | None = None

    def missing(self, stamps: Micros) -> NDArray[np.bool_]:
        """Mask over ``stamps``: True where no range holds the timestamp."""
        if not self.partitioned:
            return np.zeros(len(stamps), dtype=bool)
        at = np.searchsorted(self.lowers, stamps, side="right") - 1
        inside = at >= 0
        inside[inside] = stamps[inside] < self.uppers[at[inside]]
        return ~inside

    def range_at(self, stamp: int) -> tuple[int, int] | None:
        at = int(np.searchsorted(self.lowers, stamp, side="right")) - 1
        if at >= 0 and stamp < self.uppers[at]:
            return int(self.lowers[at]), int(self.uppers[at])
        return None

    def gap_around(self, stamp: int) -> tuple[int, int]:
        """The widest range holding ``stamp`` that overlaps no existing range (``stamp`` must be missing)."""
        at = int(np.searchsorted(self.lowers, stamp, side="right"))
        lo = int(self.uppers[at - 1]) if at > 0 else _NEG
        hi = int(self.lowers[at]) if at < len(self.lowers) else _POS
        return lo, hi


# --- time arithmetic (UTC calendar periods as µs since the Unix epoch) --------------------------------


def to_micros(values: Any) -> Micros:
    """tz-aware timestamps (datetimes, a Series, a DatetimeIndex; or int64 µs already) as µs, order kept."""
    if isinstance(values, np.ndarray) and values.dtype == np.int64:
        return values
    if isinstance(values, list | tuple) and all(isinstance(v, datetime) for v in values):
        # The order path writes one or two events at a time: plain arithmetic beats building an index.
        if any(v.tzinfo is None for v in values):
            raise ValueError("partition keys must be timezone-aware timestamps")
        return np.array([(v - _EPOCH) // _MICROSECOND for v in values], dtype=np.int64)
    index = pd.DatetimeIndex(values.to_numpy() if isinstance(values, pd.Series) else values)
    if not len(index):
        return np.empty(0, dtype=np.int64)
    if index.tz is None:
        raise ValueError("partition keys must be timezone-aware timestamps")
    return np.asarray(index.tz_convert("UTC").as_unit("us").asi8, dtype=np.int64)


def period(stamp: int, grain: str) -> tuple[int, int]:
    """The UTC calendar year or month holding ``stamp``."""
    moment = np.datetime64(int(stamp), "us")
    unit = "Y" if grain == YEAR else "M"
    start = moment.astype(f"datetime64[{unit}]")
    lo, hi = (int(p.astype("datetime64[us]").astype(np.int64)) for p in (start, start + 1))
    return lo, hi


def to_datetime(stamp: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(stamp))


def bound_literal(stamp: int) -> str:
    """A range bound as SQL: a UTC timestamp literal, MINVALUE or MAXVALUE."""
    if stamp == _NEG:
        return "MINVALUE"
    if stamp == _POS:
        return "MAXVALUE"
    return "'" + to_datetime(stamp).strftime("%Y-%m-%d %H:%M:%S.%f+00") + "'"


def _parse_bound(text: str) -> int:
    text = text.strip()
    if text in ("MINVALUE", "'-infinity'"):
        return _NEG
    if text in ("MAXVALUE", "'infinity'"):
        return _POS
    return (datetime.fromisoformat(text.strip("'")) - _EPOCH) // timedelta(microseconds=1)


def partition_name(table: str, lo: int, hi: int) -> str:
    """``market_data_p2024`` for a year, ``system_logs_p2026_03`` for a month, else both bounds' dates."""
    if lo != _NEG and hi != _POS:
        start = to_datetime(lo)
        if (lo, hi) == period(lo, YEAR):
            return f"{table}_p{start:%Y}"
        if (lo, hi) == period(lo, MONTH):
            return f"{table}_p{start:%Y_%m}"
    first = "min" if lo == _NEG else f"{to_datetime(lo):%Y%m%d}"
    last = "max" if hi == _POS else f"{to_datetime(hi):%Y%m%d}"
    return f"{table}_p{first}_{last}"


# --- the catalog and its cache --------------------------------------------------------------------------

_CATALOG = """
SELECT t.name, p.relkind::text, c.relname::text, pg_get_expr(c.relpartbound, c.oid)
  FROM unnest(%(tables)s::text[]) AS t(name)
  JOIN pg_class p ON p.oid = to_regclass(t.name)
  LEFT JOIN pg_inherits i ON i.inhparent = p.oid
  LEFT JOIN pg_class c ON c.oid = i.inhrelid
"""
_layouts: weakref.WeakKeyDictionary[Engine, dict[str, Layout]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def read_layouts(conn: Connection, tables: Sequence[str] = PARTITIONED_TABLES) -> dict[str, Layout]:
    """The partitions of ``tables`` from the catalog (bounds rendered in UTC, ISO style)."""
    if conn.dialect.name != "postgresql":
        return {table: Layout(False) for table in tables}
    # Bounds come back as text in the session's time zone and date style: pin both for the parser.
    conn.exec_driver_sql("SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO', true)")
    found: dict[str, list[tuple[str, str | None]]] = {}
    kinds: dict[str, str] = {}
    for table, kind, child, bound in conn.exec_driver_sql(_CATALOG, {"tables": list(tables)}):
        kinds[table] = kind
        if child is not None:
            found.setdefault(table, []).append((child, bound))
    layouts: dict[str, Layout] = {}
    for table in tables:
        if kinds.get(table) != "p":
            layouts[table] = Layout(False)
            continue
        ranges: list[tuple[int, int, str]] = []
        default = None
        for child, bound in found.get(table, []):
            match = _BOUND.match(bound or "")
            if match is None:
                default = child  # "DEFAULT"
                continue
            ranges.append((_parse_bound(match["lo"]), _parse_bound(match["hi"]), child))
        ranges.sort()
        layouts[table] = Layout(
            True,
            tuple(r[2] for r in ranges),
            np.array([r[0] for r in ranges], dtype=np.int64),
            np.array([r[1] for r in ranges], dtype=np.int64),
            default,
        )
    return layouts


def layout(engine: Engine, table: str) -> Layout:
    """``table``'s partitions, from the per-engine cache (read from the catalog on first use)."""
    with _cache_lock:
        cached = _layouts.get(engine, {}).get(table)
    if cached is not None:
        return cached
    if engine.dialect.name != "postgresql":
        return Layout(False)
    with engine.begin() as conn:
        fresh = read_layouts(conn)
    with _cache_lock:
        _layouts.setdefault(engine, {}).update(fresh)
    return fresh[table]


def forget(engine: Engine) -> None:
    """Drop the cached ranges of ``engine`` (the schema or its partitions changed behind its back)."""
    with _cache_lock:
        _layouts.pop(engine, None)


def is_missing_partition(exc: BaseException) -> bool:
    """True for PostgreSQL's "no partition of relation … found for row" (a range dropped or never made)."""
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "sqlstate", None) == "23514" and "no partition of relation" in str(orig)


# --- creating ranges ---------------------------------------------------------------------------------


def monthly_mask(intervals: Any) -> NDArray[np.bool_]:
    """Per bar: does its interval call for monthly ranges (see the module docstring)?"""
    return np.asarray(pd.Series(intervals).isin(FINE_INTERVALS).to_numpy(), dtype=bool)


def ensure_partitions(
    engine: Engine, table: str, timestamps: Any, *, monthly: Any = None, like: str | None = None
) -> list[str]:
    """Create the ranges ``table`` lacks for ``timestamps``; returns the partitions created (usually none).

    ``monthly`` (one bool, or a mask over ``timestamps``) asks for month ranges for those timestamps;
    ``like`` names a table whose range bounds are copied where it has one (features copy market_data's).
    Log tables always get months. Raises PartitionError when a range cannot be created.
    """
    if engine.dialect.name != "postgresql":
        return []
    stamps = to_micros(timestamps)
    current = layout(engine, table)
    if not current.partitioned or not current.missing(stamps).any():
        return []
    with engine.connect() as conn:
        try:
            with conn.begin():
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                created, fresh = ensure_on(conn, table, stamps, monthly=monthly, like=like)
        except Exception as exc:
            forget(engine)
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise PartitionError(f"cannot create a partition of {table}: {reason}") from exc
    with _cache_lock:
        _layouts.setdefault(engine, {})[table] = fresh
    return created


def ensure_partitions_for(engine: Engine, tables: Sequence[str], timestamps: Any) -> list[str]:
    """``ensure_partitions`` on each of ``tables`` with default rules: for fixtures and tools that insert
    rows directly (ORM, INSERT … SELECT) instead of through the bar store, the feature build or the log writer."""
    created: list[str] = []
    for table in tables:
        like = "market_data" if table == "feature_engineered_data" else None
        created += ensure_partitions(engine, table, timestamps, like=like)
    return created


def ensure_on(
    conn: Connection, table: str, timestamps: Any, *, monthly: Any = None, like: str | None = None
) -> tuple[list[str], Layout]:
    """``ensure_partitions`` in the caller's transaction (the migration's): created names, the new layout.

    Holds an advisory lock per table until the transaction ends, so concurrent creators take turns and
    each sees the ranges the previous one made.
    """
    stamps = to_micros(timestamps)
    fine = np.broadcast_to(np.asarray(False if monthly is None else monthly, dtype=bool), stamps.shape)
    if table in LOG_TABLES:
        fine = np.ones(stamps.shape, dtype=bool)
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%(key)s))", {"key": f"partitions:{table}"})
    layouts = read_layouts(conn)  # fresh: another process may have made some meanwhile
    here = layouts[table]
    if not here.partitioned:
        return [], here
    template = layouts.get(like) if like is not None else None
    missing = here.missing(stamps)
    created: list[str] = []
    # Fine bars first: their months are carved out before a yearly wish is clipped around them.
    for wanted, grain in ((np.unique(stamps[missing & fine]), MONTH), (np.unique(stamps[missing & ~fine]), YEAR)):
        for stamp in wanted.tolist():
            if not here.missing(np.array([stamp], dtype=np.int64))[0]:
                continue
            lo, hi = _wanted(conn, table, here, stamp, grain, template)
            created.append(create_range(conn, table, here, lo, hi))
            here = read_layouts(conn, (table,))[table]
    return created, here


def _wanted(
    conn: Connection, table: str, here: Layout, stamp: int, grain: str, template: Layout | None
) -> tuple[int, int]:
    """The range to create for ``stamp``: the template's, or the calendar period by the rule; clipped to the gap."""
    bounds = template.range_at(stamp) if template is not None and template.partitioned else None
    if bounds is None:
        if grain == YEAR and table in BAR_TABLES and _continues_monthly(conn, table, here, stamp):
            grain = MONTH
        bounds = period(stamp, grain)
    gap_lo, gap_hi = here.gap_around(stamp)
    return max(bounds[0], gap_lo), min(bounds[1], gap_hi)


def _continues_monthly(conn: Connection, table: str, here: Layout, stamp: int) -> bool:
    """From this month on and past the newest range, keep months when that range is a month or holds fine bars.

    Only for the present and the future: a table receiving minute bars keeps monthly ranges as time goes
    on. Back-filled history gets the plain rule (daily bars after a minute-bar month are not months).
    """
    this_month = period(int(to_micros([datetime.now(UTC)])[0]), MONTH)[0]
    if not len(here.uppers) or stamp < int(here.uppers[-1]) or stamp < this_month:
        return False
    if int(here.uppers[-1]) - int(here.lowers[-1]) <= _MONTH_DAYS_US:
        return True
    newest = here.names[-1]
    probe = f'SELECT EXISTS (SELECT 1 FROM "{newest}" WHERE interval = ANY(%(fine)s))'
    return bool(conn.exec_driver_sql(probe, {"fine": list(FINE_INTERVALS)}).scalar())


def create_range(conn: Connection, table: str, here: Layout, lo: int, hi: int) -> str:
    """Create and attach partition [lo, hi) of ``table`` in the caller's transaction; returns its name.

    The table is created on its own and then attached: ATTACH needs only SHARE UPDATE EXCLUSIVE on the
    parent, so readers and writers of the other ranges carry on (CREATE TABLE … PARTITION OF would take
    ACCESS EXCLUSIVE). Rows a default partition holds for the range move into it first.
    """
    name = _free_name(conn, partition_name(table, lo, hi))
    conn.exec_driver_sql(
        f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED'
        " INCLUDING STORAGE)"
    )
    if here.default is not None:
        columns = ", ".join(f'"{c}"' for c in column_names(conn, table))
        inside = [f'"timestamp" >= {bound_literal(lo)}::timestamptz' if lo != _NEG else "true"]
        inside += [f'"timestamp" < {bound_literal(hi)}::timestamptz' if hi != _POS else "true"]
        conn.exec_driver_sql(
            f'WITH moved AS (DELETE FROM ONLY "{here.default}" WHERE {" AND ".join(inside)} RETURNING {columns})'
            f' INSERT INTO "{name}" ({columns}) SELECT {columns} FROM moved'
        )
    bounds = f"FROM ({bound_literal(lo)}) TO ({bound_literal(hi)})"
    conn.exec_driver_sql(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" FOR VALUES {bounds}')
    return name


def column_names(conn: Connection, table: str) -> list[str]:
    """The columns a row is copied by: generated ones (market_data's price micros, 0017) compute themselves."""
    rows = conn.exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%(t)s) AND attnum > 0 AND NOT attisdropped"
        " AND attgenerated = '' ORDER BY attnum",
        {"t": table},
    )
    return [str(r[0]) for r in rows]


def _free_name(conn: Connection, name: str) -> str:
    """``name``, or ``name_2``, ``name_3`` … when a table of that name exists (e.g. one detached by a prune)."""
    candidate, n = name, 1
    while conn.exec_driver_sql("SELECT to_regclass(%(n)s)", {"n": f'"{candidate}"'}).scalar() is not None:
        n += 1
        candidate = f"{name}_{n}"
    return candidate
