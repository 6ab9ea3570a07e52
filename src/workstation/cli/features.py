"""``workstation features``: build the feature catalog into feature_engineered_data, list the catalog."""

from __future__ import annotations

import click

from workstation.cli.cluster import announce, scheduler_option
from workstation.cli.context import app_context
from workstation.cli.output import echo_json, echo_table
from workstation.cli.progress import progress_and_cancel
from workstation.errors import InvalidInputError, RefusedError


@click.group("features")
def command() -> None:
    """Compute TA-Lib features from stored bars; list the feature catalog."""


@command.command("build")
@click.option("--symbols", default=None, metavar="A,B", help="Comma-separated symbols (default: all with bars).")
@click.option("--interval", default="1d", show_default=True, help="Bar interval to build from.")
@click.option("--full", is_flag=True, help="Recompute every bar instead of only new and revised ones.")
@scheduler_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def build_cmd(symbols: str | None, interval: str, full: bool, scheduler: str | None, as_json: bool) -> None:
    """Compute features for new (or revised) bars and refresh the dashboard summary.

    With --scheduler, batches of symbols run on the Dask cluster's workers, each writing through its
    own connection to the (PostgreSQL) database."""
    from workstation.cluster.jobs import build_features_on

    wanted = None if symbols is None else [s for s in symbols.split(",") if s.strip()]
    if wanted is not None and not wanted:
        raise InvalidInputError("--symbols is empty")
    ctx = app_context()
    with progress_and_cancel("features", enabled=not as_json) as (progress, cancel):
        summary = build_features_on(
            ctx.engine, scheduler=scheduler, announce=announce, symbols=wanted, interval=interval, full=full,
            progress=progress, cancel=cancel,
        )  # fmt: skip
    if as_json:
        echo_json(summary.as_dict())
    else:
        rows = [
            (s.symbol, s.source, s.mode, "" if s.since is None else s.since.isoformat(), f"{s.rows_written:,}",
             s.error or "")
            for s in summary.symbols
        ]  # fmt: skip
        rows += [(symbol, "", "skipped", "", "0", reason) for symbol, reason in summary.skipped.items()]
        echo_table(("symbol", "source", "mode", "from", "rows", "note"), rows)
        click.echo(
            f"{summary.rows_written:,} rows of feature version {summary.feature_version} ({interval}) "
            f"for {len(summary.symbols)} symbols in {summary.seconds:.1f}s"
            + ("; dashboard summary refreshed" if summary.summary_refreshed else "")
        )
    if summary.failed or summary.skipped:
        problems = len(summary.failed) + len(summary.skipped)
        raise RefusedError(f"{problems} symbol(s) skipped or failed; the others were built")


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_cmd(as_json: bool) -> None:
    """The feature catalog: name, group, definition, computation, warm-up."""
    from workstation.features.catalog import CATALOG, FEATURE_VERSION

    if as_json:
        echo_json([spec.as_dict() | {"feature_version": FEATURE_VERSION} for spec in CATALOG])
        return
    echo_table(
        ("name", "group", "warmup", "history", "definition"),
        [(s.name, s.group, s.warmup, s.history, s.definition) for s in CATALOG],
    )
    click.echo(f"{len(CATALOG)} features, version {FEATURE_VERSION}")
