"""What changed in market_data since the features were computed: new bars, revised bars, the replay window.

A stored feature row keeps the OHLCV it was computed from, so a revision is a stored row whose
OHLCV no longer equals its bar (or whose bar disappeared), or a bar inside the built range that has
no feature row (a back-filled gap). The earliest of those is where a recompute must start.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Double, and_, cast, exists, func, or_, select, union_all
from sqlalchemy.engine import Connection

from workstation.db.models import MarketData
from workstation.features.store import BAR_FIELDS, feature_table

_bars = MarketData.__table__


def first_changed_bar(
    conn: Connection, symbol: str, interval: str, source: str, version: str, built_through: datetime
) -> datetime | None:
    """Earliest bar time whose stored features no longer match market_data (None when all match)."""
    f, m = feature_table.c, _bars.c
    same_bar = and_(m.symbol == f.symbol, m.interval == f.interval, m.timestamp == f.timestamp, m.source == f.source)
    differs = or_(m.id.is_(None), *(cast(m[name], Double) != f[name] for name in BAR_FIELDS))
    revised = (
        select(f.timestamp.label("ts"))
        .select_from(feature_table.outerjoin(_bars, same_bar))
        .where(f.symbol == symbol, f.interval == interval, f.feature_version == version, differs)
    )
    unbuilt = select(m.timestamp.label("ts")).where(
        m.symbol == symbol,
        m.interval == interval,
        m.source == source,
        m.timestamp <= built_through,
        ~exists().where(same_bar, f.feature_version == version),
    )
    changes = union_all(revised, unbuilt).subquery()
    if conn.dialect.name == "postgresql":
        # Both sides are one symbol's few thousand rows. Fresh tables have no statistics yet, and the planner
        # then picks a nested loop that rescans the symbol's rows once per row; hash/merge joins stay linear.
        conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
        # A few thousand rows: starting parallel workers costs more than it saves.
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    value: datetime | None = conn.execute(select(func.min(changes.c.ts))).scalar()
    if value is not None and value.tzinfo is None:  # through a UNION the UTC type is lost on SQLite
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def first_bar_after(conn: Connection, symbol: str, interval: str, source: str, after: datetime) -> datetime | None:
    m = _bars.c
    query = select(func.min(m.timestamp)).where(
        m.symbol == symbol, m.interval == interval, m.source == source, m.timestamp > after
    )
    value: datetime | None = conn.execute(query).scalar()
    return value


def replay_start(
    conn: Connection, symbol: str, interval: str, source: str, before: datetime, bars: int
) -> datetime | None:
    """Time of the bar ``bars`` bars before ``before`` (None when the history is shorter: start at the beginning)."""
    m = _bars.c
    query = (
        select(m.timestamp)
        .where(m.symbol == symbol, m.interval == interval, m.source == source, m.timestamp < before)
        .order_by(m.timestamp.desc())
        .limit(1)
        .offset(bars - 1)
    )
    value: datetime | None = conn.execute(query).scalar()
    return value
