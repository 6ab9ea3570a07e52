"""``workstation symbols``: the stock_info table."""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.cli.output import echo_json, echo_table
from workstation.errors import ExitCode


@click.group("symbols")
def command() -> None:
    """Symbol metadata (stock_info)."""


@command.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--source", default="csv", show_default=True, help="Source name stored with the rows.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary.")
def import_cmd(path: str, source: str, as_json: bool) -> None:
    """Import symbol metadata from a CSV (symbol plus company_name, sector, industry, market_cap, …)."""
    from workstation.market.symbols import import_symbols_csv

    summary = import_symbols_csv(app_context().engine, path, source=source)
    if as_json:
        echo_json(summary.to_dict())
    else:
        for reject in summary.rejects:
            click.echo(f"rejected row {reject.row} ({reject.symbol or '?'}): {reject.reason}", err=True)
        click.echo(f"imported {summary.imported}, rejected {len(summary.rejects)}")
    if summary.rejects:
        raise click.exceptions.Exit(ExitCode.REFUSED)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_cmd(as_json: bool) -> None:
    """List known symbols with their metadata and how many bars are stored."""
    from workstation.market.symbols import list_symbols

    rows = list_symbols(app_context().engine)
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ("symbol", "company", "sector", "exchange", "source", "bars", "first", "last"),
        [
            (r["symbol"], r["company_name"], r["sector"], r["exchange"], r["source"], r["bars"],
             (r["first"] or "")[:10], (r["last"] or "")[:10])
            for r in rows
        ],
    )  # fmt: skip
