"""Reading the activity stream: filtered, paged queries over recent_system_activity and the trace of one id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Select, or_, select

from workstation.db.logs import UserActionLog
from workstation.db.views import SEVERITY_RANK, recent_system_activity
from workstation.errors import ConfigurationError

VIEW_SOURCES = ("system_log", "trading_event", "performance_log", "error_log")
USER_ACTION_SOURCE = "user_action"


@dataclass(frozen=True)
class ActivityEntry:
    """One line of the activity stream (a row of recent_system_activity, or a user action in a trace)."""

    source: str
    timestamp: datetime
    severity: str
    component: str
    description: str
    correlation_id: str | None
    metadata: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def severity_at_least(minimum: str) -> list[str]:
    """The severities whose rank is at least ``minimum`` (case-insensitive); a clear error for an unknown name."""
    key = minimum.upper()
    if key == "WARN":
        key = "WARNING"
    if key not in SEVERITY_RANK:
        raise ConfigurationError(f"unknown severity {minimum!r}: use one of {', '.join(SEVERITY_RANK)}")
    return [name for name, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[key]]


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ConfigurationError(f"{name} must be timezone-aware (times are UTC in storage)")
    return value


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def activity_select(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_severity: str | None = None,
    component: str | None = None,
    source: str | None = None,
    text: str | None = None,
    correlation_id: str | None = None,
) -> Select[Any]:
    """The filtered SELECT over the view, without order or paging (for callers that add their own)."""
    view = recent_system_activity.c
    query = select(recent_system_activity)
    if _aware(since, "since") is not None:
        query = query.where(view.timestamp >= since)
    if _aware(until, "until") is not None:
        query = query.where(view.timestamp < until)
    if min_severity:
        query = query.where(view.severity.in_(severity_at_least(min_severity)))
    if component:
        # A component matches itself and its children: "workstation.market" covers "workstation.market.yahoo".
        query = query.where(
            or_(view.component == component, view.component.like(_escape_like(component) + ".%", escape="\\"))
        )
    if source:
        if source not in VIEW_SOURCES:
            raise ConfigurationError(f"unknown source {source!r}: use one of {', '.join(VIEW_SOURCES)}")
        query = query.where(view.source == source)
    if text:
        query = query.where(view.description.ilike(f"%{_escape_like(text)}%", escape="\\"))
    if correlation_id:
        query = query.where(view.correlation_id == correlation_id)
    return query


def query_activity(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_severity: str | None = None,
    component: str | None = None,
    source: str | None = None,
    text: str | None = None,
    correlation_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    oldest_first: bool = False,
) -> list[ActivityEntry]:
    """Activity rows matching every given filter, newest first (``oldest_first`` for following a stream).

    ``since`` is inclusive and ``until`` exclusive; ``limit``/``offset`` page through the result.
    """
    if limit < 1 or offset < 0:
        raise ConfigurationError("limit must be at least 1 and offset at least 0")
    view = recent_system_activity.c
    query = activity_select(
        since=since,
        until=until,
        min_severity=min_severity,
        component=component,
        source=source,
        text=text,
        correlation_id=correlation_id,
    )
    order = view.timestamp.asc() if oldest_first else view.timestamp.desc()
    query = query.order_by(order, view.source, view.description).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [_entry(row._mapping) for row in conn.execute(query)]


def _entry(row: Any) -> ActivityEntry:
    return ActivityEntry(
        source=row["source"],
        timestamp=row["timestamp"],
        severity=row["severity"],
        component=row["component"],
        description=row["description"],
        correlation_id=row["correlation_id"],
        metadata=row["metadata"],
    )


def _user_action_severity(status: int | None) -> str:
    # HTTP-like statuses for UI actions; small non-zero numbers are CLI exit codes (failures).
    if status is None or status == 0 or 200 <= status < 400:
        return "INFO"
    if status >= 500:
        return "ERROR"
    return "WARNING"


def user_action_entry(row: Mapping[Any, Any]) -> ActivityEntry:
    """A user_action_logs row (as a mapping of column names) in the shape of the activity stream."""
    parts = [row["action_type"]]
    if row["request_method"]:
        parts.append(row["request_method"])
    if row["request_path"]:
        parts.append(row["request_path"])
    description = " ".join(parts)
    status = row["response_status"]
    if status is not None:
        description += f" -> {status}"
    if row["duration_ms"] is not None:
        description += f" ({Decimal(row['duration_ms']):.1f} ms)"
    metadata = dict(row["metadata"] or {})
    for key in ("user_id", "session_id", "ip_address", "user_agent", "response_status", "duration_ms"):
        value = row[key]
        if value is not None:
            metadata[key] = str(value) if key in ("ip_address", "duration_ms") else value
    return ActivityEntry(
        source=USER_ACTION_SOURCE,
        timestamp=row["timestamp"],
        severity=_user_action_severity(status),
        component=row["user_id"] or "user",
        description=description,
        correlation_id=row["correlation_id"],
        metadata=metadata or None,
    )


_SOURCE_ORDER = {USER_ACTION_SOURCE: 0, "system_log": 1, "trading_event": 2, "error_log": 3, "performance_log": 4}


def trace(engine: Engine, correlation_id: str, *, limit: int = 10_000) -> list[ActivityEntry]:
    """Everything one correlation id touched, across all five log tables, oldest first.

    The four tables of recent_system_activity come through the view; user_action_logs is not in
    the view and is read directly. At equal timestamps, a user action comes before what it caused.
    """
    if not correlation_id.strip():
        raise ConfigurationError("a correlation id is required")
    view = recent_system_activity.c
    activity = (
        select(recent_system_activity)
        .where(view.correlation_id == correlation_id)
        .order_by(view.timestamp.asc())
        .limit(limit)
    )
    table = UserActionLog.__table__
    actions = (
        select(table)
        .where(table.c.correlation_id == correlation_id)
        .order_by(table.c.timestamp.asc(), table.c.id.asc())
        .limit(limit)
    )
    with engine.connect() as conn:
        entries = [_entry(row._mapping) for row in conn.execute(activity)]
        entries += [user_action_entry(row._mapping) for row in conn.execute(actions)]
    entries.sort(key=lambda e: (e.timestamp, _SOURCE_ORDER.get(e.source, 9)))
    return entries[:limit]
