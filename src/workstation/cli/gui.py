"""``workstation gui`` (and ``workstation`` with no command): open the workstation window."""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.errors import ConfigurationError


@click.command("gui")
@click.option(
    "--quit-after",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Close the window after SECONDS: a start-up check for installers and CI.",
)
@click.option(
    "--live",
    type=click.Choice(["auto", "demo", "alpaca", "off"]),
    default=None,
    help="Live market data: auto (Alpaca with keys, else the demo replay of the demo universe), or force one.",
)
def command(quit_after: float | None, live: str | None) -> None:
    """Open the workstation window on the configured database."""
    if live is not None:
        import os

        from workstation.gui.live_plan import LIVE_ENV

        os.environ[LIVE_ENV] = live
    try:
        from workstation.gui.app import run_gui
    except ImportError as exc:  # e.g. a server install without Qt's system libraries
        raise ConfigurationError(f"the window cannot start: {exc}") from None
    ctx = app_context()
    code = run_gui(ctx.settings.database_url, option_url=ctx.database_url_option, quit_after=quit_after)
    if code:
        raise click.exceptions.Exit(code)
