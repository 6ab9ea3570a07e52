"""Schema migrations (Alembic) and the database status report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, inspect, text

from workstation.config import mask_url
from workstation.db import partitions
from workstation.db.engine import check_connection
from workstation.db.models import SPEC_TABLES, SPEC_VIEWS
from workstation.errors import ConfigurationError, InvalidInputError

_MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


class _QuietAlembic(logging.Filter):
    """Alembic announces its dialect on every connection ("Context impl …", "Will assume …"): that is
    noise in the log tables. What it says about revisions it runs stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith("Context impl") or message.startswith("Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietAlembic())


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    return config


def previous_revision(revision: str) -> str:
    """The revision ``revision`` comes after (e.g. the unpartitioned schema before "0011_partitioning")."""
    down = ScriptDirectory.from_config(_config()).get_revision(revision).down_revision
    if not isinstance(down, str):
        raise ConfigurationError(f"revision {revision} has no single predecessor")
    return down


def head_revisions() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(_config()).get_heads())


def current_revisions(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return tuple(MigrationContext.configure(conn).get_current_heads())


def _run(engine: Engine, action: str, target: str) -> None:
    check_connection(engine)
    config = _config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            if action == "upgrade":
                command.upgrade(config, target)
            else:
                command.downgrade(config, target)
        partitions.forget(engine)  # the tables may have become (or stopped being) partitioned
    except CommandError as exc:  # an unknown or unreachable revision: the user's target, nothing applied
        raise InvalidInputError(f"cannot {action} to {target!r}: {exc}") from None


def upgrade(engine: Engine, target: str = "heads") -> tuple[str, ...]:
    """Bring the database to ``target`` (all heads by default), creating it on first use."""
    _run(engine, "upgrade", target)
    return current_revisions(engine)


def downgrade(engine: Engine, target: str = "base") -> tuple[str, ...]:
    _run(engine, "downgrade", target)
    return current_revisions(engine)


def ensure_schema(engine: Engine) -> tuple[str, ...]:
    """Make sure the schema is at head before a command uses the database; returns what was applied.

    An empty database (first use) gets the whole schema. An older schema is brought up to date on
    SQLite — the embedded, single-user default — but on PostgreSQL, a shared production database,
    upgrading stays an explicit step (`workstation db upgrade`), so the error says so.
    """
    check_connection(engine)
    current, heads = set(current_revisions(engine)), set(head_revisions())
    if current == heads:
        return ()
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    if not current and tables:
        raise ConfigurationError(
            f"{mask_url(engine.url)} holds other tables but no workstation schema: use an empty database"
        )
    if current and engine.dialect.name != "sqlite":
        raise ConfigurationError(
            f"the database schema is at {','.join(sorted(current))} but this version needs "
            f"{','.join(sorted(heads))}: run 'workstation db upgrade'"
        )
    log.info("bringing the database schema from %s to %s", ",".join(sorted(current)) or "empty", ",".join(heads))
    return upgrade(engine)


def database_status(engine: Engine) -> dict[str, Any]:
    """What ``workstation db status`` prints: backend, masked URL, revision and row counts."""
    check_connection(engine)
    inspector = inspect(engine)
    present = set(inspector.get_table_names()) | set(inspector.get_view_names())
    if engine.dialect.name == "postgresql":
        present |= set(inspector.get_materialized_view_names())
    counts: dict[str, int | None] = {}
    with engine.connect() as conn:
        for name in (*SPEC_TABLES, *SPEC_VIEWS):
            counts[name] = (
                int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()) if name in present else None
            )
    revisions = current_revisions(engine)
    heads = head_revisions()
    return {
        "backend": "postgresql" if engine.dialect.name == "postgresql" else "sqlite",
        "url": mask_url(engine.url),
        "revision": ",".join(revisions) if revisions else None,
        "head": ",".join(heads),
        "up_to_date": set(revisions) == set(heads),
        "tables": counts,
    }
