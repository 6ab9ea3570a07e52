"""Retention: remove old log rows, optionally archiving them first to a gzip-compressed JSONL file.

On PostgreSQL the log tables are partitioned by month (0011): a month wholly older than the cutoff is
detached, archived and dropped as a whole — no row-by-row DELETE, no dead tuples to vacuum — and only
the rows older than the cutoff in the month that straddles it are deleted. Elsewhere (SQLite, or a
schema before 0011) every old row is deleted in chunks.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, delete, func, select

from workstation.db.partition_maintenance import Range, detach, drop_detached, reattach, whole_ranges_before
from workstation.errors import ConfigurationError, JobCancelledError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.monitoring.rows import LOG_TABLES

_DURATION = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_CHUNK = 5_000


def parse_duration(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``, ``1d12h``, ``30m`` → timedelta; a one-line error for anything else."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned or _DURATION.sub("", cleaned):
        raise ConfigurationError(f"cannot read duration {text!r}: use a number and a unit, e.g. 90d, 12h, 2w, 30m")
    seconds = sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION.findall(cleaned))
    if seconds <= 0:
        raise ConfigurationError(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


@dataclass
class PruneReport:
    cutoff: datetime
    deleted: dict[str, int] = field(default_factory=dict)
    archive: Path | None = None
    dry_run: bool = False
    partitions_dropped: list[str] = field(default_factory=list)  # whole months removed (would be, on a dry run)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "deleted": self.deleted,
            "total": self.total,
            "archive": str(self.archive) if self.archive else None,
            "dry_run": self.dry_run,
            "partitions_dropped": self.partitions_dropped,
        }


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def prune_logs(
    engine: Engine,
    older_than: timedelta,
    *,
    archive: Path | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> PruneReport:
    """Remove rows older than ``older_than`` from the five log tables.

    With ``archive``, every row is first written to that gzip JSONL file (one object per line:
    ``{"table": …, "row": {…}}``), which is closed and synced before anything is removed. Months wholly
    older than the cutoff are detached before they are archived, so no row can join them unarchived (a
    late row of such a month gets a fresh range and waits for the next prune); they are dropped after the
    archive is safe, or attached again when archiving fails or is cancelled. The other rows are deleted
    only when they reached the archive: the delete is bounded by the highest archived id, so a row that
    arrives late with an old timestamp (a spill replay) is kept for the next prune.
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    report = PruneReport(cutoff=cutoff, archive=archive, dry_run=dry_run)
    if archive is not None and archive.exists():
        raise ConfigurationError(f"archive {archive} already exists: choose a new file name")
    whole = [part for name in LOG_TABLES for part in whole_ranges_before(engine, name, cutoff)]
    report.partitions_dropped = [part.name for part in whole]
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(select(func.count()).select_from(t).where(t.c.timestamp < cutoff)).scalar_one())
            for name, t in LOG_TABLES.items()
        }
    if dry_run:
        report.deleted = counts
        return report
    total = sum(counts.values())
    report.deleted = dict.fromkeys(LOG_TABLES, 0)
    detached: list[tuple[Range, str]] = []
    try:
        for part in whole:
            detached.append((part, detach(engine, part)))
        bounds = _archive(engine, cutoff, archive, total, detached, progress, cancel) if archive is not None else None
    except BaseException:
        for part, name in detached:  # nothing was removed: the months go back where they were
            reattach(engine, part, name)
        raise
    done = 0
    for part, name in detached:
        removed = drop_detached(engine, name)
        report.deleted[part.table] += removed
        done += removed
        progress(ProgressUpdate(done, max(total, done), f"dropped {part.name}"))
    for name, table in LOG_TABLES.items():
        condition = table.c.timestamp < cutoff
        if bounds is not None:
            if bounds.get(name) is None:
                continue
            condition = condition & (table.c.id <= bounds[name])
        while True:  # in chunks, so a big prune never holds one huge transaction
            if cancel is not None and cancel.cancelled:
                raise JobCancelledError(f"prune cancelled after removing {done} rows")
            with engine.begin() as conn:
                ids = select(table.c.id).where(condition).order_by(table.c.id).limit(_CHUNK).scalar_subquery()
                # The time condition outside too: PostgreSQL then scans only the ranges before the cutoff.
                removed = conn.execute(delete(table).where(condition, table.c.id.in_(ids))).rowcount or 0
            report.deleted[name] += removed
            done += removed
            progress(ProgressUpdate(done, max(total, done), f"deleting {name}"))
            if removed < _CHUNK:
                break
    return report


def _detached_table(table: Table, name: str) -> Table:
    """A detached month of ``table`` (same columns and types, its own name)."""
    return Table(name, MetaData(), *(Column(c.name, c.type) for c in table.columns))


def _archive(
    engine: Engine,
    cutoff: datetime,
    path: Path,
    total: int,
    detached: list[tuple[Range, str]],
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> dict[str, int | None]:
    """Stream the rows to ``path`` (via a temporary file renamed at the end): each table's detached months,
    then its other rows before the cutoff. Returns the highest id of those other rows per table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    highest: dict[str, int | None] = {}
    written = 0
    try:
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            for name, table in LOG_TABLES.items():
                months = [_detached_table(table, d) for part, d in detached if part.table == name]
                for source in (*months, table):
                    last_id = 0
                    condition = source.c.timestamp < cutoff
                    while True:
                        if cancel is not None and cancel.cancelled:
                            raise JobCancelledError("prune cancelled while archiving; nothing was deleted")
                        query = select(source).where(condition, source.c.id > last_id).order_by(source.c.id)
                        with engine.connect() as conn:
                            rows = [dict(r._mapping) for r in conn.execute(query.limit(_CHUNK))]
                        for row in rows:
                            out.write(json.dumps({"table": name, "row": row}, default=_json_default) + "\n")
                        written += len(rows)
                        progress(ProgressUpdate(written, max(total, written), f"archiving {name}"))
                        if rows:
                            last_id = int(rows[-1]["id"])
                        if len(rows) < _CHUNK:
                            break
                    if source is table:
                        highest[name] = last_id or None
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return highest


def read_archive(path: Path) -> list[dict[str, Any]]:
    """The archived rows of ``path`` (for checks and restores): ``[{"table": …, "row": {…}}, …]``."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
