"""Partitioned PostgreSQL: the ranges rule, ranges made by the writers and ahead of time, a default partition
emptied into new ranges, and chart/feature queries that read only the partitions they need (EXPLAIN)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, event, text

from workstation.dashboard.chart_data import load_chart_data
from workstation.db.partition_maintenance import create_ahead
from workstation.db.partitions import (
    MONTH,
    YEAR,
    Layout,
    ensure_partitions,
    partition_name,
    period,
    to_micros,
)
from workstation.features.engine import build_features
from workstation.features.store import load_features
from workstation.market.bars import load_bars, pg_bars_query
from workstation.market.store import store_bars
from workstation.monitoring.sinks import DatabaseSink


def _us(text_time: str) -> int:
    return int(to_micros([datetime.fromisoformat(text_time).replace(tzinfo=UTC)])[0])


def _bars(symbol: str, interval: str, start: str, periods: int, freq: str) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=periods, freq=freq, tz="UTC")
    close = 100 + np.sin(np.arange(periods)) * 5
    return pd.DataFrame(
        {
            "symbol": symbol, "interval": interval, "timestamp": stamps, "source": "test",
            "open": close.round(2), "high": (close + 1).round(2), "low": (close - 1).round(2),
            "close": close.round(2), "volume": np.arange(periods) + 100,
        }
    )  # fmt: skip


def _ranges(engine: Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        query = "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = CAST(:t AS regclass) ORDER BY 1"
        return list(conn.execute(text(query), {"t": table}).scalars())


def _rows_in(engine: Engine, partition: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f'SELECT count(*) FROM "{partition}"')).scalar_one())


# --- the rule, without a database ----------------------------------------------------------------------


def test_names_and_periods_of_ranges() -> None:
    assert period(_us("2024-03-15 12:00"), YEAR) == (_us("2024-01-01"), _us("2025-01-01"))
    assert period(_us("2024-12-31 23:59:59"), MONTH) == (_us("2024-12-01"), _us("2025-01-01"))
    assert partition_name("market_data", *period(_us("2024-03-15"), YEAR)) == "market_data_p2024"
    assert partition_name("system_logs", *period(_us("2024-03-15"), MONTH)) == "system_logs_p2024_03"
    assert partition_name("market_data", _us("2024-01-01"), _us("2024-03-01")) == "market_data_p20240101_20240301"


def test_layout_finds_missing_times_and_the_gap_around_them() -> None:
    ranges = [("2024-01-01", "2024-03-01"), ("2024-03-01", "2024-04-01"), ("2025-01-01", "2026-01-01")]
    layout = Layout(
        True,
        ("a", "b", "c"),
        np.array([_us(lo) for lo, _ in ranges], dtype=np.int64),
        np.array([_us(hi) for _, hi in ranges], dtype=np.int64),
    )
    stamps = np.array([_us("2023-06-01"), _us("2024-02-01"), _us("2024-03-31"), _us("2024-07-01")], dtype=np.int64)
    assert layout.missing(stamps).tolist() == [True, False, False, True]
    assert layout.gap_around(_us("2024-07-01")) == (_us("2024-04-01"), _us("2025-01-01"))
    lo, hi = layout.gap_around(_us("2023-06-01"))
    assert lo == np.iinfo(np.int64).min and hi == _us("2024-01-01")
    assert not Layout(False).missing(stamps).any()  # SQLite / before 0011: nothing is ever missing


# --- ranges made by the writers -------------------------------------------------------------------------


def test_the_bar_store_makes_yearly_ranges_for_daily_bars_and_monthly_ones_for_minute_bars(pg_engine: Engine) -> None:
    daily = _bars("AAA", "1d", "1990-01-02 21:00", 35 * 52, "7D")  # weekly-spaced daily bars, 1990 to 2024
    minutes = _bars("AAA", "1m", "2019-06-03 14:30", 3 * 390, "min")
    result = store_bars(pg_engine, pd.concat([daily, minutes], ignore_index=True))
    assert not result.failures and result.counts["AAA"].inserted == len(daily) + len(minutes)
    ranges = _ranges(pg_engine, "market_data")
    assert {"market_data_p1990", "market_data_p2018", "market_data_p2019_06"} <= set(ranges)
    assert {"market_data_p20190101_20190601", "market_data_p20190701_20200101"} <= set(ranges)
    # 35 years of daily bars are ~35 ranges (+ the minute month, the ones around it, this year's), not 420.
    assert len(ranges) < 45
    assert (
        _rows_in(pg_engine, "market_data_p2019_06")
        == len(minutes) + (daily["timestamp"].dt.month == 6).mul(daily["timestamp"].dt.year == 2019).sum()
    )
    # The features of those bars land in ranges with the same bounds.
    build_features(pg_engine, symbols=["AAA"], interval="1m", full=True)
    assert "feature_engineered_data_p2019_06" in _ranges(pg_engine, "feature_engineered_data")
    assert _rows_in(pg_engine, "feature_engineered_data_p2019_06") == len(minutes)


def test_months_keep_coming_once_minute_bars_arrive(pg_engine: Engine) -> None:
    store_bars(pg_engine, _bars("AAA", "1m", "2035-03-12 14:30", 60, "min"))
    assert "market_data_p2035_03" in _ranges(pg_engine, "market_data")
    created = create_ahead(pg_engine, now=datetime(2035, 3, 20, tzinfo=UTC))
    assert "market_data_p2035_04" in created and "feature_engineered_data_p2035_04" in created
    assert {"system_logs_p2035_03", "system_logs_p2035_04"} <= set(created)
    assert create_ahead(pg_engine, now=datetime(2035, 3, 20, tzinfo=UTC)) == []  # idempotent
    # A daily bar past the newest (monthly) range gets a month, not the rest of the year.
    store_bars(pg_engine, _bars("AAA", "1d", "2035-05-02 21:00", 1, "D"))
    assert "market_data_p2035_05" in _ranges(pg_engine, "market_data")


def test_ranges_ahead_of_a_daily_table_are_years(pg_engine: Engine) -> None:
    created = create_ahead(pg_engine, now=datetime(2040, 12, 15, tzinfo=UTC))
    assert {"market_data_p2040", "market_data_p2041", "system_logs_p2040_12", "error_logs_p2041_01"} <= set(created)


def test_the_log_writer_makes_the_months_its_rows_need(pg_engine: Engine) -> None:
    sink = DatabaseSink(pg_engine)

    def row(when: str) -> tuple[str, dict[str, Any]]:
        stamp = datetime.fromisoformat(when).replace(tzinfo=UTC)
        return "system_logs", {
            "timestamp": stamp, "correlation_id": None, "metadata": None, "level": "INFO", "logger_name": "t",
            "message": when, "module": None, "function_name": None, "line_number": None, "thread_name": None,
            "process_id": None,
        }  # fmt: skip

    sink.write([row("2019-01-15"), row("2019-03-15")])  # a spill replay of an old outage
    assert {"system_logs_p2019_01", "system_logs_p2019_03"} <= set(_ranges(pg_engine, "system_logs"))
    # Only the oldest and newest rows' months are checked before COPY: a month missing in between makes
    # COPY refuse the batch, which then makes every row's range and writes the batch once more.
    sink.write([row("2019-01-16"), row("2019-02-15"), row("2019-03-16")])
    assert _rows_in(pg_engine, "system_logs_p2019_02") == 1
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM system_logs")).scalar_one() == 5


# --- a default partition ---------------------------------------------------------------------------------


def test_a_default_partition_never_blocks_a_range(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text("CREATE TABLE market_data_default PARTITION OF market_data DEFAULT"))
        conn.execute(text("INSERT INTO stock_info (symbol) VALUES ('AAA')"))
        # Rows written around the application land in the default partition…
        conn.execute(
            text(
                "INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, source)"
                " SELECT 'AAA', '1d', t, 1, 1, 1, 1, 1, 'x' FROM generate_series("
                "'2033-01-03 21:00+00'::timestamptz, '2034-02-01', '1 day') t"
            )
        )
    assert _rows_in(pg_engine, "market_data_default") == 394
    # …and move out when their range is made (PostgreSQL would refuse the range while they sit there).
    assert ensure_partitions(pg_engine, "market_data", [datetime(2033, 5, 1, tzinfo=UTC)]) == ["market_data_p2033"]
    assert _rows_in(pg_engine, "market_data_p2033") == 363
    assert _rows_in(pg_engine, "market_data_default") == 31
    create_ahead(pg_engine)  # drains whatever is left into ranges
    assert _rows_in(pg_engine, "market_data_default") == 0
    assert _rows_in(pg_engine, "market_data_p2034") == 31
    # The bar store writes into the range, never into the default partition.
    store_bars(pg_engine, _bars("AAA", "1d", "2036-01-05 21:00", 3, "D"))
    assert _rows_in(pg_engine, "market_data_default") == 0 and _rows_in(pg_engine, "market_data_p2036") == 3


# --- partition pruning, checked with EXPLAIN -------------------------------------------------------------


def _explain(engine: Engine, sql: str, params: Any, *, analyze: bool = False) -> str:
    with engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor() as cursor:
            cursor.execute(("EXPLAIN (ANALYZE, COSTS OFF) " if analyze else "EXPLAIN (COSTS OFF) ") + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        conn.rollback()
    return plan


def _scanned(plan: str, table: str) -> set[str]:
    return set(re.findall(rf"\bon ({table}_p\w+)", plan))


class _Statements:
    """The SQL and parameters SQLAlchemy sends while the block runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any]] = []

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.seen.append((statement, parameters))

    def __enter__(self) -> _Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def reading(self, table: str) -> tuple[str, Any]:
        return next((s, p) for s, p in self.seen if f"FROM {table}" in s and "WHERE false" not in s)


