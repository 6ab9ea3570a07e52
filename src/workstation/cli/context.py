"""Per-invocation state shared by the command groups: settings and the database engine, created lazily."""

from __future__ import annotations

from dataclasses import dataclass, field

import click
from sqlalchemy import Engine

from workstation.config import Settings, load_settings
from workstation.db.engine import create_db_engine


@dataclass
class AppContext:
    database_url_option: str | None = None
    # Set once the command has printed its JSON result, so an error after it adds no second object.
    result_printed: bool = False
    _settings: Settings | None = field(default=None, init=False)
    _engine: Engine | None = field(default=None, init=False)
    _monitored: bool = field(default=False, init=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.database_url_option)
        return self._settings

    _schema_checked: bool = field(default=False, init=False)

    @property
    def engine(self) -> Engine:
        """The database, with its schema at head (created on first use; see ``ensure_schema``)."""
        if not self._schema_checked:
            from workstation.db.migrate import ensure_schema
            from workstation.db.partition_maintenance import create_ahead_quietly

            engine = self._engine or create_db_engine(self.settings.database_url)
            ensure_schema(engine)  # before monitoring starts writing into the log tables
            create_ahead_quietly(engine)  # PostgreSQL: this and next month's ranges exist before anyone writes
            self._engine = engine
            self._schema_checked = True
        return self.unchecked_engine

    @property
    def unchecked_engine(self) -> Engine:
        """The database as it is, for commands that manage the schema themselves (``workstation db …``)."""
        if self._engine is None:
            self._engine = create_db_engine(self.settings.database_url)
        if not self._monitored:
            from workstation.monitoring.cli_support import engine_created

            self._monitored = True
            engine_created(self._engine)  # the command's logs, timing and errors go to this database
        return self._engine


def app_context() -> AppContext:
    """The AppContext of the running command (works from any nested command)."""
    ctx = click.get_current_context()
    obj = ctx.find_object(AppContext)
    if obj is None:  # a command invoked on its own, e.g. from a test
        obj = ctx.ensure_object(AppContext)
    return obj
