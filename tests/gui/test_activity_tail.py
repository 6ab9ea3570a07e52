"""The log monitor's Qt-free parts on SQLite and PostgreSQL: the tail, its filters, the database probe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, create_engine, insert

from workstation.dashboard.activity import ActivityFilter, ActivityTail, probe_database
from workstation.dashboard.loading import describe_ingest
from workstation.db.logs import ErrorLog, SystemLog
from workstation.market.ingest import IngestSummary, SymbolSummary
from workstation.market.validation import Reject


def _log(engine: Engine, when: datetime, message: str, level: str = "INFO", cid: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(SystemLog).values(
                timestamp=when, level=level, logger_name="workstation.test", message=message, correlation_id=cid
            )
        )


def test_tail_returns_each_row_once_including_late_arrivals(engine: Engine) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for i in range(5):
        _log(engine, now - timedelta(seconds=30 - i), f"old {i}")
    tail = ActivityTail(backlog=3)
    first = tail.poll(engine)
    assert [e.description for e in first] == ["old 2", "old 3", "old 4"]  # the newest backlog, oldest first
    assert tail.poll(engine) == []
    _log(engine, now, "new")
    # Written after "new" but stamped before it (a background writer, another process): still shown.
    _log(engine, now - timedelta(seconds=3), "late")
    second = tail.poll(engine)
    assert sorted(e.description for e in second) == ["late", "new"]
    assert tail.poll(engine) == []


def test_tail_filters_run_in_the_database(engine: Engine) -> None:
    now = datetime.now(UTC)
    _log(engine, now - timedelta(seconds=3), "routine", "INFO", "gui-a")
    _log(engine, now - timedelta(seconds=2), "disk almost full", "WARNING", "gui-b")
    with engine.begin() as conn:
        conn.execute(
            insert(ErrorLog).values(
                timestamp=now - timedelta(seconds=1), error_type="ValueError", error_message="bad bar",
                stack_trace="Traceback…", component="workstation.market", correlation_id="gui-b",
            )
        )  # fmt: skip
    warnings = ActivityTail(ActivityFilter(min_severity="WARNING")).poll(engine)
    assert {e.description for e in warnings} == {"disk almost full", "ValueError: bad bar"}
    errors = ActivityTail(ActivityFilter(source="error_log", component="workstation.market")).poll(engine)
    assert [e.severity for e in errors] == ["ERROR"]
    assert errors[0].metadata is not None and errors[0].metadata["stack_trace"] == "Traceback…"
    by_id = ActivityTail(ActivityFilter(correlation_id="gui-b", text="DISK")).poll(engine)
    assert [e.description for e in by_id] == ["disk almost full"]


def test_probe_reports_latency_or_the_reason(engine: Engine) -> None:
    health = probe_database(engine)
    assert health.ok and health.latency_ms >= 0 and health.backend in ("sqlite", "postgresql")
    down = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    bad = probe_database(down)
    assert not bad.ok
    assert "cannot open database" in bad.message


def test_ingest_outcome_names_rejects_and_failures() -> None:
    summary = IngestSummary(interval="1d", source="csv")
    summary.symbols["ACME"] = SymbolSummary(inserted=10)
    summary.rejects = [Reject(row=7, symbol="ACME", reason="high below low")]
    summary.failures = {"XYZ": "no data"}
    outcome = describe_ingest("Import a.csv", summary)
    assert outcome.level == "warning" and outcome.stored and outcome.intervals == ["1d"]
    assert "1 rows rejected (row 7: high below low)" in outcome.message
    assert "failed XYZ: no data" in outcome.message
    nothing = describe_ingest("Download", IngestSummary(failures={"AAPL": "unreachable"}, interval="1d"))
    assert nothing.level == "error" and not nothing.stored and nothing.intervals == []
