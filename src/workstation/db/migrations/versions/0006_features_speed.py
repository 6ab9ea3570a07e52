"""feature build state: per-series fingerprint for fast incremental builds; dashboard summary from it

Revision ID: 0006_features_speed
Revises: 0007_market_speed
Create Date: 2026-11-26

feature_build_state holds, per (symbol, interval, feature_version), the bar source, the last bar
built, the count and checksum of the bars the features were computed from, and the stored row counts
(all rows, non-null rsi_1d, non-null price_ma_short). The builder keeps it in step with
feature_engineered_data in the same transaction. It lets an incremental build decide from one grouped
query over market_data which symbols only need their tail, and lets the dashboard summary aggregate
a thousand small rows instead of scanning the wide table.

Existing feature rows get their counts here; their fingerprint is unknown (NULL), so the next build
compares those symbols bar by bar once and then records it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workstation.db.sqlfiles import apply_sql
from workstation.db.types import UTCDateTime

revision: str = "0006_features_speed"
down_revision: str | Sequence[str] | None = "0007_market_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "feature_build_state"

# Marks feature_build_state's counts stale when anything but the feature builder writes the feature table
# (see sql/postgresql/0006_features_speed.up.sql). Kept here: sqlfiles splits statements at line-end ';'.
_STALE_FUNCTION = """
CREATE FUNCTION feature_rows_written_elsewhere() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('workstation.feature_builder', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO feature_build_state_stale (id) VALUES (1)
            ON CONFLICT (id) DO UPDATE SET marked_at = clock_timestamp();
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("feature_version", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("built_through", UTCDateTime(), nullable=False),
        sa.Column("bar_count", sa.BigInteger(), nullable=True),
        sa.Column("bar_checksum", sa.String(length=200), nullable=True),
        sa.Column("total_records", sa.BigInteger(), nullable=False),
        sa.Column("rsi_records", sa.BigInteger(), nullable=False),
        sa.Column("ma_records", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "interval", "feature_version", name=op.f("pk_feature_build_state")),
    )
    op.execute(
        sa.text(
            f"INSERT INTO {TABLE} (symbol, interval, feature_version, source, built_through, total_records,"
            " rsi_records, ma_records)"
            " SELECT symbol, interval, feature_version, max(source), max(timestamp), count(*), count(rsi_1d),"
            " count(price_ma_short) FROM feature_engineered_data GROUP BY symbol, interval, feature_version"
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(_STALE_FUNCTION))
        apply_sql(op.get_bind(), "0006_features_speed.up")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        apply_sql(op.get_bind(), "0006_features_speed.down")
    op.drop_table(TABLE)
