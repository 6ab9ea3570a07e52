"""The activity report: errors by component, slowest operations (p50/p95), order rejections and reasons."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, func, select

from workstation.db.models import ErrorLog, PerformanceLog, SystemLog, TradingEvent
from workstation.reports.document import Column, ColumnFormat, KeyValues, Paragraph, ReportDocument, Section, Table
from workstation.reports.period import ReportPeriod

REJECTION_EVENTS = ("order_rejected", "risk_rejected")
SLOWEST_SHOWN = 25


def _errors_by_component(engine: Engine, period: ReportPeriod) -> list[dict[str, Any]]:
    query = (
        select(
            ErrorLog.component,
            ErrorLog.error_type,
            func.count().label("count"),
            func.max(ErrorLog.timestamp).label("last_seen"),
        )
        .where(*period.where(ErrorLog.timestamp))
        .group_by(ErrorLog.component, ErrorLog.error_type)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["component"] = row["component"] or "application"
    rows.sort(key=lambda r: (-r["count"], r["component"], r["error_type"]))
    return rows


def _slowest_operations(engine: Engine, period: ReportPeriod) -> list[dict[str, Any]]:
    """Every timed operation with its call count and duration percentiles, slowest p95 first."""
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    failures: dict[tuple[str, str], int] = defaultdict(int)
    query = select(
        PerformanceLog.operation_name, PerformanceLog.component, PerformanceLog.duration_ms, PerformanceLog.status
    ).where(*period.where(PerformanceLog.timestamp))
    with engine.connect() as conn:
        for name, component, duration, status in conn.execute(query.execution_options(yield_per=50_000)):
            key = (name, component or "")
            durations[key].append(float(duration))
            failures[key] += status != "success"
    rows: list[dict[str, Any]] = []
    for (name, component), values in durations.items():
        array = np.asarray(values)
        rows.append(
            {
                "operation": name,
                "component": component,
                "count": len(values),
                "p50_ms": float(np.percentile(array, 50)),
                "p95_ms": float(np.percentile(array, 95)),
                "max_ms": float(array.max()),
                "failures": failures[(name, component)],
            }
        )
    rows.sort(key=lambda r: r["p95_ms"], reverse=True)
    return rows


def _rejections(engine: Engine, period: ReportPeriod) -> list[dict[str, Any]]:
    query = (
        select(TradingEvent)
        .where(TradingEvent.event_type.in_(REJECTION_EVENTS), *period.where(TradingEvent.timestamp))
        .order_by(TradingEvent.timestamp.desc())
        .limit(500)
    )
    with engine.connect() as conn:
        events = conn.execute(query).all()
    rows = []
    for row in events:
        event = row._mapping
        metadata = event.get("metadata") or {}
        rows.append(
            {
                "timestamp": event["timestamp"],
                "event": event["event_type"],
                "symbol": event["symbol"],
                "side": event["side"],
                "quantity": event["quantity"],
                "order_id": event["order_id"],
                "reason": metadata.get("reason") or metadata.get("message") or "",
            }
        )
    return rows


def _count(conn: Connection, table: type[Any], period: ReportPeriod, *extra: ColumnElement[bool]) -> int:
    # select_from names the table: with an open period there is no WHERE clause to imply it, and a bare
    # SELECT count(*) counts the single row of an empty FROM (it said 1 whatever the table held).
    query = select(func.count()).select_from(table).where(*period.where(table.timestamp), *extra)
    return int(conn.execute(query).scalar_one())


def _totals(engine: Engine, period: ReportPeriod) -> list[tuple[str, Any, ColumnFormat]]:
    with engine.connect() as conn:
        logs = _count(conn, SystemLog, period)
        warnings = _count(conn, SystemLog, period, SystemLog.level == "WARNING")
        errors = _count(conn, ErrorLog, period)
        events = _count(conn, TradingEvent, period)
        timings = _count(conn, PerformanceLog, period)
    return [
        ("Log records", logs, "int"),
        ("Warnings", warnings, "int"),
        ("Errors", errors, "int"),
        ("Trading events", events, "int"),
        ("Timed operations", timings, "int"),
    ]


def build_activity_report(
    engine: Engine, period: ReportPeriod, *, alerts: list[dict[str, Any]] | None = None, timezone: str = "UTC"
) -> ReportDocument:
    errors = _errors_by_component(engine, period)
    operations = _slowest_operations(engine, period)
    slowest = operations[:SLOWEST_SHOWN]
    hidden = operations[SLOWEST_SHOWN:]
    slowest_note = (
        f"The {len(hidden):,} faster operations ({sum(r['count'] for r in hidden):,} calls) are not listed."
        if hidden
        else ""
    )
    rejections = _rejections(engine, period)
    sections = [
        Section("Overview", [KeyValues("Totals", _totals(engine, period))]),
        Section(
            "Errors by component",
            [
                Table(
                    "errors",
                    "Errors by component and type",
                    [
                        Column("component", "Component"),
                        Column("error_type", "Error type"),
                        Column("count", "Count", "int"),
                        Column("last_seen", "Last seen", "datetime"),
                    ],
                    errors,
                )
            ],
        ),
        Section(
            "Slowest operations",
            [
                Table(
                    "slowest",
                    "Slowest operations by p95 duration",
                    [
                        Column("operation", "Operation"),
                        Column("component", "Component"),
                        Column("count", "Calls", "int"),
                        Column("p50_ms", "p50 (ms)", "number", 1),
                        Column("p95_ms", "p95 (ms)", "number", 1),
                        Column("max_ms", "Max (ms)", "number", 1),
                        Column("failures", "Errors/timeouts", "int"),
                    ],
                    slowest,
                    note=slowest_note,
                )
            ],
        ),
        Section(
            "Order rejections",
            [
                Table(
                    "rejections",
                    "Rejected orders and their reasons (newest first, at most 500)",
                    [
                        Column("timestamp", "Time", "datetime"),
                        Column("event", "Event"),
                        Column("symbol", "Symbol"),
                        Column("side", "Side"),
                        Column("quantity", "Quantity", "number"),
                        Column("order_id", "Order"),
                        Column("reason", "Reason"),
                    ],
                    rejections,
                )
            ],
        ),
    ]
    if alerts is not None:
        alert_blocks: list[Table | Paragraph] = [
            Table(
                "alerts",
                "Alerts",
                [Column("timestamp", "Time", "datetime"), Column("rule", "Rule"), Column("severity", "Severity"),
                 Column("message", "Message")],
                alerts,
            )
        ]  # fmt: skip
        sections.append(Section("Alerts", list(alert_blocks)))
    return ReportDocument(
        kind="activity",
        title="Activity report",
        subtitle=period.describe(),
        generated_at=datetime.now(UTC),
        timezone=timezone,
        sections=sections,
    )
