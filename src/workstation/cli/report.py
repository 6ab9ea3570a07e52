"""``workstation report``: export a backtest, trading, models or activity report."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import cast

import click

from workstation.cli.context import app_context
from workstation.reports.period import ReportPeriod
from workstation.reports.service import (
    REPORT_FORMATS,
    REPORT_KINDS,
    ReportKind,
    build_report,
    write_report,
)


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-01-31") from None


@click.command("report")
@click.option("--kind", type=click.Choice(REPORT_KINDS), required=True, help="What the report is about.")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS), default=None, help="Default: from --out's suffix.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--from", "start", callback=_date, help="First day (YYYY-MM-DD, UTC).")
@click.option("--to", "end", callback=_date, help="Last day (YYYY-MM-DD, UTC), inclusive.")
@click.option("--model-id", help="The model (models report).")
@click.option("--backtest-id", help="The backtest run (backtest report; default: the newest).")
@click.option(
    "--broker", type=click.Choice(["paper", "alpaca"]), default="paper", show_default=True, help="Trading report."
)
@click.option("--tz", "timezone", default="America/New_York", show_default=True, help="Time zone for times shown.")
def command(
    kind: str,
    fmt: str | None,
    out: Path,
    start: date | None,
    end: date | None,
    model_id: str | None,
    backtest_id: str | None,
    broker: str,
    timezone: str,
) -> None:
    """Export a report as HTML, PDF, CSV or XLSX."""
    chosen = fmt or out.suffix.lstrip(".").lower()
    if chosen not in REPORT_FORMATS:
        raise click.BadParameter(f"cannot tell the format from {out.name!r}: pass --format", param_hint="--format")
    if start and end and end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    document = build_report(
        app_context().engine,
        cast(ReportKind, kind),
        period=ReportPeriod(start, end),
        model_id=model_id,
        backtest_id=backtest_id,
        broker=broker,
        timezone=timezone,
    )
    for path in write_report(document, chosen, out):
        click.echo(str(path))
