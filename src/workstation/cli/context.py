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
    _settings: Settings | None = field(default=None, init=False)
    _engine: Engine | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.database_url_option)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_db_engine(self.settings.database_url)
            from workstation.monitoring.cli_support import engine_created

            engine_created(self._engine)  # the command's logs, timing and errors go to this database
        return self._engine


def app_context() -> AppContext:
    """The AppContext of the running command (works from any nested command)."""
    ctx = click.get_current_context()
    obj = ctx.find_object(AppContext)
    if obj is None:  # a command invoked on its own, e.g. from a test
        obj = ctx.ensure_object(AppContext)
    return obj
