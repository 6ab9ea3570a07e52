"""Market-data domain tables: stock_info, market_data, feature_engineered_data.

On PostgreSQL market_data and feature_engineered_data are range-partitioned on timestamp (migration
0011_partitioning, ranges by ``workstation.db.partitions``), so their primary key there is (id, timestamp):
PostgreSQL wants the partition key in every unique key. The ORM maps id alone, which identifies a row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Identity,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from workstation.db.base import Base, CreatedAtMixin, TimestampsMixin
from workstation.db.types import BigId, Price, UTCDateTime

# The spec has no bar interval; '1d', '1h', '15m', … keep daily and hourly bars of one symbol apart.
INTERVAL_LENGTH = 8


class StockInfo(TimestampsMixin, Base):
    __tablename__ = "stock_info"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    company_name: Mapped[str | None] = mapped_column(String(255))
    sector: Mapped[str | None] = mapped_column(String(128))
    industry: Mapped[str | None] = mapped_column(String(128))
    market_cap: Mapped[int | None] = mapped_column(BigInteger)
    country: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(8))
    exchange: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(32))


class MarketData(CreatedAtMixin, Base):
    __tablename__ = "market_data"
    __table_args__ = (
        UniqueConstraint("symbol", "interval", "timestamp", "source"),
        CheckConstraint("open > 0 AND high > 0 AND low > 0 AND close > 0", name="prices_positive"),
        CheckConstraint("high >= low", name="high_ge_low"),
        CheckConstraint("volume >= 0", name="volume_non_negative"),
        CheckConstraint("length(interval) > 0", name="interval_present"),
    )

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), ForeignKey("stock_info.symbol", onupdate="CASCADE"), nullable=False)
    interval: Mapped[str] = mapped_column(String(INTERVAL_LENGTH), nullable=False)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    open: Mapped[Decimal] = mapped_column(Price, nullable=False)
    high: Mapped[Decimal] = mapped_column(Price, nullable=False)
    low: Mapped[Decimal] = mapped_column(Price, nullable=False)
    close: Mapped[Decimal] = mapped_column(Price, nullable=False)
    volume: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)


class FeatureEngineeredData(TimestampsMixin, Base):
    """One row per bar with the feature catalog as columns (the spec's wide table).

    The named columns below are the spec's; the feature catalog (workstation.features.catalog) adds the
    rest through migration 0002_features and reads/writes them through a Core table built from the
    catalog (workstation.features.store), so they are not mapped here. Catalog versions coexist: the
    unique key includes feature_version.
    """

    __tablename__ = "feature_engineered_data"
    __table_args__ = (
        UniqueConstraint(
            "symbol",
            "interval",
            "timestamp",
            "source",
            "feature_version",
            name="uq_feature_engineered_data_bar_version",
        ),
        # No separate (symbol, feature_version, timestamp) index: the unique key serves those reads (0008).
    )

    # BIGINT, not the spec's SERIAL: every rebuild takes new ids (0009) and partitioned minute-bar features
    # outgrow 2^31 ids (0011); SQLite's INTEGER PRIMARY KEY is 64-bit already.
    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    interval: Mapped[str] = mapped_column(String(INTERVAL_LENGTH), nullable=False)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    open: Mapped[float | None] = mapped_column(Double)
    high: Mapped[float | None] = mapped_column(Double)
    low: Mapped[float | None] = mapped_column(Double)
    close: Mapped[float | None] = mapped_column(Double)
    volume: Mapped[float | None] = mapped_column(Double)
    returns: Mapped[float | None] = mapped_column(Double)
    rsi_1d: Mapped[float | None] = mapped_column(Double)
    price_ma_short: Mapped[float | None] = mapped_column(Double)
    bb_upper: Mapped[float | None] = mapped_column(Double)
    macd: Mapped[float | None] = mapped_column(Double)
    atr: Mapped[float | None] = mapped_column(Double)
    feature_version: Mapped[str] = mapped_column(String(16), nullable=False, server_default="3.0")
