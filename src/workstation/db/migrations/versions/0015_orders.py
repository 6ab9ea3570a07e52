"""order types: stop, stop-limit, trailing stop, bracket/OTO/OCO legs, replacements, extended hours

Revision ID: 0015_orders
Revises: 0014_research
Create Date: 2026-12-07

orders gains what Alpaca's order carries beyond market/limit (names as in its API): the order class
(simple, bracket, oto, oco), the trailing stop's trail_price/trail_percent and its high-water mark
(hwm), extended_hours, the parent_order_id of a leg (a leg is an order of its own, linked to the
order that carries it), the replaces/replaced_by links of a replacement (a replace creates a new
order, as at Alpaca) and triggered_at (when a stop-limit's stop was reached; it works as a limit
from then on). stop_price exists since 0001.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_orders"
down_revision: str | Sequence[str] | None = "0014_research"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PRICE = sa.Numeric(18, 6)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("order_class", sa.String(8), nullable=False, server_default="simple"))
        batch.add_column(sa.Column("trail_price", _PRICE, nullable=True))
        batch.add_column(sa.Column("trail_percent", _PRICE, nullable=True))
        batch.add_column(sa.Column("hwm", _PRICE, nullable=True))
        batch.add_column(sa.Column("extended_hours", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("parent_order_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("replaces", sa.String(64), nullable=True))
        batch.add_column(sa.Column("replaced_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("triggered_at", _TS, nullable=True))
        batch.create_check_constraint(
            op.f("ck_orders_order_class_valid"), "order_class IN ('simple', 'bracket', 'oto', 'oco')"
        )
        batch.create_check_constraint(op.f("ck_orders_trail_price_positive"), "trail_price IS NULL OR trail_price > 0")
        batch.create_check_constraint(
            op.f("ck_orders_trail_percent_range"),
            "trail_percent IS NULL OR (trail_percent > 0 AND trail_percent < 100)",
        )
    op.create_index("ix_orders_parent_order_id", "orders", ["parent_order_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_parent_order_id", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_trail_percent_range"), type_="check")
        batch.drop_constraint(op.f("ck_orders_trail_price_positive"), type_="check")
        batch.drop_constraint(op.f("ck_orders_order_class_valid"), type_="check")
        for column in (
            "triggered_at",
            "replaced_by",
            "replaces",
            "parent_order_id",
            "extended_hours",
            "hwm",
            "trail_percent",
            "trail_price",
            "order_class",
        ):
            batch.drop_column(column)
