"""The log monitor's data: a live tail over recent_system_activity, and a cheap database health probe.

Qt-free so that it is tested without a window; the GUI runs these calls in its pollers.

Following a view without ids: rows reach the tables through a background writer (and from other
processes), so a row stamped a moment *before* the newest one seen can still arrive after it. The
tail therefore re-reads a short overlap before its high-water mark and drops rows it has already
returned, by their identity (source, timestamp, component, description, correlation id).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine

from workstation.db.engine import check_connection
from workstation.errors import WorkstationError
from workstation.monitoring.query import ActivityEntry, query_activity

OVERLAP = timedelta(seconds=10)
BACKLOG = 500  # rows shown when the monitor opens or its filters change
PAGE = 2000  # most rows one poll returns (a burst beyond that continues on the next poll)

EntryKey = tuple[str, datetime, str, str, str | None]


def entry_key(entry: ActivityEntry) -> EntryKey:
    return (entry.source, entry.timestamp, entry.component, entry.description, entry.correlation_id)


@dataclass(frozen=True)
class ActivityFilter:
    """The monitor's filters; empty strings mean "any"."""

    min_severity: str = ""
    component: str = ""
    source: str = ""
    text: str = ""
    correlation_id: str = ""

    def query_kwargs(self) -> dict[str, str | None]:
        return {
            "min_severity": self.min_severity or None,
            "component": self.component.strip() or None,
            "source": self.source or None,
            "text": self.text.strip() or None,
            "correlation_id": self.correlation_id.strip() or None,
        }

    def with_correlation(self, correlation_id: str) -> ActivityFilter:
        return replace(self, correlation_id=correlation_id)


class ActivityTail:
    """Returns each activity row once, oldest first: first the newest ``backlog`` rows, then what is new.

    Not thread-safe by itself: the GUI runs one ``poll`` at a time (a Poller never overlaps rounds).
    """

    def __init__(self, filters: ActivityFilter | None = None, *, backlog: int = BACKLOG, page: int = PAGE) -> None:
        self.filters = filters or ActivityFilter()
        self.backlog = backlog
        self.page = page
        self.newest: datetime | None = None
        # Rows before the oldest one of a full backlog were left out on purpose: never shown later.
        self._floor: datetime | None = None
        self._seen: dict[EntryKey, datetime] = {}

    def poll(self, engine: Engine) -> list[ActivityEntry]:
        kwargs = self.filters.query_kwargs()
        if self.newest is None:
            rows = query_activity(engine, limit=self.backlog, **kwargs)  # type: ignore[arg-type]
            rows.reverse()
            if len(rows) >= self.backlog:
                self._floor = rows[0].timestamp
        else:
            since = self.newest - OVERLAP
            if self._floor is not None and self._floor > since:
                since = self._floor
            rows = query_activity(engine, since=since, limit=self.page, oldest_first=True, **kwargs)  # type: ignore[arg-type]
        fresh = [row for row in rows if entry_key(row) not in self._seen]
        for row in rows:
            self._seen[entry_key(row)] = row.timestamp
            if self.newest is None or row.timestamp > self.newest:
                self.newest = row.timestamp
        if self.newest is not None:
            horizon = self.newest - OVERLAP
            self._seen = {key: ts for key, ts in self._seen.items() if ts >= horizon}
        return fresh


@dataclass(frozen=True)
class DatabaseHealth:
    ok: bool
    latency_ms: float
    backend: str
    message: str = ""


def probe_database(engine: Engine) -> DatabaseHealth:
    """One round trip (``SELECT 1``) and how long it took; never raises for an unreachable database."""
    start = time.perf_counter()
    backend = engine.dialect.name
    try:
        check_connection(engine)
    except WorkstationError as exc:
        return DatabaseHealth(False, (time.perf_counter() - start) * 1000.0, backend, str(exc))
    return DatabaseHealth(True, (time.perf_counter() - start) * 1000.0, backend)
