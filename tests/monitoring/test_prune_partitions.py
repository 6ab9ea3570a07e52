"""logs prune on partitioned PostgreSQL: whole months older than the cutoff are archived and dropped, the rows
of the month that straddles it are deleted; a cancelled archive puts every month back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from monitoring_helpers import TABLES, count
from sqlalchemy import Engine, text

from workstation.db.partition_maintenance import Range, detach, reattach
from workstation.db.partitions import LOG_TABLES, ensure_partitions, ensure_partitions_for, to_micros
from workstation.errors import JobCancelledError
from workstation.jobs import CancelToken, ProgressUpdate
from workstation.monitoring.retention import prune_logs, read_archive

CUTOFF = datetime(2024, 3, 10, tzinfo=UTC)
NOW = CUTOFF + timedelta(days=90)


@pytest.fixture
def three_months(pg_engine: Engine) -> Engine:
    """system_logs: one row an hour from 15 January to 20 March 2024; error_logs: one a day."""
    ensure_partitions_for(pg_engine, LOG_TABLES, [datetime(2024, m, 15, tzinfo=UTC) for m in (1, 2, 3)])
    with pg_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO system_logs (timestamp, level, message) SELECT t, 'INFO', 'line '||t"
                " FROM generate_series('2024-01-15+00'::timestamptz, '2024-03-20', '1 hour') t"
            )
        )
        conn.execute(
            text(
                "INSERT INTO error_logs (timestamp, error_type, error_message) SELECT t, 'E', 'x'"
                " FROM generate_series('2024-01-15+00'::timestamptz, '2024-03-20', '1 day') t"
            )
        )
    return pg_engine


def _ranges(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT relname FROM pg_class WHERE relname LIKE '%\\_p2024\\_%'")).scalars())


def _older(engine: Engine, table: str) -> int:
    return count(engine, table, "timestamp < :cutoff", cutoff=CUTOFF)


def test_whole_months_are_dropped_and_the_straddling_month_is_deleted(three_months: Engine, tmp_path: Path) -> None:
    engine = three_months
    old_logs, old_errors = _older(engine, "system_logs"), _older(engine, "error_logs")
    kept_logs = count(engine, "system_logs") - old_logs
    dry = prune_logs(engine, timedelta(days=90), dry_run=True, now=NOW)
    whole = {f"{t}_p2024_{m}" for t in TABLES for m in ("01", "02")}
    assert set(dry.partitions_dropped) == whole
    assert dry.deleted["system_logs"] == old_logs and _ranges(engine) >= whole  # a dry run changes nothing
    with engine.connect() as conn:
        ids = set(conn.execute(text("SELECT id FROM system_logs WHERE timestamp < :c"), {"c": CUTOFF}).scalars())

    archive = tmp_path / "old.jsonl.gz"
    report = prune_logs(engine, timedelta(days=90), archive=archive, now=NOW)
    assert set(report.partitions_dropped) == whole
    assert report.deleted["system_logs"] == old_logs and report.deleted["error_logs"] == old_errors
    remaining = _ranges(engine)
    assert not remaining & whole and not any(name.endswith("_detached") for name in remaining)
    assert {f"{t}_p2024_03" for t in TABLES} <= remaining  # the month holding the cutoff stays, emptied of old rows
    assert _older(engine, "system_logs") == 0 and count(engine, "system_logs") == kept_logs
    archived = read_archive(archive)
    assert {a["row"]["id"] for a in archived if a["table"] == "system_logs"} == ids
    assert sum(a["table"] == "error_logs" for a in archived) == old_errors
    assert prune_logs(engine, timedelta(days=90), now=NOW).total == 0


def test_without_an_archive_whole_months_are_simply_dropped(three_months: Engine) -> None:
    old = _older(three_months, "system_logs")
    report = prune_logs(three_months, timedelta(days=90), now=NOW)
    assert report.deleted["system_logs"] == old and "system_logs_p2024_01" in report.partitions_dropped
    assert _older(three_months, "system_logs") == 0


def test_a_cancelled_archive_puts_every_month_back(three_months: Engine, tmp_path: Path) -> None:
    before = {t: count(three_months, t) for t in TABLES}
    cancel = CancelToken()

    def progress(update: ProgressUpdate) -> None:
        if "archiving" in update.message and update.done > 100:
            cancel.cancel()

    with pytest.raises(JobCancelledError):
        prune_logs(three_months, timedelta(days=90), archive=tmp_path / "a.jsonl.gz", now=NOW, progress=progress,
                   cancel=cancel)  # fmt: skip
    assert {t: count(three_months, t) for t in TABLES} == before
    assert {"system_logs_p2024_01", "system_logs_p2024_02"} <= _ranges(three_months)
    assert not any(name.endswith("_detached") for name in _ranges(three_months))
    assert not (tmp_path / "a.jsonl.gz").exists()


def test_late_rows_of_a_detached_month_are_kept_when_it_goes_back(three_months: Engine) -> None:
    engine = three_months
    january = Range("system_logs", "system_logs_p2024_01", *(int(s) for s in to_micros(
        [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)])))  # fmt: skip
    before = count(engine, "system_logs")
    detached = detach(engine, january)
    assert count(engine, "system_logs") < before
    # A spill replay brings a January row meanwhile: the month gets a fresh range.
    late = datetime(2024, 1, 20, 12, tzinfo=UTC)
    assert ensure_partitions(engine, "system_logs", [late]) == ["system_logs_p2024_01"]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO system_logs (timestamp, level, message) VALUES (:t, 'INFO', 'late')"), {"t": late}
        )
    reattach(engine, january, detached)  # the detached rows join the fresh range
    assert count(engine, "system_logs") == before + 1
    assert detached not in _ranges(engine)
