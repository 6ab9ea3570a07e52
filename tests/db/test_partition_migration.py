"""Migration 0011_partitioning on a populated PostgreSQL database: every row, id, key, index and view survives
the way up and the way down, the ranges follow the rule, and the identities carry on after the highest id."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import Connection, text

from workstation.db.engine import create_db_engine
from workstation.db.migrate import current_revisions, downgrade, head_revisions, previous_revision, upgrade
from workstation.db.partitions import PARTITIONED_TABLES
from workstation.features.engine import build_features
from workstation.market.store import store_bars

BEFORE = previous_revision("0011_partitioning")

# Daily bars back to 1990 (weekly here, to stay small), a few days of 1-minute bars in March 2024,
# features of two catalog versions, log rows over three months.
_POPULATE = (
    "INSERT INTO stock_info (symbol) VALUES ('AAA'), ('BBB')",
    """INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source)
       SELECT s, '1d', t, 10.5, 11.25, 9.125, 10.000001, 1000, 'csv'
         FROM unnest(ARRAY['AAA', 'BBB']) s, generate_series('1990-01-02 21:00+00'::timestamptz,
                                                             '2024-06-28 21:00+00', '7 days') t""",
    """INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source)
       SELECT 'AAA', '1m', t, 20, 21, 19, 20.5, 7, 'alpaca'
         FROM generate_series('2024-03-04 14:30+00'::timestamptz, '2024-03-06 21:00+00', '1 minute') t""",
    """INSERT INTO feature_engineered_data (symbol, interval, timestamp, source, close, rsi_1d, feature_version)
       SELECT symbol, interval, timestamp, source, close::float8, 50, v
         FROM market_data, unnest(ARRAY['2.0', '3.0']) v WHERE interval = '1d' AND timestamp >= '2020-01-01'""",
    """INSERT INTO system_logs (timestamp, level, logger_name, message, correlation_id)
       SELECT t, 'INFO', 'test', 'line', 'c1'
         FROM generate_series('2024-01-15+00'::timestamptz, '2024-03-20', '6 hours') t""",
    """INSERT INTO trading_events (timestamp, event_type, symbol, side, quantity, price)
       SELECT t, 'order_placed', 'AAA', 'buy', 5, 10.5
         FROM generate_series('2024-02-01+00'::timestamptz, '2024-03-01', '1 day') t""",
    """INSERT INTO performance_logs (timestamp, operation_name, duration_ms, status)
       SELECT t, 'op', 1.5, 'success' FROM generate_series('2024-02-01+00'::timestamptz, '2024-02-10', '1 hour') t""",
    "INSERT INTO error_logs (timestamp, error_type, error_message) VALUES ('2024-01-20+00', 'E', 'x')",
    "INSERT INTO user_action_logs (timestamp, action_type, ip_address) VALUES ('2024-03-02+00', 'click', '10.0.0.1')",
)


def _snapshot(conn: Connection) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of every stored column of every row (in id order)."""
    digests = {}
    for table in PARTITIONED_TABLES:
        # Stored columns only: market_data's generated bar_record (0017) exists on one side of a migration.
        generated = conn.execute(
            text(
                "SELECT array_agg(attname::text) FROM pg_attribute"
                " WHERE attrelid = to_regclass(:t) AND attgenerated <> ''"
            ),
            {"t": table},
        ).scalar_one()
        stored = f"(to_jsonb(t) - {_text_array(generated or [])})::text"
        row = conn.execute(
            text(f"SELECT count(*), md5(coalesce(string_agg({stored}, '' ORDER BY id), '')) FROM {table} t")
        ).one()
        digests[table] = (int(row[0]), str(row[1]))
    return digests


def _text_array(names: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]::text[]"


def _kind(conn: Connection, table: str) -> str:
    return str(conn.execute(text("SELECT relkind FROM pg_class WHERE relname = :t"), {"t": table}).scalar_one())


def _ranges(conn: Connection, table: str) -> list[str]:
    query = "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = CAST(:t AS regclass) ORDER BY 1"
    return list(conn.execute(text(query), {"t": table}).scalars())


def _definitions(conn: Connection) -> dict[str, str]:
    """Index and constraint definitions of the seven tables (a partitioned table's say ON ONLY)."""
    rows = conn.execute(
        text("SELECT indexname, replace(indexdef, ' ON ONLY ', ' ON ') FROM pg_indexes WHERE tablename = ANY(:tables)"),
        {"tables": list(PARTITIONED_TABLES)},
    ).all()
    constraints = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(CAST(:tables AS regclass[])) AND contype IN ('c', 'f', 'u')"
        ),
        {"tables": list(PARTITIONED_TABLES)},
    ).all()
    # A partial index's predicate comes back from a round trip with its casts placed differently
    # (ARRAY['a'::varchar]::text[] vs ARRAY['a'::varchar::text]): compare without casts and brackets.
    return {name: _without_casts(definition) for name, definition in (*rows, *constraints)}


