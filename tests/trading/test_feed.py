"""OrderFeed: a first full read, then only what changed (new orders, new statuses, new fills)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine
from tests.trading.helpers import seed_bars

from workstation.trading.domain import OrderRequest
from workstation.trading.feed import OrderFeed, read_fills
from workstation.trading.session import open_session


def test_feed_follows_new_orders_status_changes_and_fills(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0, 101.0])
    session = open_session(engine, "paper")
    manager = session.manager
    first = manager.submit(OrderRequest("AAPL", "buy", Decimal(3)))
    feed = OrderFeed(engine)
    assert feed.poll()
    assert [(o.order_id, o.status) for o in feed.order_list()] == [(first.order_id, "filled")]
    assert [(f.quantity, f.price) for f in feed.fill_list()] == [(Decimal(3), Decimal(101))]
    assert not feed.poll()  # nothing changed
    resting = manager.submit(OrderRequest("AAPL", "buy", Decimal(2), "limit", Decimal(50)))
    assert feed.poll()
    assert {o.order_id: o.status for o in feed.order_list()}[resting.order_id] == "accepted"
    manager.cancel(resting.order_id)
    assert feed.poll()
    assert {o.order_id: o.status for o in feed.order_list()}[resting.order_id] == "cancelled"
    manager.submit(OrderRequest("AAPL", "sell", Decimal(1)))
    assert feed.poll()
    assert [f.side for f in feed.fill_list("paper")] == ["buy", "sell"]
    assert feed.fill_list("alpaca") == [] and feed.brokers() == ["paper"]
    assert [b for _id, b, _f in read_fills(engine, "paper")] == ["paper", "paper"]
    session.close()


def test_feed_keeps_the_newest_orders_and_filters_by_broker(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0])
    session = open_session(engine, "paper")
    ids = [session.manager.submit(OrderRequest("AAPL", "buy", Decimal(1))).order_id for _ in range(5)]
    feed = OrderFeed(engine, limit=3)
    feed.poll()
    assert [o.order_id for o in feed.order_list()] == ids[-3:]
    ids.append(session.manager.submit(OrderRequest("AAPL", "buy", Decimal(1))).order_id)
    feed.poll()
    assert [o.order_id for o in feed.order_list()] == ids[-3:]
    assert len(feed.fill_list()) == 6  # fills are all kept: positions need every one
    empty = OrderFeed(engine, broker="alpaca")
    assert not empty.poll() and empty.order_list() == []
    session.close()
