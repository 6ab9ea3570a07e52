"""Shared helpers for the trading tests (imported by name; not collected)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workstation.db.market import MarketData, StockInfo
from workstation.db.partitions import ensure_partitions
from workstation.trading.brokers.paper import Bar
from workstation.trading.execution.timings import ExecutionTimings

T0 = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


def bar(minutes: int, o: str, h: str, low: str, c: str, v: int = 1_000_000) -> Bar:
    return Bar(T0 + timedelta(minutes=minutes), Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(v))


def seed_bars(
    engine: Engine, symbol: str, closes: list[float], *, start: datetime = T0, step: timedelta | None = None
) -> None:
    step = step or timedelta(days=1)
    ensure_partitions(engine, "market_data", [start + i * step for i in range(len(closes))])
    with Session(engine) as session, session.begin():
        session.add(StockInfo(symbol=symbol, source="test"))
        session.flush()
        for i, close in enumerate(closes):
            session.add(
                MarketData(
                    symbol=symbol,
                    interval="1d",
                    timestamp=start + i * step,
                    open=Decimal(str(close)),
                    high=Decimal(str(close * 1.01)),
                    low=Decimal(str(close * 0.99)),
                    close=Decimal(str(close)),
                    volume=1_000_000,
                    source="test",
                )
            )


# Timeouts and backoffs compressed so fault tests take fractions of a second.
FAST = ExecutionTimings(
    connect_timeout=1.0,
    read_timeout=1.0,
    retry_wait=0.02,
    lookup_attempts=5,
    unknown_window=6.0,
    recheck_first=0.05,
    recheck_max=0.2,
    startup_reconcile=5.0,
    stream_backoff_min=0.05,
    stream_backoff_max=0.2,
    outage_backoff_first=0.05,
    outage_backoff_max=0.3,
)
FAST_ENV = json.dumps({name: getattr(FAST, name) for name in FAST.__dataclass_fields__})
