"""Monitoring-domain tables: system_logs, trading_events, performance_logs, error_logs, user_action_logs.

On PostgreSQL the five tables are partitioned by month of timestamp (migration 0011_partitioning), so
their primary key there is (id, timestamp); ``logs prune`` drops whole months.

The spec names a column ``metadata``, which SQLAlchemy's declarative classes reserve, so the Python
attribute is ``metadata_`` and the column keeps the spec's name.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Identity, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workstation.db.base import Base, CreatedAtMixin, in_list, utcnow
from workstation.db.types import BigId, IPAddress, JSONDocument, Measure, Price, Quantity, UTCDateTime

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PERF_STATUSES = ("success", "error", "timeout")


class _LogRow(CreatedAtMixin):
    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONDocument)


class SystemLog(_LogRow, Base):
    __tablename__ = "system_logs"
    __table_args__ = (CheckConstraint(in_list("level", LOG_LEVELS), name="level_valid"),)

    level: Mapped[str] = mapped_column(String(10), nullable=False)
    logger_name: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text, nullable=False)
    module: Mapped[str | None] = mapped_column(String(255))
    function_name: Mapped[str | None] = mapped_column(String(255))
    line_number: Mapped[int | None] = mapped_column(Integer)
    thread_name: Mapped[str | None] = mapped_column(String(255))
    process_id: Mapped[int | None] = mapped_column(Integer)


class TradingEvent(_LogRow, Base):
    __tablename__ = "trading_events"
    __table_args__ = (CheckConstraint("side IS NULL OR side IN ('buy', 'sell')", name="side_valid"),)

    event_type: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    symbol: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(4))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    price: Mapped[Decimal | None] = mapped_column(Price)
    order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    strategy: Mapped[str | None] = mapped_column(String(64))


class PerformanceLog(_LogRow, Base):
    __tablename__ = "performance_logs"
    __table_args__ = (CheckConstraint(in_list("status", PERF_STATUSES), name="status_valid"),)

    operation_name: Mapped[str] = mapped_column(String(255), nullable=False)
    duration_ms: Mapped[Decimal] = mapped_column(Measure, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    component: Mapped[str | None] = mapped_column(String(128))
    memory_usage_mb: Mapped[Decimal | None] = mapped_column(Measure)
    cpu_usage_percent: Mapped[Decimal | None] = mapped_column(Measure)


class ErrorLog(_LogRow, Base):
    __tablename__ = "error_logs"

    error_type: Mapped[str] = mapped_column(String(255), nullable=False)
    error_message: Mapped[str] = mapped_column(Text, nullable=False)
    stack_trace: Mapped[str | None] = mapped_column(Text)
    component: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(128))
    request_path: Mapped[str | None] = mapped_column(String(512))


class UserActionLog(_LogRow, Base):
    __tablename__ = "user_action_logs"

    action_type: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(IPAddress)
    user_agent: Mapped[str | None] = mapped_column(Text)
    request_path: Mapped[str | None] = mapped_column(String(512))
    request_method: Mapped[str | None] = mapped_column(String(16))
    response_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[Decimal | None] = mapped_column(Measure)
