"""``workstation logs``: tail and follow the activity stream, trace one correlation id, prune, alerts."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from workstation.cli.context import app_context
from workstation.cli.output import confirm_or_refuse, echo_json, echo_table
from workstation.cli.progress import progress_and_cancel
from workstation.errors import ConfigurationError, WorkstationError
from workstation.monitoring.alerts import AlertThresholds, evaluate_alerts
from workstation.monitoring.query import VIEW_SOURCES, ActivityEntry, query_activity, severity_at_least, trace
from workstation.monitoring.retention import parse_duration, prune_logs


@click.group("logs")
def command() -> None:
    """Read the application's logs: activity, traces, alerts; prune old rows."""


def _local(ts: datetime) -> str:
    return ts.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _since(text: str | None) -> datetime | None:
    """``--since 2h`` (a duration back from now) or an ISO time (UTC unless it names a zone)."""
    if not text:
        return None
    try:
        return datetime.now(UTC) - parse_duration(text)
    except ConfigurationError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"cannot read --since {text!r}: use a duration such as 2h or an ISO time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _print_entry(entry: ActivityEntry, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(entry.to_dict(), default=str, ensure_ascii=False))
        return
    cid = f" [{entry.correlation_id}]" if entry.correlation_id else ""
    click.echo(f"{_local(entry.timestamp)} {entry.severity:<8} {entry.component}: {entry.description}{cid}")


def _key(entry: ActivityEntry) -> tuple[Any, ...]:
    return (entry.source, entry.timestamp, entry.description, entry.correlation_id)


