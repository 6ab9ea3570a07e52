"""Tables of stored sweeps (created by migration 0014_research), beside the backtest_* tables.

A sweep row holds what was swept and how (grid, fixed settings, symbols, range, ranking metric), the
number of points tried, the best point and its deflated Sharpe ratio, and the walk-forward windows when
one was run; backtest_sweep_points holds every point's parameters and metrics (final_value included).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Identity, Integer, MetaData, String, Table

from workstation.db.base import NAMING_CONVENTION, utcnow
from workstation.db.types import BigId, JSONDocument, UTCDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

backtest_sweeps = Table(
    "backtest_sweeps",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column("sweep_id", String(64), nullable=False, unique=True),
    Column("strategy", String(64), nullable=False),
    Column("grid", JSONDocument, nullable=False),
    Column("parameters", JSONDocument),
    Column("symbols", JSONDocument, nullable=False),
    Column("start", UTCDateTime()),
    Column("end", UTCDateTime()),
    Column("metric", String(32), nullable=False),
    Column("points_tried", Integer, nullable=False),
    Column("points_skipped", Integer, nullable=False),
    Column("best_params", JSONDocument),
    Column("best_metrics", JSONDocument),
    Column("deflated_sharpe", Float),
    Column("walk_forward", JSONDocument),
    Column("correlation_id", String(64)),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

backtest_sweep_points = Table(
    "backtest_sweep_points",
    metadata,
    Column("id", BigId, Identity(), primary_key=True),
    Column(
        "sweep_id", String(64), ForeignKey("backtest_sweeps.sweep_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("params", JSONDocument, nullable=False),
    Column("metrics", JSONDocument, nullable=False),
)
