"""partitioning: market_data, feature_engineered_data and the five log tables range-partitioned on timestamp

Revision ID: 0011_partitioning
Revises: 0010_execution_integrity
Create Date: 2026-11-27

PostgreSQL only; SQLite stays as it is. Each table is rebuilt as PARTITION BY RANGE ("timestamp") with
the ranges the rule of ``workstation.db.partitions`` gives its rows (market_data: a year, or a month where
bars shorter than an hour live; feature_engineered_data: market_data's bounds; logs: a month), plus the
ranges ahead (now and next month). Rows keep their ids; the identity continues after the highest id with
the sequence's cache kept.

Keys: PostgreSQL wants the partition key in every unique key of a partitioned table, so the primary key
becomes (id, "timestamp") under its old name; the other unique keys (ix_market_data_chart,
uq_feature_engineered_data_bar_version) contain it already and come back unchanged, as do every other
index, CHECK and foreign key and the feature table's statement trigger (their definitions are read from
the catalog before the old table goes). feature_engineered_data.id becomes BIGINT, as 0009 makes it.
Views over these tables (recent_system_activity) are dropped first and recreated from their definitions.

The copy needs free disk for a second copy of each table while it runs; all of it is one transaction.
Downgrade rebuilds plain tables the same way (primary key (id) again).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alembic import op
from sqlalchemy.engine import Connection

from workstation.db.partition_maintenance import ahead_stamps
from workstation.db.partitions import BAR_TABLES, FINE_INTERVALS, LOG_TABLES, ensure_on, to_micros

revision: str = "0011_partitioning"
down_revision: str | Sequence[str] | None = "0010_execution_integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (*BAR_TABLES, *LOG_TABLES)
# feature_engineered_data.id is INTEGER up to 0008 (the spec's SERIAL); partitioned it is BIGINT, as 0009
# makes it on both databases. A downgrade restores INTEGER only when it goes back to 0008 itself.
_FEATURE_ID_BEFORE = "integer" if down_revision == "0008_features_write_speed" else "bigint"


@dataclass
class _Shape:
    """What a rebuilt table must get back: keys, indexes, triggers, its identity's position and cache."""

    columns: list[str]
    primary_key: str
    constraints: list[tuple[str, str]]  # name, definition (unique and foreign keys)
    indexes: list[str]  # CREATE INDEX statements
    triggers: list[str]  # CREATE TRIGGER statements
    next_id: int
    cache: int


def _shape(conn: Connection, table: str) -> _Shape:
    def rows(sql: str) -> list[Any]:
        return list(conn.exec_driver_sql(sql, {"t": table}).all())

    columns = [
        r[0]
        for r in rows(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%(t)s) AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum"
        )
    ]
    constraints = rows(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = to_regclass(%(t)s) AND contype IN ('p', 'u', 'f') AND conparentid = 0 ORDER BY conname"
    )
    indexes = rows(
        "SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x WHERE x.indrelid = to_regclass(%(t)s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)"
        " ORDER BY x.indexrelid"
    )
    triggers = rows(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = to_regclass(%(t)s)"
        " AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname"
    )
    sequence = conn.exec_driver_sql(
        "SELECT s.last_value, s.cache_size FROM pg_sequences s"
        " WHERE format('%%I.%%I', s.schemaname, s.sequencename)::regclass"
        " = pg_get_serial_sequence(%(q)s, 'id')::regclass",
        {"q": f'"{table}"'},
    ).one()
    highest = conn.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{table}"').scalar_one()
    primary = next(name for name, kind, _ in constraints if kind == "p")
    return _Shape(
        columns=columns,
        primary_key=primary,
        constraints=[(name, definition) for name, kind, definition in constraints if kind != "p"],
        # A partitioned table's index reads "ON ONLY"; on the rebuilt table every index covers all rows.
        indexes=[r[0].replace(" ON ONLY ", " ON ") for r in indexes],
        triggers=[r[0] for r in triggers],
        next_id=max(int(sequence[0] or 0), int(highest)) + 1,
        cache=int(sequence[1]),
    )


