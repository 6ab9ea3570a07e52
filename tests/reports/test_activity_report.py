"""The activity report from seeded log tables, on both databases, in all four formats."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
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