@command.command("tail")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new rows as they arrive (Ctrl+C stops).")
@click.option("--severity", metavar="LEVEL", help="Only rows at least this severe (DEBUG … CRITICAL).")
@click.option("--component", metavar="NAME", help="Only this component (a logger name covers its children).")
@click.option("--source", type=click.Choice(VIEW_SOURCES), help="Only rows from this log table.")
@click.option("--grep", "text", metavar="TEXT", help="Only rows whose description contains TEXT (any case).")
@click.option("--correlation-id", metavar="ID", help="Only rows of this correlation id.")
@click.option("--since", metavar="WHEN", help="Only rows since a duration ago (2h, 1d) or an ISO time.")
@click.option("--limit", "-n", default=50, show_default=True, type=click.IntRange(min=1), help="Rows to show.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.1), help="Poll seconds.")
@click.option("--for", "follow_for", type=float, default=None, hidden=True, help="Stop following after N s.")
@click.option("--json", "as_json", is_flag=True, help="JSON: one array (or one object per line with --follow).")
def tail_cmd(
    follow: bool,
    severity: str | None,
    component: str | None,
    source: str | None,
    text: str | None,
    correlation_id: str | None,
    since: str | None,
    limit: int,
    interval: float,
    follow_for: float | None,
    as_json: bool,
) -> None:
    """Show the newest activity (system logs, trading events, timings, errors), oldest of them first."""
    if severity:
        severity_at_least(severity)  # a clear error before touching the database
    filters: dict[str, Any] = {
        "min_severity": severity,
        "component": component,
        "source": source,
        "text": text,
        "correlation_id": correlation_id,
    }
    engine = app_context().engine
    entries = list(reversed(query_activity(engine, since=_since(since), limit=limit, **filters)))
    if as_json and not follow:
        echo_json([e.to_dict() for e in entries])
        return
    for entry in entries:
        _print_entry(entry, as_json)
    if not follow:
        return
    last = entries[-1].timestamp if entries else datetime.now(UTC)
    seen = {_key(e) for e in entries if e.timestamp == last}
    deadline = None if follow_for is None else time.monotonic() + follow_for
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(interval)
            fresh = query_activity(engine, since=last, limit=1000, oldest_first=True, **filters)
            for entry in fresh:
                if _key(entry) in seen:
                    continue
                _print_entry(entry, as_json)
                if entry.timestamp > last:
                    last, seen = entry.timestamp, set()
                seen.add(_key(entry))
            sys.stdout.flush()
    except KeyboardInterrupt:
        return


@command.command("trace")
@click.argument("correlation_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def trace_cmd(correlation_id: str, as_json: bool) -> None:
    """Everything one correlation id touched, across all five log tables, in time order."""
    entries = trace(app_context().engine, correlation_id)
    if not entries:
        raise WorkstationError(f"no log rows carry correlation id {correlation_id!r}")
    if as_json:
        echo_json({"correlation_id": correlation_id, "entries": [e.to_dict() for e in entries]})
        return
    start, end = entries[0].timestamp, entries[-1].timestamp
    sources = sorted({e.source for e in entries})
    click.echo(
        f"{correlation_id}: {len(entries)} rows from {', '.join(sources)}; "
        f"{_local(start)} to {_local(end)} ({(end - start).total_seconds() * 1000:.0f} ms)"
    )
    rows = [
        (f"+{(e.timestamp - start).total_seconds() * 1000:.1f} ms", e.source, e.severity, e.component, e.description)
        for e in entries
    ]
    echo_table(("at", "source", "severity", "component", "description"), rows)
    for entry in entries:  # the story is not complete without the stack traces
        stack = (entry.metadata or {}).get("stack_trace") if entry.source == "error_log" else None
        if stack:
            click.echo(f"\n{entry.description}\n{stack.rstrip()}")


@command.command("prune")
@click.option("--older-than", required=True, metavar="AGE", help="Delete rows older than this (90d, 12h, 2w).")
@click.option("--archive", type=click.Path(dir_okay=False, path_type=Path), help="Write them first to this .jsonl.gz.")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def prune_cmd(older_than: str, archive: Path | None, dry_run: bool, yes: bool, as_json: bool) -> None:
    """Delete old rows from the five log tables, optionally archiving them (gzip JSONL) first."""
    age = parse_duration(older_than)
    engine = app_context().engine
    if not dry_run and not yes and archive is None and sys.stdin.isatty():
        confirm_or_refuse(f"Delete log rows older than {older_than} without an archive?")
    with progress_and_cancel("prune", enabled=not as_json) as (progress, cancel):
        report = prune_logs(engine, age, archive=archive, dry_run=dry_run, progress=progress, cancel=cancel)
    if as_json:
        echo_json(report.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {report.total:,} rows older than {_local(report.cutoff)}")
    if report.partitions_dropped:
        click.echo(f"{'would drop' if dry_run else 'dropped'} whole months: {', '.join(report.partitions_dropped)}")
    echo_table(("table", "rows"), [(name, f"{count:,}") for name, count in report.deleted.items()])
    if report.archive is not None and not dry_run:
        click.echo(f"archive: {report.archive}")


@command.command("alerts")
@click.option("--error-rate", default=10.0, show_default=True, type=float, help="Errors per minute that alert.")
@click.option("--error-window", default="5m", show_default=True, help="Window for the error rate.")
@click.option("--rejections-since", default="1h", show_default=True, help="How far back rejected orders alert.")
@click.option("--stale-after", default="15m", show_default=True, help="Market data age that alerts ('off': never).")
@click.option("--all-hours", is_flag=True, help="Check market data outside the regular session too.")
@click.option("--worker-failures", default=3, show_default=True, type=click.IntRange(min=1), help="Failures to alert.")
@click.option("--worker-window", default="15m", show_default=True, help="Window for repeated failures.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def alerts_cmd(
    error_rate: float,
    error_window: str,
    rejections_since: str,
    stale_after: str,
    all_hours: bool,
    worker_failures: int,
    worker_window: str,
    as_json: bool,
) -> None:
    """Conditions that need attention now: error bursts, rejected orders, stale data, failing workers."""
    thresholds = AlertThresholds(
        error_rate_per_minute=error_rate,
        error_rate_window=parse_duration(error_window),
        order_rejected_lookback=parse_duration(rejections_since),
        market_data_stale_after=None if stale_after.lower() in ("off", "never") else parse_duration(stale_after),
        market_hours_only=not all_hours,
        worker_failures=worker_failures,
        worker_failure_window=parse_duration(worker_window),
    )
    alerts = evaluate_alerts(app_context().engine, thresholds=thresholds)
    if as_json:
        echo_json([a.to_dict() for a in alerts])
        return
    if not alerts:
        click.echo("no alerts")
        return
    echo_table(
        ("severity", "rule", "alert", "last seen", "detail"),
        [(a.severity, a.rule, a.title, _local(a.last_seen), a.detail) for a in alerts],
    )
