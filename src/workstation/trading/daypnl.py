"""Today's P&L of an account from its recorded fills and stored closes.

Day P&L = equity now − equity at the previous close, where the cash difference is exactly what
today's fills paid or received (commission included). Positions held overnight are valued at the
last close before today's session, positions now at the latest price. The trading day starts at
midnight New York time (the US equity session calendar), whatever the user's time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from workstation.db.market import MarketData
from workstation.trading.domain import ZERO, to_price, utcnow
from workstation.trading.feed import read_fills
from workstation.trading.positions import positions_from_fills

NEW_YORK = ZoneInfo("America/New_York")


def session_start(now: datetime) -> datetime:
    """Midnight New York time of ``now``'s trading day (an aware datetime)."""
    local = now.astimezone(NEW_YORK)
    return datetime.combine(local.date(), time(0), tzinfo=NEW_YORK)


def close_before(engine: Engine, symbol: str, before: datetime) -> Decimal | None:
    query = (
        select(MarketData.close)
        .where(MarketData.symbol == symbol, MarketData.timestamp < before)
        .order_by(MarketData.timestamp.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        value = conn.execute(query).scalar()
    return to_price(value) if value is not None else None


def day_pnl(
    engine: Engine,
    broker: str,
    *,
    now: datetime | None = None,
    last_price: Callable[[str], Decimal | None] | None = None,
    marks: Mapping[str, Decimal] | None = None,
) -> Decimal:
    """Today's P&L (realised + unrealised, net of commission) of ``broker``'s fills in the store."""
    now = now or utcnow()
    start = session_start(now)
    fills = [fill for _id, _broker, fill in read_fills(engine, broker)]
    overnight = positions_from_fills(f for f in fills if f.timestamp < start)
    current = positions_from_fills(fills)
    pnl = ZERO
    for fill in fills:
        if fill.timestamp >= start:
            value = fill.quantity * fill.price
            pnl += (value if fill.side == "sell" else -value) - fill.commission
    for position in current.open_positions():
        price = (marks or {}).get(position.symbol)
        if price is None and last_price is not None:
            price = last_price(position.symbol)
        if price is None:
            price = close_before(engine, position.symbol, now) or position.average_price
        pnl += position.quantity * price
    for position in overnight.open_positions():
        previous = close_before(engine, position.symbol, start) or position.average_price
        pnl -= position.quantity * previous
    return to_price(pnl)
