"""Read-only relations defined in sql/: the activity view and the dashboard summary.

They are declared on their own MetaData so that ``Base.metadata`` (tables Alembic manages) never
tries to create or drop them; their DDL lives in sql/ and the migrations apply it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Double, MetaData, String, Table, Text

from workstation.db.types import JSONDocument, UTCDateTime

view_metadata = MetaData()

recent_system_activity = Table(
    "recent_system_activity",
    view_metadata,
    Column("source", String(32)),
    Column("timestamp", UTCDateTime()),
    Column("severity", String(10)),
    Column("component", String(255)),
    Column("description", Text),
    Column("correlation_id", String(64)),
    Column("metadata", JSONDocument),
)

mv_features_dashboard_summary = Table(
    "mv_features_dashboard_summary",
    view_metadata,
    Column("symbol", String(32), primary_key=True),
    Column("latest_timestamp", UTCDateTime()),
    Column("total_records", BigInteger),
    Column("latest_version", String(16)),
    Column("rsi_coverage", Double),
    Column("ma_coverage", Double),
)

# Severity ranks, shared by the view's consumers for "at least WARNING" filters.
SEVERITY_RANK = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
