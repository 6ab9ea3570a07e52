"""LiveFeed against the stand-in, on both databases: every minute stored once across a dropped connection
(back-filled from the bars endpoint), updated bars revise, the daily-bar rule, one owner per account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from alpaca_ws_standin import BarsEndpoint, Exchange, Pump, StreamStandIn
from sqlalchemy import Engine, select

from workstation.market.bars import load_bars
from workstation.market.calendar import xnys
from workstation.market.notify import BarEvent
from workstation.market.stream.events import MarketEvent
from workstation.market.stream.service import FeedConfig, FeedOwnedElsewhereError, LiveFeed
from workstation.market.tables import feed_leases, market_data_events

FAST = {"min_backoff": 0.2, "max_backoff": 1.0, "limit_min_backoff": 0.5, "limit_max_backoff": 1.0}


@pytest.fixture
def feeds(engine: Engine, stand_in: StreamStandIn) -> Iterator[Callable[..., LiveFeed]]:
    made: list[LiveFeed] = []

    def make(symbols: tuple[str, ...], *, data_url: str | None = None, **options: Any) -> LiveFeed:
        config = FeedConfig(
            symbols, "test-key", "test-secret", stream_url=stand_in.base_url, data_url=data_url,
            backfill=data_url is not None, heartbeat=0.3, lease_ttl=3.0, stream_options=FAST, **options,
        )  # fmt: skip
        feed = LiveFeed(engine, config)
        made.append(feed)
        return feed

    try:
        yield make
    finally:
        for feed in made:
            feed.stop()


def _events(engine: Engine) -> list[tuple[str, datetime, bool]]:
    t = market_data_events.c
    with engine.connect() as conn:
        rows = conn.execute(select(t.symbol, t.timestamp, t.revised).order_by(t.id)).all()
    return [(str(s), ts, bool(r)) for s, ts, r in rows]


def test_every_minute_once_across_a_dropped_connection(
    engine: Engine, stand_in: StreamStandIn, feeds: Callable[..., LiveFeed]
) -> None:
    exchange = Exchange(["AAA", "BBB"], 40)
    rest = BarsEndpoint(exchange).start()
    try:
        feed = feeds(("AAA", "BBB"), data_url=rest.url)
        feed.start()
        assert feed.wait_connected(10) and stand_in.wait_subscribed("BBB")
        pump = Pump(exchange, stand_in, step=0.1, outage=(12, 1.2)).start()
        assert pump.done.wait(60)
        assert stand_in.wait_for(lambda: feed.status().connections >= 2, timeout=10)
        assert stand_in.wait_for(lambda: feed.summary()["bars"] >= len(pump.streamed), timeout=10)
        assert feed.flush(20)
        summary = feed.summary()
    finally:
        rest.stop()
    missed = {(s, i) for s, i in exchange.completed()} - set(pump.streamed)
    assert missed, "the outage should have cost some streamed minutes"
    for symbol in exchange.symbols:
        stored = load_bars(engine, symbol, "1m", source="alpaca")
        assert list(stored.index) == [pd.Timestamp(t) for t in exchange.times]  # every minute, in order, once
        expected = [exchange.values(symbol, i) for i in range(len(exchange.times))]
        got = list(zip(stored["open"], stored["high"], stored["low"], stored["close"], stored["volume"], strict=True))
        assert got == expected
    events = _events(engine)
    assert len(events) == 80 and not any(revised for _s, _t, revised in events)  # announced once each
    assert summary["backfilled_minutes"] >= len(missed)
    assert summary["stored_inserted"] == 80 and summary["stored_updated"] == 0
    assert summary["reconnects"] >= 1 and summary["median_delay_seconds"] < 1.0
    # The back-fill after the reconnect asked from one minute after the last stored minute.
    minute_queries = [q for q in rest.queries if q.get("timeframe") == ["1Min"]]
    assert len(minute_queries) >= 2


def test_updated_bars_revise_the_stored_minute(
    engine: Engine, stand_in: StreamStandIn, feeds: Callable[..., LiveFeed]
) -> None:
    feed = feeds(("AAPL",))
    stored: list[BarEvent] = []
    feed.add_bar_listener(stored.append)
    feed.start()
    assert feed.wait_connected(10) and stand_in.wait_subscribed("AAPL", "updatedBars")
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    stand_in.send([stand_in.bar("AAPL", minute, 10.0, 10.5, 9.5, 10.2, 1000)])
    assert stand_in.wait_for(lambda: len(stored) == 1)
    stand_in.send([stand_in.bar("AAPL", minute, 10.0, 10.8, 9.5, 10.6, 1300, kind="u")])  # a late trade
    assert stand_in.wait_for(lambda: len(stored) == 2)
    bars = load_bars(engine, "AAPL", "1m")
    assert bars.iloc[0][["high", "close", "volume"]].tolist() == [10.8, 10.6, 1300]
    assert [(e.revised, e.close) for e in stored] == [(False, 10.2), (True, 10.6)]
    assert _events(engine)[-1][2] is True
    summary = feed.summary()
    assert (summary["bars"], summary["updated_bars"], summary["stored_updated"]) == (1, 1, 1)


def test_daily_bars_from_the_stream_only_while_their_session_is_open(
    engine: Engine, stand_in: StreamStandIn, feeds: Callable[..., LiveFeed]
) -> None:
    feed = feeds(("AAPL",))
    feed.start()
    assert feed.wait_connected(10) and stand_in.wait_subscribed("AAPL", "dailyBars")
    session = xnys().session_on(datetime(2025, 11, 26).date())
    assert session is not None
    midnight = datetime(2025, 11, 26, 5, 0, tzinfo=UTC)  # as Alpaca stamps daily bars: midnight New York
    feed.clock = lambda: session.open + timedelta(hours=2)  # the session is in progress
    stand_in.send([stand_in.bar("AAPL", midnight, 10.0, 11.0, 9.0, 10.5, 50_000, kind="d")])
    assert stand_in.wait_for(lambda: feed.summary()["daily_bars"] == 1)
    feed.clock = lambda: session.close + timedelta(minutes=5)  # closed: the historical endpoint's bar wins
    stand_in.send([stand_in.bar("AAPL", midnight, 10.0, 12.0, 9.0, 11.5, 60_000, kind="d")])
    assert stand_in.wait_for(lambda: feed.summary()["daily_ignored"] == 1)
    assert feed.flush(10)
    daily = load_bars(engine, "AAPL", "1d")
    assert list(daily.index) == [pd.Timestamp(midnight)]
    assert daily.iloc[0][["close", "volume"]].tolist() == [10.5, 50_000]


def test_one_owner_per_account_with_handover(
    engine: Engine, stand_in: StreamStandIn, feeds: Callable[..., LiveFeed]
) -> None:
    window = feeds(("AAPL",), role="window")
    seen_by_window: list[MarketEvent] = []
    window.add_listener(seen_by_window.append)
    window.start()
    assert window.is_owner and window.wait_connected(10)
    # A second window consumes through the database.
    other = feeds(("AAPL",), role="window").start()
    assert not other.is_owner and other.status().owner_description == window.lease.description
    # feed run takes the connection from the window, which becomes a consumer.
    runner = feeds(("AAPL",), role="feed").start()
    assert runner.is_owner and runner.wait_connected(10) and stand_in.wait_subscribed("AAPL")
    assert stand_in.wait_for(lambda: not window.is_owner, timeout=5)
    assert len(stand_in.live) == 1  # never two connections at once after the handover
    with pytest.raises(FeedOwnedElsewhereError, match="another feed run"):
        feeds(("AAPL",), role="feed").start()
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    stand_in.send([stand_in.bar("AAPL", minute, 5.0, 5.0, 5.0, 5.0, 10)])
    # The window, now a consumer, still sees the bar: read back from the database.
    assert stand_in.wait_for(lambda: any(getattr(e, "kind", "") == "stored" for e in seen_by_window), timeout=10)
    runner.stop()
    assert stand_in.wait_for(lambda: window.is_owner or other.is_owner, timeout=15)  # a window takes it back
    with engine.connect() as conn:
        assert len(conn.execute(select(feed_leases)).all()) == 1


def test_an_expired_lease_is_taken_over(
    engine: Engine, stand_in: StreamStandIn, feeds: Callable[..., LiveFeed]
) -> None:
    crashed = feeds(("AAPL",), role="feed")
    crashed.lease.try_acquire()  # a feed run that then died without releasing
    with engine.begin() as conn:
        conn.execute(feed_leases.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    runner = feeds(("AAPL",), role="feed").start()
    assert runner.is_owner and runner.wait_connected(10)
