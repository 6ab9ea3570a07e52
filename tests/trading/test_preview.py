"""preview_order runs the real risk rules without placing anything; day_pnl from fills and closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from tests.trading.helpers import seed_bars

from workstation.trading.daypnl import day_pnl, session_start
from workstation.trading.domain import Fill, Order, OrderRequest, TradingError
from workstation.trading.preview import latest_close, preview_order
from workstation.trading.repository import SqlOrderStore
from workstation.trading.risk import RiskLimits
from workstation.trading.session import open_session


def test_preview_reports_notional_position_and_the_rule_without_placing(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0, 110.0])
    limits = RiskLimits(max_order_quantity=Decimal(50), max_orders_per_window=1)
    session = open_session(engine, "paper", risk_limits=limits)
    store = SqlOrderStore(engine)
    passing = preview_order(session, OrderRequest("aapl", "buy", Decimal(10)))
    assert passing.passes and passing.rule is None
    assert (passing.symbol, passing.last_price, passing.notional) == ("AAPL", Decimal("110"), Decimal("1100"))
    assert (passing.position_before, passing.position_after) == (0, 10)
    assert passing.buying_power == Decimal(100_000)
    # Previews do not use up the one-order-per-window allowance, and place nothing.
    for _ in range(3):
        assert preview_order(session, OrderRequest("AAPL", "buy", Decimal(10))).passes
    assert store.orders() == [] and store.events(event_type="risk_rejected") == []
    too_big = preview_order(session, OrderRequest("AAPL", "buy", Decimal(60)))
    assert too_big.rule == "max_order_quantity" and "exceeds the limit 50" in str(too_big.reason)
    assert too_big.summary().startswith("✗ max_order_quantity")
    expensive = preview_order(session, OrderRequest("AAPL", "buy", Decimal(50), "limit", Decimal(5000)))
    assert expensive.passes and any("buying power" in w for w in expensive.warnings)
    # The same order really placed passes the same rule, once.
    assert session.manager.submit(OrderRequest("AAPL", "buy", Decimal(10))).status == "filled"
    assert preview_order(session, OrderRequest("AAPL", "sell", Decimal(5))).rule == "order_rate_limit"
    with pytest.raises(TradingError):
        preview_order(session, OrderRequest("AAPL", "buy", Decimal(0)))
    session.close()


def test_preview_shows_the_halt(engine: Engine) -> None:
    seed_bars(engine, "MSFT", [200.0])
    session = open_session(engine, "paper")
    assert session.manager.risk is not None
    session.manager.risk.halt("kill switch")
    preview = preview_order(session, OrderRequest("MSFT", "buy", Decimal(1)))
    assert preview.rule == "halted"
    assert latest_close(engine, "MSFT") == Decimal(200)
    assert latest_close(engine, "NOPE") is None


def _fill(fill_id: str, side: str, quantity: int, price: str, when: datetime, commission: str = "0") -> Fill:
    return Fill(
        fill_id,
        f"o-{fill_id}",
        "AAPL",
        side,
        Decimal(quantity),
        Decimal(price),
        Decimal(commission),
        when,
        Decimal(quantity),  # type: ignore[arg-type]
    )


def test_day_pnl_counts_overnight_positions_from_the_previous_close(engine: Engine) -> None:
    now = datetime(2024, 3, 6, 18, 0, tzinfo=UTC)  # 13:00 in New York
    start = session_start(now)
    assert start.isoformat() == "2024-03-06T00:00:00-05:00"
    # Closes: 100 on the 4th, 104 on the 5th (the previous close), 107 today.
    seed_bars(engine, "AAPL", [100.0, 104.0, 107.0], start=datetime(2024, 3, 4, 14, 0, tzinfo=UTC))
    session = open_session(engine, "paper", reconcile=False)
    store = session.manager.store
    fills = [
        _fill("a", "buy", 10, "100", datetime(2024, 3, 4, 21, 0, tzinfo=UTC)),  # held overnight
        _fill("b", "buy", 5, "106", datetime(2024, 3, 6, 15, 0, tzinfo=UTC), commission="1"),  # today
        _fill("c", "sell", 3, "108", datetime(2024, 3, 6, 16, 0, tzinfo=UTC)),  # today
    ]
    for fill in fills:
        order = Order(fill.order_id, "AAPL", fill.side, fill.quantity, "market", None, "day", "paper", status="filled")
        store.create_order(order, [])
        store.save(order, [fill], [])
    # Overnight 10 @ 104 → 107: +30; bought 5 @ 106 → 107: +5 − 1 commission; sold 3 @ 108 vs 107: +3.
    assert day_pnl(engine, "paper", now=now) == Decimal(37)
    assert day_pnl(engine, "paper", now=now, marks={"AAPL": Decimal(110)}) == Decimal(37 + 12 * 3)
    assert day_pnl(engine, "alpaca", now=now) == 0
    session.close()


def test_day_pnl_without_fills_today_is_the_move_since_the_previous_close(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0, 90.0], start=datetime(2024, 3, 4, 21, 0, tzinfo=UTC))
    session = open_session(engine, "paper", reconcile=False)
    fill = _fill("a", "buy", 2, "100", datetime(2024, 3, 4, 21, 0, tzinfo=UTC))
    order = Order(fill.order_id, "AAPL", "buy", Decimal(2), "market", None, "day", "paper", status="filled")
    session.manager.store.create_order(order, [])
    session.manager.store.save(order, [fill], [])
    later = datetime(2024, 3, 5, 21, 0, tzinfo=UTC) + timedelta(minutes=5)
    assert day_pnl(engine, "paper", now=later) == Decimal(-20)
    session.close()
