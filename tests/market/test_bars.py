from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workstation.db.models import MarketData, StockInfo
from workstation.db.partitions import ensure_partitions
from workstation.market.bars import load_bars

T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def _bar(i: int, source: str, interval: str = "1d") -> MarketData:
    price = Decimal(100 + i)
    return MarketData(
        symbol="ABC", interval=interval, timestamp=T0 + timedelta(days=i), open=price, high=price + 1,
        low=price - 1, close=price, volume=1000 + i, source=source,
    )  # fmt: skip


def test_load_bars_orders_filters_and_prefers_one_source(engine: Engine) -> None:
    ensure_partitions(engine, "market_data", [T0, T0 + timedelta(days=2)])  # PostgreSQL's ranges
    with Session(engine) as session:
        session.add(StockInfo(symbol="ABC"))
        session.flush()
        session.add_all([_bar(i, "csv") for i in (2, 0, 1)] + [_bar(0, "yahoo"), _bar(0, "csv", "1h")])
        session.commit()
    frame = load_bars(engine, "ABC", "1d")
    assert list(frame.index) == [T0, T0 + timedelta(days=1), T0 + timedelta(days=2)]
    assert list(frame["close"]) == [100.0, 101.0, 102.0]
    assert frame["volume"].dtype.kind == "i"
    assert len(load_bars(engine, "ABC", "1d", source="yahoo")) == 1
    assert len(load_bars(engine, "ABC", "1d", start=T0 + timedelta(days=1))) == 2
    assert load_bars(engine, "NOPE", "1d").empty
