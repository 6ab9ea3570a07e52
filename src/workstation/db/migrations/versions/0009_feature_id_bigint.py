"""feature_engineered_data.id: a 64-bit identity

Revision ID: 0009_feature_id_bigint
Revises: 0008_features_write_speed
Create Date: 2026-12-07

The spec kept SERIAL for this table, but every rebuild writes new rows with new ids: about 1,000 full
rebuilds of 1,000 symbols × 2,000 bars exhaust a 32-bit identity, and then no feature can be stored.
PostgreSQL: the column becomes BIGINT and the identity's sequence follows (PostgreSQL changes the
sequence type, its MAXVALUE and keeps its CACHE); the table and its indexes are rewritten once, under
an ACCESS EXCLUSIVE lock, so run it when no feature build is running. SQLite: nothing to change — an
INTEGER PRIMARY KEY is the table's 64-bit rowid already (declaring it BIGINT would make it an ordinary
column that no longer numbers itself).

The downgrade narrows the column back and refuses, changing nothing, while an id (or the sequence)
is beyond the 32-bit range.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from workstation.errors import RefusedError

revision: str = "0009_feature_id_bigint"
down_revision: str | Sequence[str] | None = "0008_features_write_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "feature_engineered_data"
INT32_MAX = 2_147_483_647


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id TYPE BIGINT")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # The sequence counts too: with CACHE 1000 it runs ahead of the ids stored.
    highest = bind.execute(
        text(
            f"SELECT greatest((SELECT max(id) FROM {TABLE}), "
            f"pg_sequence_last_value(pg_get_serial_sequence('{TABLE}', 'id')::regclass))"
        )
    ).scalar()
    if highest is not None and int(highest) > INT32_MAX:
        raise RefusedError(
            f"cannot downgrade below 0009_feature_id_bigint: {TABLE} has used ids up to {int(highest):,}, beyond "
            f"the 32-bit range; empty it first (TRUNCATE {TABLE} RESTART IDENTITY; "
            "'workstation features build --full' rebuilds the rows)"
        )
    op.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id TYPE INTEGER")
