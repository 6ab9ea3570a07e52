"""Alembic environment: always driven from workstation.db.migrate with a live connection."""

from __future__ import annotations

from alembic import context

from workstation.db import models  # noqa: F401  (registers every table on Base.metadata)
from workstation.db.base import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'workstation db upgrade', not the alembic command")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