def _without_casts(definition: str) -> str:
    for noise in ("::character varying", "::text[]", "::text", "(", ")", " "):
        definition = definition.replace(noise, "")
    return definition


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_upgrade_and_downgrade_of_a_populated_database(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    upgrade(engine, BEFORE)
    with engine.begin() as conn:
        for statement in _POPULATE:
            conn.execute(text(statement))
        plain = _definitions(conn)
        before = _snapshot(conn)
        activity = conn.execute(text("SELECT count(*) FROM recent_system_activity")).scalar_one()
        high_id = conn.execute(text("SELECT max(id) FROM market_data")).scalar_one()

    upgrade(engine)
    assert set(current_revisions(engine)) == set(head_revisions())
    with engine.connect() as conn:
        assert all(_kind(conn, t) == "p" for t in PARTITIONED_TABLES)
        assert _snapshot(conn) == before
        assert conn.execute(text("SELECT count(*) FROM recent_system_activity")).scalar_one() == activity
        bars = _ranges(conn, "market_data")
        # Daily history back to 1990: one range a year (plus this year's and ahead), not one a month;
        # the month of the 1-minute bars is a range of its own, the rest of 2024 around it.
        years = [f"market_data_p{y}" for y in range(1990, 2024)]
        assert set(years) <= set(bars)
        assert {"market_data_p2024_03", "market_data_p20240101_20240301", "market_data_p20240401_20250101"} <= set(bars)
        assert len(bars) < 45
        assert _ranges(conn, "feature_engineered_data") == [b.replace("market_data", "feature_engineered_data")
                                                          for b in bars if b >= "market_data_p2020"]  # fmt: skip
        assert {"system_logs_p2024_01", "system_logs_p2024_02", "system_logs_p2024_03"} <= set(
            _ranges(conn, "system_logs")
        )
        pk = conn.execute(
            text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_market_data'")
        ).scalar_one()
        assert pk == 'PRIMARY KEY (id, "timestamp")'
        assert conn.execute(
            text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = 'id'"
                 " AND attrelid = 'feature_engineered_data'::regclass")
        ).scalar_one() == "bigint"  # fmt: skip
        unique_chart = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_market_data_chart'")
        ).scalar_one()
        assert "UNIQUE" in unique_chart and "INCLUDE (bar_record)" in unique_chart  # 0017
        trigger = conn.execute(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = 'tr_feature_engineered_data_counts'"
                 " AND tgrelid = 'feature_engineered_data'::regclass")
        ).scalar_one()  # fmt: skip
        assert trigger == 1
    # The write paths work on the partitioned tables; ids continue after the highest copied one.
    new_bars = pd.DataFrame(
        {
            "symbol": "AAA", "interval": "1d", "source": "csv", "volume": 5,
            "timestamp": pd.date_range("2024-07-05 21:00", periods=3, freq="7D", tz="UTC"),
            "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5,
        }
    )  # fmt: skip
    stored = store_bars(engine, new_bars)
    assert stored.counts["AAA"].inserted == 3 and not stored.failures
    build_features(engine, symbols=["AAA"], full=True)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT min(id) FROM market_data WHERE timestamp > '2024-07-01'")).scalar_one() > high_id
        )
        after_writes = _snapshot(conn)

    downgrade(engine, BEFORE)
    assert current_revisions(engine) == (BEFORE,)
    with engine.connect() as conn:
        assert all(_kind(conn, t) == "r" for t in PARTITIONED_TABLES)
        assert _snapshot(conn) == after_writes
        assert _definitions(conn) == plain
        assert conn.execute(
            text("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = 'id'"
                 " AND attrelid = 'feature_engineered_data'::regclass")
        ).scalar_one() == ("integer" if BEFORE == "0008_features_write_speed" else "bigint")  # fmt: skip
        assert not conn.execute(text("SELECT count(*) FROM pg_inherits")).scalar_one()
        assert conn.execute(text("SELECT count(*) FROM recent_system_activity")).scalar_one() == activity
    with engine.begin() as conn:  # bars written while down (plain SQL: today's bar store wants the head schema)
        conn.execute(
            text(
                "INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source)"
                " SELECT symbol, interval, timestamp + interval '30 days', open, high, low, close, volume, source"
                " FROM market_data WHERE timestamp > '2024-07-01'"
            )
        )
    upgrade(engine)  # …and up again
    with engine.connect() as conn:
        assert _kind(conn, "market_data") == "p"
        assert conn.execute(text("SELECT count(*) FROM market_data WHERE timestamp > '2024-07-01'")).scalar_one() == 6
    engine.dispose()


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_an_empty_database_gets_the_ranges_of_now_and_next_month(empty_db_url: str) -> None:
    engine = create_db_engine(empty_db_url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        logs = _ranges(conn, "error_logs")
        assert f"error_logs_p{now:%Y_%m}" in logs and len(logs) == 2
        assert len(_ranges(conn, "market_data")) in (1, 2)  # this year (and next, in December)
    engine.dispose()
