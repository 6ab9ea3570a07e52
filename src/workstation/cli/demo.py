"""``workstation demo``: the offline demo universe."""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.cli.progress import progress_and_cancel


@click.group("demo")
def command() -> None:
    """Offline demo data (synthetic, clearly labelled)."""


@command.command("load")
@click.option("--symbols", default=50, show_default=True, type=int, help="How many synthetic symbols.")
@click.option("--years", default=5, show_default=True, type=int, help="Years of daily bars.")
@click.option("--seed", default=7, show_default=True, type=int, help="Same seed, same data.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary.")
def load_cmd(symbols: int, years: int, seed: int, as_json: bool) -> None:
    """Generate a synthetic universe (daily bars for YEARS years plus ~60 days of hourly bars).

    Stored with source 'synthetic'; company names say "(synthetic)". Loading it again changes nothing.
    """
    from workstation.cli.ingest import report
    from workstation.market.demo import load_demo_universe

    with progress_and_cancel("demo load", enabled=not as_json) as (progress, cancel):
        summary = load_demo_universe(
            app_context().engine, symbols=symbols, years=years, seed=seed, progress=progress, cancel=cancel
        )
    report(summary, as_json)
