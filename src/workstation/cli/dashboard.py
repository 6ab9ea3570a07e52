"""``workstation dashboard``: the feature dashboard summary (mv_features_dashboard_summary)."""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.cli.output import echo_json, echo_table
from workstation.db.engine import check_connection


@click.group("dashboard")
def command() -> None:
    """Refresh and show the per-symbol feature summary."""


@command.command("refresh")
def refresh_cmd() -> None:
    """Recompute the summary (CONCURRENTLY on PostgreSQL: readers are never blocked)."""
    import time

    from workstation.db.summary import dashboard_summary, refresh_dashboard_summary

    engine = app_context().engine
    check_connection(engine)
    started = time.perf_counter()
    refresh_dashboard_summary(engine)
    count = len(dashboard_summary(engine))
    click.echo(f"dashboard summary refreshed: {count} symbols in {time.perf_counter() - started:.2f}s")


@command.command("summary")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def summary_cmd(as_json: bool) -> None:
    """Per symbol: latest bar, rows, latest feature version, RSI and MA coverage."""
    from workstation.db.summary import dashboard_summary

    engine = app_context().engine
    check_connection(engine)
    rows = dashboard_summary(engine)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ("symbol", "latest", "rows", "version", "rsi_coverage", "ma_coverage"),
        [
            (r["symbol"], r["latest_timestamp"].isoformat() if r["latest_timestamp"] else "", f"{r['total_records']:,}",
             r["latest_version"], f"{r['rsi_coverage']:.1%}", f"{r['ma_coverage']:.1%}")
            for r in rows
        ],
    )  # fmt: skip
    if not rows:
        click.echo("no features yet: run 'workstation features build'")
