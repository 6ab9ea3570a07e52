"""``workstation ingest``: bars from CSV files, Yahoo or Alpaca into market_data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import pandas as pd

from workstation.cli.context import app_context
from workstation.cli.output import echo_json, echo_table
from workstation.cli.progress import progress_and_cancel
from workstation.market.ingest import IngestSummary
from workstation.market.providers.csv_format import CsvFormat

MAX_REJECTS_SHOWN = 20


def parse_when(value: str | None, option: str) -> pd.Timestamp | None:
    """'2024-01-31' or an ISO time; without a zone it is New York time (the exchange's)."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)", param_hint=option) from None
    return stamp.tz_localize("America/New_York") if stamp.tzinfo is None else stamp


def parse_columns(value: str | None) -> dict[str, str] | None:
    if not value:
        return None
    mapping: dict[str, str] = {}
    for part in value.split(","):
        field, sep, column = part.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise click.BadParameter(f"{part!r}: write FIELD=COLUMN, e.g. close=Last", param_hint="--columns")
        mapping[field.strip().lower()] = column.strip()
    return mapping


_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}


def csv_format(delimiter: str | None, decimal: str | None, dayfirst: bool | None) -> CsvFormat:
    """The --delimiter/--decimal/--dayfirst options as the reader's CsvFormat."""
    if delimiter is not None:
        delimiter = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
        if len(delimiter) != 1:
            raise click.BadParameter(f"{delimiter!r}: one character, or tab", param_hint="--delimiter")
    return CsvFormat(delimiter=delimiter, decimal=decimal, dayfirst=dayfirst)


