"""Trading-domain tables: models, predictions, orders, fills.

Beyond the spec's columns, orders carry what an order manager needs to reconcile with a broker
(broker, broker_order_id, filled quantity, time in force, …). orders.order_id is the *client*
order id: generated and committed before the order is sent, so a retry or a restart can find it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from workstation.db.base import Base, CreatedAtMixin, TimestampsMixin, in_list
from workstation.db.types import BigId, JSONDocument, Money, Price, Quantity, UTCDateTime

MODEL_STATUSES = ("active", "deprecated")
ORDER_SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit", "stop", "stop_limit", "trailing_stop")
# The spec's pending/filled/cancelled plus the states an order manager needs. "pending" is the
# local "new" state: committed here, not yet acknowledged as sent.
ORDER_STATUSES = (
    "pending",
    "submitted",
    "accepted",
    "partially_filled",
    "filled",
    "pending_cancel",
    "cancelled",
    "rejected",
    "expired",
    "replaced",
)
FINAL_ORDER_STATUSES = ("filled", "cancelled", "rejected", "expired", "replaced")
OPEN_ORDER_STATUSES = tuple(s for s in ORDER_STATUSES if s not in FINAL_ORDER_STATUSES)
TIME_IN_FORCE = ("day", "gtc", "opg", "cls", "ioc", "fok")
ORDER_CLASSES = ("simple", "bracket", "oto", "oco")


class Model(TimestampsMixin, Base):
    __tablename__ = "models"
    __table_args__ = (CheckConstraint(in_list("status", MODEL_STATUSES), name="status_valid"),)

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    version: Mapped[str] = mapped_column(String(32), nullable=False)
    model_type: Mapped[str] = mapped_column(String(64), nullable=False)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    file_path: Mapped[str | None] = mapped_column(String(1024))
    # The artifact's hash: loading refuses a file that no longer matches it.
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")


class Prediction(CreatedAtMixin, Base):
    __tablename__ = "predictions"
    __table_args__ = (
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
        Index("ix_predictions_symbol_timestamp", "symbol", "timestamp"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    prediction_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    model_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("models.model_id", ondelete="RESTRICT"), nullable=False, index=True
    )
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    prediction_type: Mapped[str] = mapped_column(String(32), nullable=False)
    prediction_value: Mapped[Decimal] = mapped_column(Numeric(24, 10), nullable=False)
    confidence: Mapped[Decimal | None] = mapped_column(Numeric(12, 10))
    features: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)


class Order(TimestampsMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(in_list("side", ORDER_SIDES), name="side_valid"),
        CheckConstraint(in_list("order_type", ORDER_TYPES), name="order_type_valid"),
        CheckConstraint(in_list("status", ORDER_STATUSES), name="status_valid"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price IS NULL OR price > 0", name="price_positive"),
        CheckConstraint("stop_price IS NULL OR stop_price > 0", name="stop_price_positive"),
        CheckConstraint("filled_quantity >= 0", name="filled_quantity_non_negative"),
        CheckConstraint(in_list("order_class", ORDER_CLASSES), name="order_class_valid"),
        CheckConstraint("trail_price IS NULL OR trail_price > 0", name="trail_price_positive"),
        CheckConstraint(
            "trail_percent IS NULL OR (trail_percent > 0 AND trail_percent < 100)", name="trail_percent_range"
        ),
        Index("ix_orders_symbol_created_at", "symbol", "created_at"),
        # The order-rate limit counts an account's orders of the last minutes; the risk checks sum one
        # account's orders in one symbol.
        Index("ix_orders_broker_created_at", "broker", "created_at"),
        Index("ix_orders_broker_symbol", "broker", "symbol"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    order_type: Mapped[str] = mapped_column(String(16), nullable=False)
    # The limit price for limit orders (the spec's "price").
    price: Mapped[Decimal | None] = mapped_column(Price)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    strategy: Mapped[str | None] = mapped_column(String(64))
    model_id: Mapped[str | None] = mapped_column(String(128))
    # What the order manager needs beyond the spec.
    broker: Mapped[str] = mapped_column(String(16), nullable=False, default="paper")
    broker_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    time_in_force: Mapped[str] = mapped_column(String(8), nullable=False, default="day")
    stop_price: Mapped[Decimal | None] = mapped_column(Price)
    filled_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    average_fill_price: Mapped[Decimal | None] = mapped_column(Price)
    status_reason: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Compare-and-set: every change is "UPDATE … WHERE version = <the version read>", version + 1.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Outcome unknown (the broker may hold the order): since when, and when it is looked up next.
    unknown_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    check_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Alpaca's order beyond market/limit (0015): class, trailing stop, extended hours, legs, replacements.
    order_class: Mapped[str] = mapped_column(String(8), nullable=False, default="simple", server_default="simple")
    trail_price: Mapped[Decimal | None] = mapped_column(Price)
    trail_percent: Mapped[Decimal | None] = mapped_column(Price)
    # The trailing stop's high-water mark (a buy's low-water mark), as Alpaca's "hwm".
    hwm: Mapped[Decimal | None] = mapped_column(Price)
    extended_hours: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    # A leg (take-profit / stop-loss of a bracket, OTO or OCO) names the order that carries it.
    parent_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # A replace creates a new order: the new one names the old (replaces), the old the new (replaced_by).
    replaces: Mapped[str | None] = mapped_column(String(64))
    replaced_by: Mapped[str | None] = mapped_column(String(64))
    # When a stop-limit order's stop was reached: from then on it works as a limit order.
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Fill(CreatedAtMixin, Base):
    __tablename__ = "fills"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("commission >= 0", name="commission_non_negative"),
        CheckConstraint("cumulative_quantity > 0", name="cumulative_quantity_positive"),
        Index("ix_fills_symbol_timestamp", "symbol", "timestamp"),
        # One fill identity whichever path reports it (stream, REST reconciliation, paper): the order's
        # cumulative filled quantity after the fill. The broker's execution id, where known, is unique too.
        UniqueConstraint("order_id", "cumulative_quantity"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    fill_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    order_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False, index=True
    )
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    price: Mapped[Decimal] = mapped_column(Price, nullable=False)
    commission: Mapped[Decimal] = mapped_column(Money, nullable=False, default=Decimal(0))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    cumulative_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    execution_id: Mapped[str | None] = mapped_column(String(128), unique=True)
