"""Retention: delete old log rows, optionally archiving them first to a gzip-compressed JSONL file."""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select

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
    ``{"table": …, "row": {…}}``), which is closed and synced before anything is deleted. Only
    rows that reached the archive are deleted: the delete is bounded by the highest archived id,
    so a row that arrives late with an old timestamp (a spill replay) is kept for the next prune.
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    report = PruneReport(cutoff=cutoff, archive=archive, dry_run=dry_run)
    if archive is not None and archive.exists():
        raise ConfigurationError(f"archive {archive} already exists: choose a new file name")
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(select(func.count()).select_from(t).where(t.c.timestamp < cutoff)).scalar_one())
            for name, t in LOG_TABLES.items()
        }
    if dry_run:
        report.deleted = counts
        return report
    total = sum(counts.values())
    bounds = _archive(engine, cutoff, archive, total, progress, cancel) if archive is not None else None
    done = 0
    for name, table in LOG_TABLES.items():
        condition = table.c.timestamp < cutoff
        if bounds is not None:
            if bounds.get(name) is None:
                report.deleted[name] = 0
                continue
            condition = condition & (table.c.id <= bounds[name])
        deleted = 0
        while True:  # in chunks, so a big prune never holds one huge transaction
            if cancel is not None and cancel.cancelled:
                raise JobCancelledError(f"prune cancelled after deleting {done} rows")
            with engine.begin() as conn:
                ids = select(table.c.id).where(condition).order_by(table.c.id).limit(_CHUNK).scalar_subquery()
                removed = conn.execute(delete(table).where(table.c.id.in_(ids))).rowcount or 0
            deleted += removed
            done += removed
            progress(ProgressUpdate(done, max(total, done), f"deleting {name}"))
            if removed < _CHUNK:
                break
        report.deleted[name] = deleted
    return report


def _archive(
    engine: Engine,
    cutoff: datetime,
    path: Path,
    total: int,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> dict[str, int | None]:
    """Stream the rows to ``path`` (via a temporary file renamed at the end); the highest id per table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    highest: dict[str, int | None] = {}
    written = 0
    try:
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            for name, table in LOG_TABLES.items():
                last_id = 0
                highest[name] = None
                while True:
                    if cancel is not None and cancel.cancelled:
                        raise JobCancelledError("prune cancelled while archiving; nothing was deleted")
                    query = (
                        select(table)
                        .where(table.c.timestamp < cutoff, table.c.id > last_id)
                        .order_by(table.c.id)
                        .limit(_CHUNK)
                    )
                    with engine.connect() as conn:
                        rows = [dict(r._mapping) for r in conn.execute(query)]
                    for row in rows:
                        out.write(json.dumps({"table": name, "row": row}, default=_json_default) + "\n")
                    written += len(rows)
                    progress(ProgressUpdate(written, max(total, written), f"archiving {name}"))
                    if rows:
                        last_id = int(rows[-1]["id"])
                        highest[name] = last_id
                    if len(rows) < _CHUNK:
                        break
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
