"""live market data: the data-connection lease and the bar announcements

Revision ID: 0013_feed
Revises: 0011_partitioning
Create Date: 2026-12-07

feed_leases holds one row per Alpaca account: the process that owns the data connection, its heartbeat
and its published feed status (a lease row rather than a PostgreSQL advisory lock so that SQLite works
the same way, and so that a waiting process can ask the holder to hand over). market_data_events holds
one row per bar the feed inserted or revised, written in the bar's transaction; consumers read it from
their last id on (PostgreSQL also NOTIFYs them). Both are declared in workstation.market.tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013_feed"
down_revision: str | Sequence[str] | None = "0011_partitioning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)
_PRICE = sa.Numeric(18, 6)


def upgrade() -> None:
    op.create_table(
        "feed_leases",
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("acquired_at", _TS, nullable=False),
        sa.Column("heartbeat_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("handover_requested_by", sa.String(255), nullable=True),
        sa.Column("status", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("account", name="pk_feed_leases"),
    )
    op.create_table(
        "market_data_events",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("timestamp", _TS, nullable=False),
        sa.Column("open", _PRICE, nullable=False),
        sa.Column("high", _PRICE, nullable=False),
        sa.Column("low", _PRICE, nullable=False),
        sa.Column("close", _PRICE, nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("revised", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_market_data_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_market_data_events_created_at", "market_data_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_market_data_events_created_at", table_name="market_data_events")
    op.drop_table("market_data_events")
    op.drop_table("feed_leases")
