"""A batch of bars on the paper broker: its fills and its orders are one locked transaction each, and a
database error in the middle of a batch rolls every order of the batch back, each bar saying so."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from helpers import T0, seed_bars
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from workstation.trading.brokers.paper import Bar
from workstation.trading.live import TradingLoop
from workstation.trading.live_signals import Arrival, BarSignal
from workstation.trading.risk import RiskLimits
from workstation.trading.session import open_session
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig, Signal

SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE"]
DAY = timedelta(days=1)


class BuyEverything:
    """A signal source whose every bar is a confident "up"."""

    label = "always up"
    prime_bars = 0

    def prime(self, symbol: str, bars: pd.DataFrame) -> None:
        return None

    def signals(self, arrivals: list[Arrival]) -> list[BarSignal]:
        return [BarSignal(Signal(Decimal(1), Decimal("0.9"), "direction")) for _ in arrivals]

    def persist(self) -> None:
        return None


def _loop(engine: Engine) -> Any:
    for symbol in SYMBOLS:
        seed_bars(engine, symbol, [50.0, 51.0])
    session = open_session(engine, "paper", risk_limits=RiskLimits())
    strategy = ModelStrategy(ModelStrategyConfig(model_id="m1", shares=Decimal(10)))
    return session, TradingLoop(engine, session.manager, strategy, signals=BuyEverything())


def _bars(day: int) -> list[tuple[str, Bar, str]]:
    when = T0 + day * DAY
    price = Decimal("52")
    return [(s, Bar(when, price, price, price, price, Decimal(1_000_000)), "test") for s in SYMBOLS]


def test_a_batch_of_orders_is_one_locked_transaction(engine: Engine) -> None:
    session, loop = _loop(engine)
    commits: list[int] = []

    def count(_conn: Any) -> None:
        commits.append(1)

    event.listen(engine, "commit", count)
    try:
        outcomes = loop.on_bars(_bars(2))
    finally:
        event.remove(engine, "commit", count)
    assert [len(o.orders) for o in outcomes] == [1] * len(SYMBOLS)
    stored = session.manager.store.orders(broker="paper")
    assert sorted(o.symbol for o in stored) == SYMBOLS
    # One commit for the bars' fills, one for the signal events, one for all five orders (their sends
    # and answers included); the order path alone was two locked transactions per order before.
    assert len(commits) <= 3, commits
    session.close()


def test_a_database_error_mid_batch_rolls_the_whole_batch_back(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    session, loop = _loop(engine)
    broker = session.manager.broker
    real_submit = broker.submit
    calls: list[str] = []

    def flaky_submit(order: Any) -> Any:
        calls.append(order.symbol)
        if len(calls) == 3:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real_submit(order)

    monkeypatch.setattr(broker, "submit", flaky_submit)
    outcomes = loop.on_bars(_bars(2))
    assert calls == SYMBOLS[:3]
    assert all(o.orders == [] for o in outcomes)
    assert all(o.rejected and "database is unavailable" in o.rejected[0] for o in outcomes)
    # Nothing of the batch is in the book: no half-placed order, nothing pending to settle.
    assert session.manager.store.orders(broker="paper") == []
    assert session.manager.positions().open_positions() == []
    # The next bar trades normally.
    monkeypatch.setattr(broker, "submit", real_submit)
    again = loop.on_bars(_bars(3))
    assert [len(o.orders) for o in again] == [1] * len(SYMBOLS)
    session.close()
