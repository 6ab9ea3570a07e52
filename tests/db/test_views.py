"""recent_system_activity unifies the four log tables; the dashboard summary refreshes on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from workstation.db.models import (
    ErrorLog,
    FeatureEngineeredData,
    PerformanceLog,
    SystemLog,
    TradingEvent,
)
from workstation.db.partitions import PARTITIONED_TABLES, ensure_partitions_for
from workstation.db.summary import refresh_dashboard_summary
from workstation.db.views import mv_features_dashboard_summary, recent_system_activity

T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _ranges(engine: Engine) -> None:
    ensure_partitions_for(engine, PARTITIONED_TABLES, [T0, T0 + timedelta(days=10)])  # PostgreSQL's partitions


def test_activity_view_returns_rows_of_all_four_log_tables(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all(
            [
                SystemLog(timestamp=T0, level="INFO", logger_name="ingest", message="loaded 10 bars",
                          correlation_id="c1", metadata_={"rows": 10}),
                TradingEvent(timestamp=T0 + timedelta(seconds=1), event_type="order_rejected", symbol="AAPL",
                             side="buy", quantity=Decimal(5), price=Decimal("101.25"), order_id="o1",
                             correlation_id="c1"),
                PerformanceLog(timestamp=T0 + timedelta(seconds=2), operation_name="get_features",
                               duration_ms=Decimal("12.5"), status="timeout", component="ml_pipeline",
                               correlation_id="c1"),
                ErrorLog(timestamp=T0 + timedelta(seconds=3), error_type="ConnectionError",
                         error_message="broker down", stack_trace="Traceback…", component="alpaca",
                         correlation_id="c1"),
            ]
        )  # fmt: skip
        session.commit()
    with engine.connect() as conn:
        rows = (
            conn.execute(select(recent_system_activity).order_by(recent_system_activity.c.timestamp)).mappings().all()
        )
    assert [r["source"] for r in rows] == ["system_log", "trading_event", "performance_log", "error_log"]
    assert [r["severity"] for r in rows] == ["INFO", "WARNING", "WARNING", "ERROR"]
    assert [r["component"] for r in rows] == ["ingest", "trading", "ml_pipeline", "alpaca"]
    assert all(r["correlation_id"] == "c1" for r in rows)
    assert rows[0]["timestamp"] == T0
    assert "order_rejected buy 5" in rows[1]["description"]
    assert "AAPL" in rows[1]["description"]
    assert rows[2]["description"].startswith("get_features 12.5 ms (timeout)")
    assert rows[3]["description"] == "ConnectionError: broker down"
    assert rows[0]["metadata"] == {"rows": 10}
    assert rows[3]["metadata"]["stack_trace"] == "Traceback…"


def test_performance_error_maps_to_error_severity(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(PerformanceLog(timestamp=T0, operation_name="x", duration_ms=Decimal(1), status="error"))
        session.commit()
    with engine.connect() as conn:
        assert conn.execute(select(recent_system_activity.c.severity)).scalar_one() == "ERROR"


def _feature_rows(symbol: str, n: int, rsi_from: int) -> list[FeatureEngineeredData]:
    return [
        FeatureEngineeredData(
            symbol=symbol, interval="1d", source="test", timestamp=T0 + timedelta(days=i), close=100.0 + i,
            rsi_1d=50.0 if i >= rsi_from else None, price_ma_short=101.0 if i >= 1 else None,
            feature_version="3.0",
        )
        for i in range(n)
    ]  # fmt: skip


def test_summary_refreshes(engine: Engine) -> None:
    refresh_dashboard_summary(engine)
    with engine.connect() as conn:
        assert conn.execute(select(mv_features_dashboard_summary)).all() == []
    with Session(engine) as session:
        session.add_all(_feature_rows("AAPL", 10, rsi_from=5) + _feature_rows("MSFT", 4, rsi_from=0))
        session.commit()
    refresh_dashboard_summary(engine)
    with engine.connect() as conn:
        rows = {r["symbol"]: r for r in conn.execute(select(mv_features_dashboard_summary)).mappings().all()}
    assert set(rows) == {"AAPL", "MSFT"}
    assert rows["AAPL"]["total_records"] == 10
    assert rows["AAPL"]["latest_timestamp"] == T0 + timedelta(days=9)
    assert rows["AAPL"]["latest_version"] == "3.0"
    assert abs(rows["AAPL"]["rsi_coverage"] - 0.5) < 1e-12
    assert abs(rows["AAPL"]["ma_coverage"] - 0.9) < 1e-12
    assert abs(rows["MSFT"]["rsi_coverage"] - 1.0) < 1e-12
    # A second refresh (CONCURRENTLY on PostgreSQL, now that the view has data) keeps it right.
    refresh_dashboard_summary(engine)
    with engine.connect() as conn:
        assert len(conn.execute(select(mv_features_dashboard_summary)).all()) == 2
