"""Alert rules over the activity stream, producing records the GUI (or ``workstation logs alerts``) shows.

Rules: the error rate above N per minute; an order rejected (by the broker or by risk checks);
market data stale (the newest intraday bar of a symbol ended longer than X ago during the regular
session, on the exchange calendar: holidays and early closes are quiet); a worker or operation failing
repeatedly. Every threshold is in ``AlertThresholds``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, select

from workstation.db.logs import ErrorLog, PerformanceLog, TradingEvent
from workstation.db.market import MarketData
from workstation.db.views import recent_system_activity
from workstation.market.calendar import session_open_at
from workstation.market.providers.synthetic import SOURCE as SYNTHETIC_SOURCE

_INTERVAL = re.compile(r"^(\d+)\s*(m|min|t|h|hour|d|day|wk|w|mo)$", re.IGNORECASE)
_INTERVAL_UNITS = {"m": 60, "min": 60, "t": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400, "wk": 604800,
                   "w": 604800, "mo": 2_592_000}  # fmt: skip
_SEVERITY_ORDER = {"CRITICAL": 0, "ERROR": 1, "WARNING": 2, "INFO": 3}


@dataclass(frozen=True)
class AlertThresholds:
    error_rate_per_minute: float = 10.0
    error_rate_window: timedelta = timedelta(minutes=5)
    order_rejected_lookback: timedelta = timedelta(hours=1)
    market_data_stale_after: timedelta | None = timedelta(minutes=15)
    market_hours_only: bool = True  # outside the regular session quiet data is normal
    worker_failures: int = 3
    worker_failure_window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Alert:
    rule: str  # error_rate | order_rejected | market_data_stale | worker_failing
    severity: str  # WARNING | ERROR | CRITICAL
    title: str
    detail: str
    key: str  # stable identity of the condition (rule + subject), for de-duplication in the GUI
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    component: str | None = None
    correlation_ids: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["correlation_ids"] = list(self.correlation_ids)
        return data


def interval_length(interval: str) -> timedelta | None:
    match = _INTERVAL.match(interval.strip())
    if not match:
        return None
    return timedelta(seconds=int(match.group(1)) * _INTERVAL_UNITS[match.group(2).lower()])


def evaluate_alerts(
    engine: Engine, *, thresholds: AlertThresholds | None = None, now: datetime | None = None
) -> list[Alert]:
    """All alerts whose condition holds at ``now``, most severe and most recent first."""
    limits = thresholds or AlertThresholds()
    at = now or datetime.now(UTC)
    with engine.connect() as conn:
        alerts = [
            *_error_rate(conn, limits, at),
            *_order_rejections(conn, limits, at),
            *_stale_market_data(conn, limits, at),
            *_failing_workers(conn, limits, at),
        ]
    alerts.sort(key=lambda a: a.last_seen, reverse=True)
    alerts.sort(key=lambda a: _SEVERITY_ORDER.get(a.severity, 9))
    return alerts


def _error_rate(conn: Any, limits: AlertThresholds, now: datetime) -> list[Alert]:
    view = recent_system_activity.c
    start = now - limits.error_rate_window
    query = (
        select(view.component, func.count(), func.min(view.timestamp), func.max(view.timestamp))
        .where(view.timestamp >= start, view.timestamp <= now, view.severity.in_(("ERROR", "CRITICAL")))
        .group_by(view.component)
    )
    rows = conn.execute(query).all()
    total = sum(int(r[1]) for r in rows)
    minutes = limits.error_rate_window.total_seconds() / 60.0
    rate = total / minutes if minutes > 0 else float(total)
    if rate <= limits.error_rate_per_minute:
        return []
    top = sorted(rows, key=lambda r: int(r[1]), reverse=True)[:3]
    components = ", ".join(f"{r[0]} ({int(r[1])})" for r in top)
    return [
        Alert(
            rule="error_rate",
            severity="CRITICAL" if rate > 5 * limits.error_rate_per_minute else "ERROR",
            title=f"{rate:.3g} errors per minute",
            detail=f"{total} errors in the last {minutes:g} min (threshold {limits.error_rate_per_minute:g}/min); "
            f"most from {components}",
            key="error_rate",
            first_seen=min(r[2] for r in rows),
            last_seen=max(r[3] for r in rows),
            count=total,
        )
    ]


def _order_rejections(conn: Any, limits: AlertThresholds, now: datetime) -> list[Alert]:
    t = TradingEvent.__table__
    query = (
        select(t)
        .where(
            t.c.event_type.in_(("order_rejected", "risk_rejected")),
            t.c.timestamp >= now - limits.order_rejected_lookback,
            t.c.timestamp <= now,
        )
        .order_by(t.c.timestamp.desc())
        .limit(100)
    )
    alerts = []
    for row in conn.execute(query).mappings():
        metadata = row["metadata"] or {}
        reason = metadata.get("reason") or metadata.get("message") or "no reason given"
        who = "risk checks" if row["event_type"] == "risk_rejected" else "the broker"
        subject = " ".join(str(v) for v in (row["side"], row["quantity"], row["symbol"]) if v is not None)
        alerts.append(
            Alert(
                rule="order_rejected",
                severity="WARNING",
                title=f"order rejected by {who}: {subject or row['order_id'] or 'order'}",
                detail=f"{reason}" + (f" (order {row['order_id']})" if row["order_id"] else ""),
                key=f"order_rejected:{row['order_id'] or row['id']}",
                first_seen=row["timestamp"],
                last_seen=row["timestamp"],
                component=row["strategy"] or "trading",
                correlation_ids=(row["correlation_id"],) if row["correlation_id"] else (),
            )
        )
    return alerts


def _stale_market_data(conn: Any, limits: AlertThresholds, now: datetime) -> list[Alert]:
    if limits.market_data_stale_after is None:
        return []
    opened = session_open_at(now)
    if limits.market_hours_only and opened is None:
        return []
    # The demo universe's synthetic bars are a fixed history, never a feed: they are not stale, only old.
    query = (
        select(MarketData.symbol, MarketData.interval, func.max(MarketData.timestamp))
        .where(MarketData.source != SYNTHETIC_SOURCE)
        .group_by(MarketData.symbol, MarketData.interval)
    )
    newest: dict[str, tuple[datetime, str]] = {}
    for symbol, interval, latest in conn.execute(query):
        length = interval_length(interval)
        if length is None or length >= timedelta(days=1) or latest is None:
            continue  # daily and longer bars are not a live feed
        if latest.tzinfo is None:
            latest = latest.replace(tzinfo=UTC)
        end = latest + length
        if symbol not in newest or end > newest[symbol][0]:
            newest[symbol] = (end, interval)
    alerts = []
    for symbol, (end, interval) in sorted(newest.items()):
        reference = max(end, opened) if opened is not None else end
        age = now - reference
        if age > limits.market_data_stale_after:
            alerts.append(
                Alert(
                    rule="market_data_stale",
                    severity="WARNING",
                    title=f"{symbol} market data stale for {_human(age)}",
                    detail=f"newest {interval} bar ended {end.isoformat()}; "
                    f"threshold {_human(limits.market_data_stale_after)}",
                    key=f"market_data_stale:{symbol}",
                    first_seen=end,
                    last_seen=now,
                    component="market",
                )
            )
    return alerts


def _failing_workers(conn: Any, limits: AlertThresholds, now: datetime) -> list[Alert]:
    start = now - limits.worker_failure_window
    e, p = ErrorLog.__table__, PerformanceLog.__table__
    errors = (
        select(e.c.component, func.count(), func.min(e.c.timestamp),
               func.max(e.c.timestamp), func.max(e.c.error_type), func.max(e.c.correlation_id))
        .where(e.c.timestamp >= start, e.c.timestamp <= now)
        .group_by(e.c.component)
    )  # fmt: skip
    failures = (
        select(p.c.component, p.c.operation_name, func.count(),
               func.min(p.c.timestamp), func.max(p.c.timestamp), func.max(p.c.status), func.max(p.c.correlation_id))
        .where(and_(p.c.timestamp >= start, p.c.timestamp <= now, p.c.status != "success"))
        .group_by(p.c.component, p.c.operation_name)
    )  # fmt: skip
    found = [(row[0] or "application", *row[1:]) for row in conn.execute(errors)]
    found_runs = [(f"{row[0] or 'performance'}/{row[1]}", *row[2:]) for row in conn.execute(failures)]
    alerts = []
    window = _human(limits.worker_failure_window)
    for kind, rows in (("errors", found), ("failed runs", found_runs)):
        for subject, count, first, last, sample, cid in rows:
            if int(count) < limits.worker_failures:
                continue
            alerts.append(
                Alert(
                    rule="worker_failing",
                    severity="ERROR",
                    title=f"{subject} failing repeatedly: {int(count)} {kind} in {window}",
                    detail=f"latest {sample}; threshold {limits.worker_failures} in {window}",
                    key=f"worker_failing:{subject}",
                    first_seen=first,
                    last_seen=last,
                    count=int(count),
                    component=subject,
                    correlation_ids=(cid,) if cid else (),
                )
            )
    return alerts


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


class AlertTracker:
    """Remembers which alerts were already shown, so a panel can pop up only the new ones."""

    def __init__(self) -> None:
        self._active: dict[str, Alert] = {}

    def update(self, alerts: list[Alert]) -> tuple[list[Alert], list[Alert]]:
        """(newly raised, resolved since the last update)."""
        current = {a.key: a for a in alerts}
        raised = [a for k, a in current.items() if k not in self._active]
        resolved = [a for k, a in self._active.items() if k not in current]
        self._active = current
        return raised, resolved