def csv_format_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say how a bar CSV is written (ingest csv and backtest --csv share the reader)."""
    decorators = [
        click.option("--tz", help="Time zone of timestamps without one (default America/New_York)."),
        click.option("--columns", help="Explicit column mapping, e.g. timestamp=Day,close=Last,symbol=Ticker."),
        click.option("--delimiter", metavar="CHAR", help="Field delimiter: , ; | or tab (default: detected)."),
        click.option(
            "--decimal", type=click.Choice([".", ","]), help="Decimal mark of the numbers (default: detected)."
        ),
        click.option(
            "--dayfirst/--monthfirst",
            "dayfirst",
            default=None,
            help="Read 01.02.2014 as 1 February / as January 2 (default: detected; dotted dates day first).",
        ),
        click.option(
            "--no-volume",
            is_flag=True,
            help="The file has no volume column: store volume 0 (volume features then mean nothing).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def report(summary: IngestSummary, as_json: bool) -> None:
    """Print the summary and leave with its exit code (0 all stored, 1 failures or rejects)."""
    if as_json:
        echo_json(summary.to_dict())
    else:
        rows = [
            (s, v.inserted, v.updated, v.unchanged, v.rejected, (v.first or "")[:19], (v.last or "")[:19], v.adjustment)
            for s, v in sorted(summary.symbols.items())
        ]
        if rows:
            echo_table(("symbol", "inserted", "updated", "unchanged", "rejected", "first", "last", "adjustment"), rows)
        for reject in summary.rejects[:MAX_REJECTS_SHOWN]:
            click.echo(f"rejected row {reject.row} ({reject.symbol or '?'}): {reject.reason}", err=True)
        if summary.rejected > MAX_REJECTS_SHOWN:
            click.echo(f"… and {summary.rejected - MAX_REJECTS_SHOWN} more rejected rows (--json lists all)", err=True)
        for symbol, reason in sorted(summary.failures.items()):
            click.echo(f"failed {symbol}: {reason}", err=True)
        if summary.no_volume:
            click.echo("no volume column: volume stored as 0 (volume features of these bars mean nothing)", err=True)
        verb = "nothing written (--strict and rows were rejected); would have" if summary.aborted else ""
        click.echo(
            f"{verb}{' ' if verb else ''}inserted {summary.inserted}, updated {summary.updated}, "
            f"unchanged {summary.unchanged}, rejected {summary.rejected}, failed symbols {len(summary.failures)}"
        )
    if summary.exit_code:
        raise click.exceptions.Exit(summary.exit_code)


def _run(label: str, as_json: bool, job: Callable[..., IngestSummary], **kwargs: Any) -> None:
    engine = app_context().engine
    with progress_and_cancel(label, enabled=not as_json) as (progress, cancel):
        summary = job(engine, progress=progress, cancel=cancel, **kwargs)
    report(summary, as_json)


@click.group("ingest")
def command() -> None:
    """Load bars into market_data (validated, split-adjusted, idempotent)."""


_json = click.option("--json", "as_json", is_flag=True, help="Print one JSON summary instead of a table.")
_strict = click.option("--strict", is_flag=True, help="Write nothing if any row is rejected.")


@command.command("csv")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--symbol", help="Symbol of a one-symbol file (default: from the file name), or pick one from a long file."
)
@click.option("--interval", help="Bar interval, e.g. 1d, 1h, 15m (default: detected from the timestamps).")
@click.option("--source", default="csv", show_default=True, help="Source name stored with the bars.")
@csv_format_options
@_strict
@_json
def csv_cmd(
    path: str, symbol: str | None, interval: str | None, source: str, tz: str | None, columns: str | None,
    delimiter: str | None, decimal: str | None, dayfirst: bool | None, no_volume: bool, strict: bool, as_json: bool,
) -> None:  # fmt: skip
    """Import bars from a CSV file (Yahoo layout, long layout with a symbol column, European files, …)."""
    from workstation.market.ingest import ingest_csv

    check_tz(tz)
    _run(
        "ingest csv", as_json, ingest_csv, path=path, symbol=symbol.upper() if symbol else None, interval=interval,
        source=source, tz=tz, columns=parse_columns(columns), fmt=csv_format(delimiter, decimal, dayfirst),
        no_volume=no_volume, strict=strict,
    )  # fmt: skip


def check_tz(tz: str | None) -> None:
    if tz is None:
        return
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:
        raise click.BadParameter(f"unknown time zone {tz!r} (e.g. America/New_York, UTC)", param_hint="--tz") from None


def _symbol_list(value: str) -> list[str]:
    return [s for s in (part.strip().upper() for part in value.split(",")) if s]


@command.command("yahoo")
@click.option("--symbols", required=True, help="Comma-separated symbols, e.g. AAPL,MSFT.")
@click.option("--interval", default="1d", show_default=True, help="1d, 1wk, 1mo, 1h, 30m, 15m, 5m, 2m, 1m.")
@click.option("--start", help="First day (YYYY-MM-DD).")
@click.option("--end", help="Day after the last one (YYYY-MM-DD).")
@click.option("--period", help="Instead of --start: 5d, 3mo, 2y, ytd, max.")
@click.option("--since", type=click.Choice(["last"]), help="'last': only bars after the newest stored one.")
@_strict
@_json
def yahoo_cmd(
    symbols: str, interval: str, start: str | None, end: str | None, period: str | None, since: str | None,
    strict: bool, as_json: bool,
) -> None:  # fmt: skip
    """Download bars and company metadata from Yahoo Finance."""
    from workstation.market.ingest import ingest_yahoo

    if period and start:
        raise click.UsageError("give --start or --period, not both")
    _run(
        "ingest yahoo", as_json, ingest_yahoo, symbols=_symbol_list(symbols), interval=interval,
        start=parse_when(start, "--start"), end=parse_when(end, "--end"), period=period, since_last=since == "last",
        strict=strict,
    )  # fmt: skip


@command.command("alpaca")
@click.option("--symbols", required=True, help="Comma-separated symbols, e.g. AAPL,MSFT.")
@click.option("--timeframe", default="1Day", show_default=True, help="1Day, 1Hour, 15Min, 5Min, 1Min, 1Week.")
@click.option("--start", help="First day (YYYY-MM-DD); default 5 years back (30 days for intraday).")
@click.option("--end", help="Last time (YYYY-MM-DD or ISO time); default now.")
@click.option("--feed", type=click.Choice(["iex", "sip"]), default="iex", show_default=True)
@click.option(
    "--adjustment", type=click.Choice(["raw", "split", "dividend", "all"]), default="split", show_default=True
)
@click.option("--since", type=click.Choice(["last"]), help="'last': only bars after the newest stored one.")
@_strict
@_json
def alpaca_cmd(
    symbols: str, timeframe: str, start: str | None, end: str | None, feed: str, adjustment: str,
    since: str | None, strict: bool, as_json: bool,
) -> None:  # fmt: skip
    """Download bars from Alpaca's market-data API (APCA_API_KEY_ID / APCA_API_SECRET_KEY)."""
    from workstation.market.ingest import ingest_alpaca

    _run(
        "ingest alpaca", as_json, ingest_alpaca, symbols=_symbol_list(symbols), timeframe=timeframe,
        start=parse_when(start, "--start"), end=parse_when(end, "--end"), feed=feed, adjustment=adjustment,
        since_last=since == "last", strict=strict,
    )  # fmt: skip
