"""INSERT … ON CONFLICT for both databases: PostgreSQL and SQLite spell it the same way in SQLAlchemy,
but each through its own dialect's ``insert``; this picks the one the connection speaks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite


def conflict_insert(bind: Connection | Engine, table: Any) -> Any:
    """``insert(table)`` of the bind's dialect, which has ``on_conflict_do_nothing/_do_update`` and ``excluded``."""
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
