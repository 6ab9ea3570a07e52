"""Tables of the trading package beyond the shared ORM (created by migration 0003_trading).

Declared with SQLAlchemy Core on their own MetaData so the shared ORM classes need not know them.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Identity, Integer, MetaData, Numeric, String, Table, UniqueConstraint

from workstation.db.base import NAMING_CONVENTION, utcnow
from workstation.db.types import BigId, JSONDocument, Money, Price, Quantity, UTCDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# The paper broker's account: its starting cash. Cash and positions are derived from the fills of
# broker='paper' orders, so separate CLI invocations (and the GUI) see one consistent account.
paper_accounts = Table(
    "paper_accounts",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("starting_cash", Money, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow),
)

backtest_runs = Table(
    "backtest_runs",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("strategy", String(64), nullable=False),
    Column("parameters", JSONDocument),
    Column("symbols", JSONDocument, nullable=False),
    Column("start", UTCDateTime()),
    Column("end", UTCDateTime()),
    Column("initial_cash", Money, nullable=False),
    Column("final_cash", Money, nullable=False),
    Column("final_value", Money, nullable=False),
    Column("total_return", Numeric(24, 10), nullable=False),
    Column("metrics", JSONDocument),
    Column("model_id", String(128)),
    Column("correlation_id", String(64)),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    # Added by 0016_lineage: the bar interval of the run (its decision bars are found by it).
    Column("interval", String(8)),
)

backtest_fills = Table(
    "backtest_fills",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column("run_id", String(64), ForeignKey("backtest_runs.run_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", Quantity, nullable=False),
    Column("price", Price, nullable=False),
    Column("commission", Money, nullable=False),
    # Added by 0016_lineage: the fill's order (in backtest_orders) and its id within the run.
    Column("order_id", String(64)),
    Column("fill_id", String(128)),
)

# Added by 0016_lineage: a run's orders with what explains them (state changes, risk verdict,
# decision bar, the strategy's signal there); order ids are unique within a run.
backtest_orders = Table(
    "backtest_orders",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column("run_id", String(64), ForeignKey("backtest_runs.run_id", ondelete="CASCADE"), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("broker_order_id", String(64)),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", Quantity, nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("limit_price", Price),
    Column("status", String(16), nullable=False),
    Column("filled_quantity", Quantity, nullable=False),
    Column("average_fill_price", Price),
    Column("strategy", String(64)),
    Column("model_id", String(128)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
    Column("bar", JSONDocument),
    Column("signal", JSONDocument),
    Column("risk", JSONDocument),
    Column("events", JSONDocument),
    UniqueConstraint("run_id", "order_id"),
)

backtest_trades = Table(
    "backtest_trades",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column("run_id", String(64), ForeignKey("backtest_runs.run_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("quantity", Quantity, nullable=False),
    Column("entry_time", UTCDateTime(), nullable=False),
    Column("entry_price", Price, nullable=False),
    Column("exit_time", UTCDateTime()),
    Column("exit_price", Price, nullable=False),
    Column("pnl", Money, nullable=False),
    Column("commission", Money, nullable=False),
    Column("is_open", Integer, nullable=False),
)

backtest_equity = Table(
    "backtest_equity",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column("run_id", String(64), ForeignKey("backtest_runs.run_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("equity", Numeric(24, 6), nullable=False),
)
