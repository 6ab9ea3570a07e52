"""Pre-trade risk rules (each rejection a risk_rejected event with its reason) and the kill switch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from helpers import T0, bar
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from workstation.db.logs import TradingEvent
from workstation.trading.brokers.paper import PaperBroker, PaperConfig
from workstation.trading.domain import OrderRequest, RiskRejectedError
from workstation.trading.killswitch import kill_switch
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import MemoryOrderStore, SqlOrderStore
from workstation.trading.risk import RiskEngine, RiskLimits


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def _manager(limits: RiskLimits, store=None, clock=None, mode="live"):  # type: ignore[no-untyped-def]
    clock = clock or Clock()
    broker = PaperBroker(Decimal(1_000_000), PaperConfig(mode=mode), clock=clock)
    broker.on_bar("AAPL", bar(0, "100", "101", "99", "100"))
    broker.on_bar("MSFT", bar(0, "200", "201", "199", "200"))
    return OrderManager(store or MemoryOrderStore(), broker, risk=RiskEngine(limits), clock=clock), broker


@pytest.mark.parametrize(
    ("limits", "request_", "rule"),
    [
        (RiskLimits(max_order_quantity=Decimal(100)), OrderRequest("AAPL", "buy", Decimal(101)), "max_order_quantity"),
        (RiskLimits(max_order_notional=Decimal(5000)), OrderRequest("AAPL", "buy", Decimal(51)), "max_order_notional"),
        (RiskLimits(max_position_quantity=Decimal(50)), OrderRequest("AAPL", "buy", Decimal(51)), "max_position"),
        (RiskLimits(max_gross_exposure=Decimal(5000)), OrderRequest("MSFT", "buy", Decimal(26)), "max_gross_exposure"),
        (RiskLimits(allowed_symbols=frozenset({"MSFT"})), OrderRequest("AAPL", "buy", Decimal(1)), "symbol_allow_list"),
        (
            RiskLimits(limit_collar=Decimal("0.05")),
            OrderRequest("AAPL", "buy", Decimal(1), "limit", Decimal("106")),
            "limit_price_collar",
        ),
    ],
)
def test_each_rule_rejects_with_a_reason(limits: RiskLimits, request_: OrderRequest, rule: str) -> None:
    manager, _ = _manager(limits)
    with pytest.raises(RiskRejectedError) as caught:
        manager.submit(request_)
    assert caught.value.rule == rule
    (event,) = manager.store.events  # type: ignore[attr-defined]
    assert event.event_type == "risk_rejected"
    assert event.metadata["rule"] == rule
    assert event.metadata["reason"]
    assert manager.store.orders() == []  # type: ignore[attr-defined]


def test_rejection_is_a_trading_event_row(engine: Engine) -> None:
    manager, _ = _manager(RiskLimits(max_order_quantity=Decimal(10)), store=SqlOrderStore(engine))
    with pytest.raises(RiskRejectedError):
        manager.submit(OrderRequest("AAPL", "buy", Decimal(11)))
    with Session(engine) as session:
        row = session.scalars(select(TradingEvent)).one()
    assert row.event_type == "risk_rejected"
    assert "exceeds the limit 10" in row.metadata_["reason"]


def test_rate_limit_counts_orders_in_the_window() -> None:
    clock = Clock()
    manager, _ = _manager(RiskLimits(max_orders_per_window=2, rate_window_seconds=60), clock=clock)
    manager.submit(OrderRequest("AAPL", "buy", Decimal(1)))
    manager.submit(OrderRequest("AAPL", "buy", Decimal(1)))
    with pytest.raises(RiskRejectedError, match="orders in the last 60s"):
        manager.submit(OrderRequest("AAPL", "buy", Decimal(1)))
    clock.now = T0 + timedelta(seconds=61)
    manager.submit(OrderRequest("AAPL", "buy", Decimal(1)))


def test_daily_loss_limit_halts_new_orders_but_allows_exits() -> None:
    clock = Clock()
    manager, broker = _manager(RiskLimits(daily_loss_limit=Decimal(500)), clock=clock)
    manager.submit(OrderRequest("AAPL", "buy", Decimal(100)))
    broker.on_bar("AAPL", bar(1, "94", "95", "93", "94"))  # −600 unrealised
    with pytest.raises(RiskRejectedError) as caught:
        manager.submit(OrderRequest("MSFT", "buy", Decimal(1)))
    assert caught.value.rule == "daily_loss_limit"
    exit_order = manager.submit(OrderRequest("AAPL", "sell", Decimal(100)))
    assert exit_order.status == "filled"
    clock.now = T0 + timedelta(days=1)
    assert manager.submit(OrderRequest("MSFT", "buy", Decimal(1))).status == "filled"


def test_kill_switch_cancels_open_orders_and_flattens(engine: Engine) -> None:
    manager, _ = _manager(RiskLimits(max_order_quantity=Decimal(50)), store=SqlOrderStore(engine))
    manager.submit(OrderRequest("AAPL", "buy", Decimal(40)))
    manager.submit(OrderRequest("MSFT", "buy", Decimal(30)))
    manager.submit(OrderRequest("MSFT", "buy", Decimal(40)))
    resting = manager.submit(OrderRequest("AAPL", "buy", Decimal(5), "limit", Decimal(90), time_in_force="gtc"))
    result = kill_switch(manager, flatten=True)
    assert [o.order_id for o in result.cancelled] == [resting.order_id]
    assert manager.get(resting.order_id).status == "cancelled"  # type: ignore[union-attr]
    # MSFT 70 exceeds max_order_quantity 50, but nothing may stop an exit.
    assert sorted((o.symbol, o.side, o.quantity, o.status) for o in result.flatten_orders) == [
        ("AAPL", "sell", Decimal(40), "filled"),
        ("MSFT", "sell", Decimal(70), "filled"),
    ]
    assert manager.book.open_positions() == []
    with pytest.raises(RiskRejectedError, match="halted"):
        manager.submit(OrderRequest("AAPL", "buy", Decimal(1)))
    with Session(engine) as session:
        kinds = session.scalars(select(TradingEvent.event_type).where(TradingEvent.event_type == "kill_switch")).all()
    assert kinds == ["kill_switch"]
