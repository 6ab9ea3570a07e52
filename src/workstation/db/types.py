"""Column types that behave the same on SQLite and PostgreSQL.

* ``UTCDateTime``: timestamptz on PostgreSQL. SQLite has no time zones, so values are stored as
  naive UTC and come back tz-aware (UTC). Naive values are refused on the way in: a naive time is
  ambiguous and the rule of the house is "UTC in storage".
* ``JSONDocument``: jsonb on PostgreSQL, JSON (text) on SQLite.
* ``IPAddress``: inet on PostgreSQL, text elsewhere.
* ``Price``/``Quantity``/``Money``: exact decimals with explicit precision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, Numeric, String
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGSERIAL ids: BigInteger on PostgreSQL, but SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

JSONDocument = JSON().with_variant(JSONB(), "postgresql")

IPAddress = String(45).with_variant(INET(), "postgresql")

# Prices up to 999,999,999,999.999999 (BRK.A trades around $600k); six decimals for sub-penny fills.
Price = Numeric(18, 6)
# Fractional shares exist at Alpaca, so quantities are decimals too.
Quantity = Numeric(18, 6)
Money = Numeric(20, 6)
# Durations, sizes and percentages in the performance and action logs.
Measure = Numeric(16, 3)


def json_safe(value: Any) -> Any:
    """Recursively convert values that JSON cannot hold (Decimal, datetime, numpy scalars) to text/float."""
    from decimal import Decimal

    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value
