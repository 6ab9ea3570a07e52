"""lineage of backtest fills: the order each fill belongs to and the decision behind that order

Revision ID: 0016_lineage
Revises: 0015_orders
Create Date: 2026-12-07

A backtest keeps its orders in memory; to explain a stored backtest fill, the run now also stores each
order (backtest_orders: its state changes, the risk verdict, the decision bar and the strategy's signal
there) and each fill names its order and fill id. backtest_runs records the bar interval it ran on.
Older runs keep NULLs (their fills can be listed, not explained).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_lineage"
down_revision: str | Sequence[str] | None = "0015_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)
_PRICE = sa.Numeric(18, 6)
_QTY = sa.Numeric(18, 6)


def upgrade() -> None:
    op.create_table(
        "backtest_orders",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("backtest_runs.run_id", name="fk_backtest_orders_run_id_backtest_runs", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("broker_order_id", sa.String(64), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", _QTY, nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("limit_price", _PRICE, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filled_quantity", _QTY, nullable=False),
        sa.Column("average_fill_price", _PRICE, nullable=True),
        sa.Column("strategy", sa.String(64), nullable=True),
        sa.Column("model_id", sa.String(128), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("bar", _JSON, nullable=True),
        sa.Column("signal", _JSON, nullable=True),
        sa.Column("risk", _JSON, nullable=True),
        sa.Column("events", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_orders"),
        sa.UniqueConstraint("run_id", "order_id", name="uq_backtest_orders_run_id_order_id"),
    )
    with op.batch_alter_table("backtest_fills") as batch:
        batch.add_column(sa.Column("order_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("fill_id", sa.String(128), nullable=True))
    with op.batch_alter_table("backtest_runs") as batch:
        batch.add_column(sa.Column("interval", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backtest_runs") as batch:
        batch.drop_column("interval")
    with op.batch_alter_table("backtest_fills") as batch:
        batch.drop_column("fill_id")
        batch.drop_column("order_id")
    op.drop_table("backtest_orders")
