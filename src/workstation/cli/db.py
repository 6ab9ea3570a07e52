"""``workstation db``: create, migrate and inspect the database."""

from __future__ import annotations

import click

from workstation.cli.context import app_context
from workstation.cli.output import confirm_or_refuse, echo_json, echo_table
from workstation.db import migrate
from workstation.db.engine import check_connection
from workstation.db.partition_maintenance import create_ahead, create_ahead_quietly, partition_report


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
    if set(after) == set(migrate.head_revisions()):
        created = create_ahead_quietly(ctx.unchecked_engine)
        if created:
            click.echo(f"created partitions ahead: {', '.join(created)}")


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


@command.command("partitions")
@click.option("--ahead", default=1, show_default=True, type=click.IntRange(min=0, max=24), help="Months ahead.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def partitions_cmd(ahead: int, as_json: bool) -> None:
    """Create the partitions of now and the next months, empty any default partition, list them all.

    PostgreSQL only (SQLite has no partitions). Writes create the ranges they need on their own; run this
    from cron (say daily) so that they rarely have to.
    """
    engine = app_context().engine
    created = create_ahead(engine, months=ahead)
    report = partition_report(engine)
    if as_json:
        echo_json({"created": created, "partitions": report})
        return
    if engine.dialect.name != "postgresql":
        click.echo("sqlite: no partitions (PostgreSQL only)")
        return
    click.echo(f"created: {', '.join(created) if created else 'nothing (every range exists)'}")
    rows = [
        (r["table"], r["partition"], r["from"] or "DEFAULT", r["to"] or "", f"{r['rows_estimate']:,}",
         f"{r['bytes'] / 1e6:,.1f} MB")
        for r in report
    ]  # fmt: skip
    echo_table(("table", "partition", "from", "to", "rows (est.)", "size"), rows)
