"""The activity report from seeded log tables, on both databases, in all four formats."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from workstation.db.models import ErrorLog, PerformanceLog, SystemLog, TradingEvent
from workstation.db.partitions import LOG_TABLES, ensure_partitions_for
from workstation.reports.activity import build_activity_report
from workstation.reports.period import ReportPeriod

T0 = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    ensure_partitions_for(engine, LOG_TABLES, [T0 - timedelta(days=40), T0 + timedelta(minutes=5)])
    with Session(engine) as session:
        session.add_all(
            [SystemLog(timestamp=T0, level="WARNING", message="slow feed", logger_name="market")]
            + [ErrorLog(timestamp=T0 + timedelta(minutes=i), error_type="ConnectionError", error_message="down",
                        component="alpaca") for i in range(3)]
            + [ErrorLog(timestamp=T0, error_type="ValueError", error_message="bad", component="ingest")]
            + [PerformanceLog(timestamp=T0, operation_name="get_features", component="ml_pipeline",
                              duration_ms=Decimal(ms), status="success") for ms in range(1, 101)]
            + [PerformanceLog(timestamp=T0, operation_name="ingest", component="market", duration_ms=Decimal(5),
                              status="timeout")]
            + [TradingEvent(timestamp=T0, event_type="risk_rejected", symbol="AAPL", side="buy",
                            quantity=Decimal(500), order_id="c-1", metadata_={"reason": "max notional exceeded"})]
            # Outside the reporting period: must not count.
            + [ErrorLog(timestamp=T0 - timedelta(days=40), error_type="Old", error_message="x", component="old")]
        )  # fmt: skip
        session.commit()


def test_activity_report_content(engine: Engine) -> None:
    _seed(engine)
    document = build_activity_report(engine, ReportPeriod(date(2024, 4, 1), date(2024, 5, 31)))
    tables = {t.name: t for t in document.tables()}
    errors = tables["errors"].rows
    assert errors[0]["component"] == "alpaca"
    assert errors[0]["count"] == 3
    assert {e["component"] for e in errors} == {"alpaca", "ingest"}
    slowest = {r["operation"]: r for r in tables["slowest"].rows}
    assert slowest["get_features"]["p50_ms"] == pytest.approx(50.5)
    assert slowest["get_features"]["p95_ms"] == pytest.approx(95.05)
    assert slowest["ingest"]["failures"] == 1
    (rejection,) = tables["rejections"].rows
    assert rejection["reason"] == "max notional exceeded"
    totals = {r["metric"]: r["value"] for r in tables["totals"].rows}
    assert totals["Errors"] == 4
    assert totals["Warnings"] == 1


def test_totals_equal_the_tables_for_the_open_period(engine: Engine) -> None:
    """The default period is open at both ends: no WHERE clause, and every total must still count its table
    (a bare SELECT count(*) without FROM said 1 for each)."""
    _seed(engine)
    with Session(engine) as session:
        session.add_all(
            [SystemLog(timestamp=T0 + timedelta(seconds=i), level="INFO", message=f"step {i}", logger_name="cli")
             for i in range(22)]
            + [TradingEvent(timestamp=T0 + timedelta(seconds=i), event_type="order_filled", symbol="AAPL", side="buy",
                            quantity=Decimal(10), order_id=f"c-{i + 2}") for i in range(18)]
        )  # fmt: skip
        session.commit()
    document = build_activity_report(engine, ReportPeriod())
    tables = {t.name: t for t in document.tables()}
    totals = {r["metric"]: r["value"] for r in tables["totals"].rows}
    with engine.connect() as conn:
        counted = {
            name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in ("system_logs", "error_logs", "trading_events", "performance_logs")
        }
    assert counted == {"system_logs": 23, "error_logs": 5, "trading_events": 19, "performance_logs": 101}
    assert totals["Log records"] == counted["system_logs"]
    assert totals["Warnings"] == 1
    assert totals["Errors"] == counted["error_logs"] == sum(r["count"] for r in tables["errors"].rows)
    assert totals["Trading events"] == counted["trading_events"]
    assert totals["Timed operations"] == counted["performance_logs"] == sum(r["count"] for r in tables["slowest"].rows)
    # Bounded periods count the same way (the old row is 40 days before the rest).
    bounded = build_activity_report(engine, ReportPeriod(date(2024, 4, 1), None))
    assert {r["metric"]: r["value"] for r in next(t for t in bounded.tables() if t.name == "totals").rows}[
        "Errors"
    ] == 4


def test_operations_beyond_the_listed_ones_are_named(engine: Engine) -> None:
    ensure_partitions_for(engine, LOG_TABLES, [T0])
    with Session(engine) as session:
        session.add_all(
            [PerformanceLog(timestamp=T0, operation_name=f"op{i:02d}", component="x", duration_ms=Decimal(i + 1),
                            status="success") for i in range(30)]
        )  # fmt: skip
        session.commit()
    slowest = next(t for t in build_activity_report(engine, ReportPeriod()).tables() if t.name == "slowest")
    assert [r["operation"] for r in slowest.rows][:2] == ["op29", "op28"]
    assert len(slowest.rows) == 25
    assert slowest.note == "The 5 faster operations (5 calls) are not listed."


@pytest.mark.parametrize("fmt", ["html", "pdf", "csv", "xlsx"])
def test_report_cli_writes_every_format(db_url: str, tmp_path: Path, fmt: str) -> None:
    from workstation.db.engine import create_db_engine

    engine = create_db_engine(db_url)
    _seed(engine)
    engine.dispose()
    out = tmp_path / f"activity.{fmt}"
    result = subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db_url, "report", "--kind", "activity",
         "--out", str(out), "--from", "2024-04-01", "--to", "2024-05-31"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = [Path(line) for line in result.stdout.split()]
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    if fmt == "html":
        assert "max notional exceeded" in out.read_text()
    if fmt == "csv":
        assert {p.name for p in written} >= {"activity.errors.csv", "activity.slowest.csv"}


def test_report_cli_rejects_bad_dates(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workstation", "report", "--kind", "activity", "--out", str(tmp_path / "a.html"),
         "--from", "yesterday"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not a date" in result.stderr
    assert "Traceback" not in result.stderr