@pytest.fixture
def four_years(pg_engine: Engine) -> Engine:
    """Daily bars 2021–2024 of one symbol (a yearly range each) and their features."""
    days = len(pd.bdate_range("2021-01-04", "2024-12-31"))
    store_bars(pg_engine, _bars("AAA", "1d", "2021-01-04 21:00", days, "B"))
    build_features(pg_engine, symbols=["AAA"], full=True)
    with pg_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE market_data"))
        conn.execute(text("VACUUM ANALYZE feature_engineered_data"))
    return pg_engine


def test_chart_queries_read_only_the_ranges_they_show(four_years: Engine) -> None:
    start, end = datetime(2023, 2, 1, tzinfo=UTC), datetime(2023, 11, 30, tzinfo=UTC)
    plan = _explain(four_years, *pg_bars_query("AAA", "1d", start=start, end=end))
    assert _scanned(plan, "market_data") == {"market_data_p2023"}, plan
    # The latest N bars: the newest range is read first and the older ones are never opened.
    plan = _explain(four_years, *pg_bars_query("AAA", "1d", last=100), analyze=True)
    never = set(re.findall(r"on (market_data_p\w+) \w+ \(never executed\)", plan))
    assert _scanned(plan, "market_data") >= {"market_data_p2024"}
    assert {"market_data_p2021", "market_data_p2022", "market_data_p2023"} <= never, plan
    assert len(load_bars(four_years, "AAA", "1d", last=100)) == 100
    # The chart path: its feature overlays are read for the shown bars' span only.
    with _Statements(four_years) as statements:
        data = load_chart_data(four_years, "AAA", "1d", max_bars=100)
    assert len(data.bars) == 100 and data.feature_overlays
    plan = _explain(four_years, *statements.reading("feature_engineered_data"))
    assert _scanned(plan, "feature_engineered_data") == {"feature_engineered_data_p2024"}, plan


def test_feature_reads_prune_to_their_time_window(four_years: Engine) -> None:
    start, end = datetime(2022, 3, 1, tzinfo=UTC), datetime(2022, 9, 30, tzinfo=UTC)
    with _Statements(four_years) as statements:
        frame = load_features(four_years, "AAA", "1d", columns=["rsi_1d"], start=start, end=end)
    assert len(frame) > 100
    plan = _explain(four_years, *statements.reading("feature_engineered_data"))
    assert _scanned(plan, "feature_engineered_data") == {"feature_engineered_data_p2022"}, plan
