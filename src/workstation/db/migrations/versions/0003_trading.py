"""trading: paper account and stored backtest results

Revision ID: 0003_trading
Revises: 0002_features
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_trading"
down_revision: str | Sequence[str] | None = "0002_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(20, 6)
_PRICE = sa.Numeric(18, 6)
_QTY = sa.Numeric(18, 6)


def _run_fk(table: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "run_id",
        sa.String(64),
        sa.ForeignKey("backtest_runs.run_id", name=f"fk_{table}_run_id_backtest_runs", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("starting_cash", _MONEY, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_paper_accounts"),
    )
    op.create_table(
        "backtest_runs",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("parameters", _JSON, nullable=True),
        sa.Column("symbols", _JSON, nullable=False),
        sa.Column("start", _TS, nullable=True),
        sa.Column("end", _TS, nullable=True),
        sa.Column("initial_cash", _MONEY, nullable=False),
        sa.Column("final_cash", _MONEY, nullable=False),
        sa.Column("final_value", _MONEY, nullable=False),
        sa.Column("total_return", sa.Numeric(24, 10), nullable=False),
        sa.Column("metrics", _JSON, nullable=True),
        sa.Column("model_id", sa.String(128), nullable=True),
        sa.Column("correlation_id", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_runs"),
        sa.UniqueConstraint("run_id", name="uq_backtest_runs_run_id"),
    )
    op.create_table(
        "backtest_fills",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        _run_fk("backtest_fills"),
        sa.Column("timestamp", _TS, nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", _QTY, nullable=False),
        sa.Column("price", _PRICE, nullable=False),
        sa.Column("commission", _MONEY, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_fills"),
    )
    op.create_table(
        "backtest_trades",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        _run_fk("backtest_trades"),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("quantity", _QTY, nullable=False),
        sa.Column("entry_time", _TS, nullable=False),
        sa.Column("entry_price", _PRICE, nullable=False),
        sa.Column("exit_time", _TS, nullable=True),
        sa.Column("exit_price", _PRICE, nullable=False),
        sa.Column("pnl", _MONEY, nullable=False),
        sa.Column("commission", _MONEY, nullable=False),
        sa.Column("is_open", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_trades"),
    )
    op.create_table(
        "backtest_equity",
        sa.Column("id", _ID, sa.Identity(always=False), nullable=False),
        _run_fk("backtest_equity"),
        sa.Column("timestamp", _TS, nullable=False),
        sa.Column("equity", sa.Numeric(24, 6), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backtest_equity"),
    )
    for table in ("backtest_fills", "backtest_trades", "backtest_equity"):
        op.create_index(f"ix_{table}_run_id", table, ["run_id"], unique=False)


def downgrade() -> None:
    for table in ("backtest_equity", "backtest_trades", "backtest_fills"):
        op.drop_index(f"ix_{table}_run_id", table_name=table)
        op.drop_table(table)
    op.drop_table("backtest_runs")
    op.drop_table("paper_accounts")
