"""research: stored parameter sweeps and their points

Revision ID: 0014_research
Revises: 0013_feed
Create Date: 2026-12-07

backtest_sweeps holds one row per sweep (grid, fixed settings, symbols, range, ranking metric, points
tried and skipped, the best point, its deflated Sharpe ratio, the walk-forward windows when run);
backtest_sweep_points one row per grid point with its metrics. Declared in
workstation.trading.backtest.sweep_tables, next to the backtest_* tables of 0003_trading.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_research"
down_revision: str | Sequence[str] | None = "0013_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "backtest_sweeps",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        sa.Column("sweep_id", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("grid", _JSON, nullable=False),
        sa.Column("parameters", _JSON, nullable=True),
        sa.Column("symbols", _JSON, nullable=False),
        sa.Column("start", _TS, nullable=True),
        sa.Column("end", _TS, nullable=True),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("points_tried", sa.Integer(), nullable=False),
        sa.Column("points_skipped", sa.Integer(), nullable=False),
        sa.Column("best_params", _JSON, nullable=True),
        sa.Column("best_metrics", _JSON, nullable=True),
        sa.Column("deflated_sharpe", sa.Float(), nullable=True),
        sa.Column("walk_forward", _JSON, nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_sweeps"),
        sa.UniqueConstraint("sweep_id", name="uq_backtest_sweeps_sweep_id"),
    )
    op.create_table(
        "backtest_sweep_points",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        sa.Column(
            "sweep_id",
            sa.String(64),
            sa.ForeignKey(
                "backtest_sweeps.sweep_id", name="fk_backtest_sweep_points_sweep_id_backtest_sweeps", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("metrics", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_sweep_points"),
    )
    op.create_index("ix_backtest_sweep_points_sweep_id", "backtest_sweep_points", ["sweep_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_backtest_sweep_points_sweep_id", table_name="backtest_sweep_points")
    op.drop_table("backtest_sweep_points")
    op.drop_table("backtest_sweeps")
