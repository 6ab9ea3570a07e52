"""Migration 0009: feature_engineered_data.id holds 64-bit ids on both databases, rows survive both ways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateTable

from workstation.db.engine import create_db_engine
from workstation.db.migrate import current_revisions, downgrade, head_revisions, upgrade
from workstation.db.models import FeatureEngineeredData
from workstation.db.partitions import ensure_partitions
from workstation.errors import RefusedError
from workstation.features.store import feature_table

BEFORE, AFTER = "0008_features_write_speed", "0009_feature_id_bigint"
BEYOND_32_BITS = 3_000_000_000


@pytest.fixture
def engine_at_0008(empty_db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(empty_db_url)
    upgrade(engine, BEFORE)
    try:
        yield engine
    finally:
        engine.dispose()


def _insert(engine: Engine, day: int, row_id: int | None = None) -> int:
    columns = "symbol, interval, timestamp, source, feature_version, close" + (", id" if row_id else "")
    values = ":symbol, '1d', :ts, 'csv', '3.0', :close" + (", :id" if row_id else "")
    params = {"symbol": "AAA", "ts": f"2024-01-{day:02d} 05:00:00+00:00", "close": float(day), "id": row_id}
    if engine.dialect.name == "sqlite":
        params["ts"] = f"2024-01-{day:02d} 05:00:00.000000"
    # At head PostgreSQL's table is partitioned: its range must exist first (a no-op before 0011).
    ensure_partitions(engine, "feature_engineered_data", [datetime(2024, 1, day, 5, tzinfo=UTC)])
    with engine.begin() as conn:
        insert = text(f"INSERT INTO feature_engineered_data ({columns}) VALUES ({values}) RETURNING id")
        return int(conn.execute(insert, params).scalar_one())


def _rows(engine: Engine) -> list[tuple[int, float]]:
    with engine.connect() as conn:
        result = conn.execute(text("SELECT id, close FROM feature_engineered_data ORDER BY id"))
        return [(int(i), float(c)) for i, c in result]


def _id_type(engine: Engine) -> str:
    (column,) = [c for c in inspect(engine).get_columns("feature_engineered_data") if c["name"] == "id"]
    return str(column["type"]).upper()


def _sequence_type(engine: Engine) -> str:
    with engine.connect() as conn:
        query = text(
            "SELECT data_type::text FROM pg_sequences WHERE schemaname = current_schema() "
            "AND sequencename = split_part(pg_get_serial_sequence('feature_engineered_data', 'id'), '.', 2)"
        )
        return str(conn.execute(query).scalar_one())


def _exhaust_32_bit_identity(engine: Engine) -> None:
    """Where ~1,000 full rebuilds of 1,000 × 2,000 bars leave the identity."""
    with engine.begin() as conn:
        conn.execute(text("SELECT setval(pg_get_serial_sequence('feature_engineered_data', 'id'), 2147483647)"))


def test_upgrade_keeps_the_rows_and_takes_ids_beyond_32_bits(engine_at_0008: Engine) -> None:
    engine = engine_at_0008
    for day in (2, 3, 4):
        _insert(engine, day)
    before = _rows(engine)
    postgres = engine.dialect.name == "postgresql"
    if postgres:  # today: an exhausted identity stores no more features, and no id beyond 32 bits fits
        _exhaust_32_bit_identity(engine)
        with pytest.raises(DBAPIError, match="reached maximum value"):
            _insert(engine, 5)
        with pytest.raises(DBAPIError, match="out of range"):
            _insert(engine, 5, BEYOND_32_BITS)
    upgrade(engine, AFTER)
    assert current_revisions(engine) == (AFTER,)
    assert _rows(engine) == before
    if postgres:
        assert _insert(engine, 5) == 2_147_483_648  # the identity numbers on past 32 bits
        assert _id_type(engine) == "BIGINT"
        assert _sequence_type(engine) == "bigint"
        with engine.connect() as conn:  # 0008's CACHE 1000 survives the type change
            query = "SELECT cache_size FROM pg_sequences WHERE sequencename LIKE 'feature_engineered_data%'"
            assert conn.execute(text(query)).scalar_one() == 1000
    else:  # the rowid: INTEGER PRIMARY KEY, 64-bit in SQLite, numbering on from the highest id
        assert _id_type(engine) == "INTEGER"
    assert _insert(engine, 8, BEYOND_32_BITS) == BEYOND_32_BITS
    if not postgres:
        assert _insert(engine, 9) == BEYOND_32_BITS + 1
    assert [c for _, c in _rows(engine)][:3] == [c for _, c in before]


def test_downgrade_keeps_the_rows(engine_at_0008: Engine) -> None:
    engine = engine_at_0008
    upgrade(engine, AFTER)
    for day in (2, 3):
        _insert(engine, day)
    before = _rows(engine)
    downgrade(engine, BEFORE)
    assert current_revisions(engine) == (BEFORE,)
    assert _rows(engine) == before
    if engine.dialect.name == "postgresql":
        assert _id_type(engine) == "INTEGER"
        assert _sequence_type(engine) == "integer"
    _insert(engine, 4)
    upgrade(engine)
    assert len(_rows(engine)) == 3


def test_downgrade_refuses_ids_beyond_32_bits(pg_engine: Engine) -> None:
    _insert(pg_engine, 2, BEYOND_32_BITS)
    with pytest.raises(RefusedError, match="beyond the 32-bit range"):
        downgrade(pg_engine, BEFORE)
    assert set(current_revisions(pg_engine)) == set(head_revisions())  # nothing was downgraded
    assert _rows(pg_engine) == [(BEYOND_32_BITS, 2.0)]


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=["postgresql", "sqlite"])
def test_models_match_the_migrated_column(dialect: object) -> None:
    for table in (FeatureEngineeredData.__table__, feature_table):
        ddl = str(CreateTable(table).compile(dialect=dialect))  # type: ignore[arg-type]
        id_line = next(line.strip() for line in ddl.splitlines() if line.strip().startswith("id "))
        # BIGINT with an identity (the ORM model) or BIGSERIAL (the store's Core table): 64 bits either way.
        assert id_line.startswith("id BIG" if isinstance(dialect, postgresql.dialect) else "id INTEGER")