def _views(conn: Connection) -> list[tuple[str, str, str, list[str]]]:
    """Views and materialized views reading the tables: (name, kind, definition, its index statements)."""
    found = conn.exec_driver_sql(
        "SELECT DISTINCT v.oid, v.relname, v.relkind::text, pg_get_viewdef(v.oid) FROM pg_depend d"
        " JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class"
        " WHERE d.refobjid = ANY(%(oids)s::regclass[]) AND v.oid <> d.refobjid ORDER BY v.oid",
        {"oids": [f'"{t}"' for t in TABLES]},
    ).all()
    views = []
    for oid, name, kind, definition in found:
        indexes = conn.exec_driver_sql(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %(o)s", {"o": oid}
        ).scalars()
        views.append((name, kind, definition, list(indexes)))
    return views


def _rebuild(conn: Connection, table: str, *, partitioned: bool, id_type: str | None = None) -> None:
    """Replace ``table`` by a partitioned (or plain) copy with the same rows, keys, indexes and triggers."""
    shape = _shape(conn, table)
    old = f"{table}__before_0011"
    q = f'"{table}"'
    conn.exec_driver_sql(f'ALTER TABLE {q} RENAME TO "{old}"')
    conn.exec_driver_sql(f'ALTER TABLE "{old}" ALTER COLUMN id DROP IDENTITY')  # frees the sequence's name
    layout = ' PARTITION BY RANGE ("timestamp")' if partitioned else ""
    conn.exec_driver_sql(
        f'CREATE TABLE {q} (LIKE "{old}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE){layout}'
    )
    if id_type is not None:
        conn.exec_driver_sql(f"ALTER TABLE {q} ALTER COLUMN id TYPE {id_type}")
    if partitioned:
        _create_ranges(conn, table, old)
    columns = ", ".join(f'"{c}"' for c in shape.columns)
    conn.exec_driver_sql(f'INSERT INTO {q} ({columns}) SELECT {columns} FROM "{old}"')
    conn.exec_driver_sql(f'DROP TABLE "{old}"')
    conn.exec_driver_sql(
        f"ALTER TABLE {q} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY"
        f" (START WITH {shape.next_id} CACHE {shape.cache})"
    )
    key = '(id, "timestamp")' if partitioned else "(id)"
    conn.exec_driver_sql(f'ALTER TABLE {q} ADD CONSTRAINT "{shape.primary_key}" PRIMARY KEY {key}')
    for name, definition in shape.constraints:
        conn.exec_driver_sql(f'ALTER TABLE {q} ADD CONSTRAINT "{name}" {definition}')
    for statement in (*shape.indexes, *shape.triggers):
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(f"ANALYZE {q}")


def _create_ranges(conn: Connection, table: str, source: str) -> None:
    """The ranges the rule gives the rows of ``source`` (one probe per UTC day that has rows), and ahead."""
    fine = "bool_or(interval = ANY(%(fine)s))" if table in BAR_TABLES else "true"
    day = "date_trunc('day', \"timestamp\" AT TIME ZONE 'UTC')"
    days = conn.exec_driver_sql(
        f'SELECT min("timestamp"), {fine} FROM "{source}" GROUP BY {day}', {"fine": list(FINE_INTERVALS)}
    ).all()
    like = "market_data" if table == "feature_engineered_data" else None
    if days:
        stamps = to_micros([d[0] for d in days])
        ensure_on(conn, table, stamps, monthly=[bool(d[1]) for d in days], like=like)
    ensure_on(conn, table, ahead_stamps(datetime.now(UTC)), like=like)


def _run(partitioned: bool) -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    views = _views(conn)
    for name, kind, _, _ in reversed(views):
        conn.exec_driver_sql(f'DROP {"MATERIALIZED VIEW" if kind == "m" else "VIEW"} "{name}"')
    for table in TABLES:  # market_data first: the feature table copies its bounds
        id_type = None
        if table == "feature_engineered_data":
            id_type = "bigint" if partitioned else _FEATURE_ID_BEFORE
        _rebuild(conn, table, partitioned=partitioned, id_type=id_type)
    for name, kind, definition, indexes in views:
        if kind == "m":
            conn.exec_driver_sql(f'CREATE MATERIALIZED VIEW "{name}" AS {definition.rstrip().rstrip(";")} WITH DATA')
        else:
            conn.exec_driver_sql(f'CREATE VIEW "{name}" AS {definition}')
        for statement in indexes:
            conn.exec_driver_sql(statement)


def upgrade() -> None:
    _run(partitioned=True)


def downgrade() -> None:
    _run(partitioned=False)
