"""RemoteFeed: the window's LiveFeed in a child process, against the websocket stand-in, on both databases.
Events and stored bars reach the parent's listeners; subscriptions change on the open connection; stop and
a vanished parent both give the connection and the lease back; a start-up refusal is raised in the parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest
from alpaca_ws_standin import StreamStandIn
from sqlalchemy import Engine, select

from workstation.market.bars import load_bars
from workstation.market.notify import BarEvent
from workstation.market.stream.events import MarketEvent, StreamQuote, StreamTrade
from workstation.market.stream.remote import RemoteFeed
from workstation.market.stream.service import FeedConfig, FeedOwnedElsewhereError, LiveFeed
from workstation.market.tables import feed_leases

FAST = {"min_backoff": 0.2, "max_backoff": 1.0, "limit_min_backoff": 0.5, "limit_max_backoff": 1.0}


def _config(stand_in: StreamStandIn, symbols: tuple[str, ...], role: str = "window") -> FeedConfig:
    return FeedConfig(
        symbols, "test-key", "test-secret", role=role, stream_url=stand_in.base_url, backfill=False,  # type: ignore[arg-type]
        heartbeat=0.3, lease_ttl=3.0, stream_options=FAST,
    )  # fmt: skip


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _leases(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(feed_leases)).all())


def test_events_and_stored_bars_reach_the_parent(engine: Engine, stand_in: StreamStandIn) -> None:
    feed = RemoteFeed(_url(engine), _config(stand_in, ("AAPL",)))
    events: list[MarketEvent] = []
    stored: list[BarEvent] = []
    feed.add_listener(events.append)
    feed.add_bar_listener(stored.append)
    feed.start()
    try:
        assert feed.is_owner and feed.pid != os.getpid()
        # Others see the window (this process) holding the connection, not its feed process.
        assert feed.status().owner_description == f"window, pid {os.getpid()} on {socket.gethostname()}"
        assert stand_in.wait_subscribed("AAPL") and stand_in.wait_subscribed("AAPL", "quotes")
        assert stand_in.wait_for(lambda: feed.status().state == "connected")
        minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
        stand_in.send(
            [
                stand_in.trade("AAPL", minute + timedelta(seconds=5), 10.1, 100),
                stand_in.quote("AAPL", minute + timedelta(seconds=6), 10.0, 10.2),
                stand_in.bar("AAPL", minute, 10.0, 10.5, 9.5, 10.2, 1000),
            ]
        )
        assert stand_in.wait_for(lambda: len(events) == 3 and len(stored) == 1)
        assert [type(e) for e in events[:2]] == [StreamTrade, StreamQuote]
        assert isinstance(events[0], StreamTrade) and events[0].price == 10.1
        assert (stored[0].symbol, stored[0].close, stored[0].revised) == ("AAPL", 10.2, False)
        assert load_bars(engine, "AAPL", "1m")["close"].tolist() == [10.2]  # stored by the child
        assert feed.flush(5)  # LiveFeed's own calls, answered by the child
        summary = feed.summary()
        assert (summary["owner"], summary["bars"], summary["trades"], summary["quotes"]) == (True, 1, 1, 1)
        # Subscriptions change on the open connection.
        feed.subscribe(["MSFT"])
        assert stand_in.wait_subscribed("MSFT") and feed.symbols == ("AAPL", "MSFT")
        feed.unsubscribe(["AAPL"])
        assert stand_in.wait_for(lambda: "AAPL" not in stand_in.live[0].subscribed.get("trades", set()))
        assert feed.status().connections == 1 and len(stand_in.live) == 1
    finally:
        feed.stop(10)
    assert stand_in.wait_for(lambda: not stand_in.live) and _leases(engine) == 0


def test_a_second_window_consumes_and_a_feed_run_is_refused_beside_a_feed_run(
    engine: Engine, stand_in: StreamStandIn
) -> None:
    runner = LiveFeed(engine, _config(stand_in, ("AAPL",), role="feed")).start()
    try:
        window = RemoteFeed(_url(engine), _config(stand_in, ("AAPL",))).start()
        try:
            assert not window.is_owner and window.status().owner_description == runner.lease.description
        finally:
            window.stop(10)
        with pytest.raises(FeedOwnedElsewhereError, match="another feed run"):
            RemoteFeed(_url(engine), _config(stand_in, ("AAPL",), role="feed")).start()
    finally:
        runner.stop()


def test_the_child_gives_the_connection_back_when_the_window_dies(engine: Engine, stand_in: StreamStandIn) -> None:
    """A window killed outright (no stop()): its feed process sees the pipe close and releases the lease."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from workstation.market.stream.remote import RemoteFeed
        from workstation.market.stream.service import FeedConfig
        config = FeedConfig(("AAPL",), "test-key", "test-secret", role="window", stream_url={stand_in.base_url!r},
                            backfill=False, heartbeat=0.3, lease_ttl=30.0)
        feed = RemoteFeed({_url(engine)!r}, config).start()
        print(feed.pid, flush=True)
        time.sleep(600)
        """
    )
    window = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert window.stdout is not None
        child = int(window.stdout.readline())
        assert stand_in.wait_for(lambda: len(stand_in.live) == 1, timeout=20) and _leases(engine) == 1
        os.kill(window.pid, signal.SIGKILL)
        window.wait(10)
        # Well before the 30 s lease would expire: released, connection closed, process gone.
        assert stand_in.wait_for(lambda: not stand_in.live and _leases(engine) == 0, timeout=15)
        assert stand_in.wait_for(lambda: not _alive(child), timeout=10)
    finally:
        if window.poll() is None:
            window.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie waiting for init counts as gone
        return stat.read().split()[2] != "Z"


def test_a_feed_process_that_dies_is_reported_failed(engine: Engine, stand_in: StreamStandIn) -> None:
    feed = RemoteFeed(_url(engine), _config(stand_in, ("AAPL",)))
    states: list[str] = []
    feed.add_status_listener(lambda status: states.append(status.state))
    feed.start()
    try:
        assert stand_in.wait_for(lambda: feed.status().state == "connected")
        assert feed.pid is not None
        os.kill(feed.pid, signal.SIGKILL)  # the child crashes (out of memory, a native fault)
        assert stand_in.wait_for(lambda: feed.status().state == "failed", timeout=10)
        assert states[-1] == "failed" and feed.status().last_error == "the live feed process ended"
    finally:
        feed.stop(5)  # stopping a dead feed is quick and quiet
