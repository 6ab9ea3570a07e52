"""``workstation db``: create, migrate and inspect the database."""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.cli.output import confirm_or_refuse, echo_json, echo_table
from workstation.db import migrate
from workstation.db.engine import check_connection


@click.group("db")
def command() -> None:
    """Create, migrate and inspect the database."""


@command.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
def upgrade_cmd(revision: str) -> None:
    """Bring the database to the newest schema (creates it on first use)."""
    ctx = app_context()
    check_connection(ctx.unchecked_engine)
    before = migrate.current_revisions(ctx.unchecked_engine)
    after = migrate.upgrade(ctx.unchecked_engine, revision)
    status = "already up to date" if before == after else f"upgraded {','.join(before) or 'empty'} -> "
    if before != after:
        status += ",".join(after)
    click.echo(f"{ctx.settings.backend}: {status}")


@command.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def downgrade_cmd(revision: str, yes: bool) -> None:
    """Undo migrations down to REVISION ('base' drops every table and its data)."""
    ctx = app_context()
    if not yes:
        confirm_or_refuse(f"Downgrade {ctx.settings.backend} database to {revision}? Data may be lost")
    after = migrate.downgrade(ctx.unchecked_engine, revision)
    click.echo(f"{ctx.settings.backend}: now at {','.join(after) or 'base'}")


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_cmd(as_json: bool) -> None:
    """Show the backend, URL, schema revision and row counts."""
    status = migrate.database_status(app_context().unchecked_engine)
    if as_json:
        echo_json(status)
        return
    click.echo(f"backend:  {status['backend']}")
    click.echo(f"url:      {status['url']}")
    state = "up to date" if status["up_to_date"] else f"head is {status['head']}; run 'workstation db upgrade'"
    click.echo(f"revision: {status['revision'] or 'none (empty database)'} ({state})")
    rows = [(name, "missing" if count is None else f"{count:,}") for name, count in status["tables"].items()]
    echo_table(("table", "rows"), rows)
