"""The data connection against a local stand-in of Alpaca's stream: handshake, subscriptions, reconnects,
406, refused keys, symbol limits. No database here (see test_stream_feed for storage)."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from alpaca_ws_standin import StreamStandIn

from workstation.errors import ConfigurationError
from workstation.market.stream.client import MarketDataStream, StreamSettings
from workstation.market.stream.events import MarketEvent, StreamBar, StreamQuote, StreamTrade
from workstation.market.stream.protocol import stream_url

FAST = {"min_backoff": 0.2, "max_backoff": 1.0, "limit_min_backoff": 0.6, "limit_max_backoff": 2.0}


class Client:
    def __init__(self, stand_in: StreamStandIn, feed: str = "iex", **options: float) -> None:
        self.events: list[MarketEvent] = []
        self.connected: list[int] = []
        settings = StreamSettings("test-key", "test-secret", feed=feed, url=stand_in.base_url, **(FAST | options))
        self.stream = MarketDataStream(settings, self.events.append, on_connected=self.connected.append)

    def __enter__(self) -> MarketDataStream:
        return self.stream

    def __exit__(self, *_exc: object) -> None:
        self.stream.stop()


def test_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_STREAM_DATA_URL", "ws://127.0.0.1:9999/")
    assert stream_url("sip") == "ws://127.0.0.1:9999/v2/sip"
    monkeypatch.delenv("APCA_API_STREAM_DATA_URL")
    assert stream_url("iex") == "wss://stream.data.alpaca.markets/v2/iex"
    monkeypatch.setenv("APCA_API_STREAM_DATA_URL", "https://example.com")
    with pytest.raises(ConfigurationError, match="ws://"):
        stream_url("iex")
    with pytest.raises(ConfigurationError, match="unknown feed"):
        stream_url("otc")


def test_handshake_and_data_as_domain_objects(stand_in: StreamStandIn) -> None:
    client = Client(stand_in, feed="sip")
    with client as stream:
        stream.subscribe(["AAPL", "SPIP"])
        stream.start()
        assert stream.wait_connected(10) and stand_in.wait_subscribed("SPIP", "quotes")
        conn = stand_in.connections[0]
        assert conn.path == "/v2/sip" and conn.binary  # alpaca-py speaks msgpack
        auth, subscribe = conn.received[:2]
        assert auth == {"action": "auth", "key": "test-key", "secret": "test-secret"}
        assert subscribe["action"] == "subscribe"
        for channel in ("bars", "updatedBars", "dailyBars", "trades", "quotes"):
            assert sorted(subscribe[channel]) == ["AAPL", "SPIP"]
        now = datetime.now(UTC).replace(microsecond=0)
        minute = now.replace(second=0) - timedelta(minutes=1)
        sent = stand_in.send([
            stand_in.bar("AAPL", minute, 177.94, 178.005, 177.94, 178.005, 8547),
            stand_in.trade("AAPL", now, 177.79, 90),
            stand_in.quote("SPIP", now, 25.41, 25.43),
        ])  # fmt: skip
        assert sent == 3
        assert stand_in.wait_for(lambda: len(client.events) == 3)
        bar, trade, quote = client.events
        # n and vw come from the fixture's bar.
        assert bar == StreamBar(
            "AAPL", minute, 177.94, 178.005, 177.94, 178.005, 8547, kind="bar", trade_count=66, vwap=177.987562
        )
        assert isinstance(trade, StreamTrade) and (trade.price, trade.size, trade.trade_id) == (177.79, 90, 6142)
        assert trade.conditions == ("@", "I") and trade.exchange == "V" and not trade.synthetic
        assert isinstance(quote, StreamQuote) and (quote.bid_price, quote.ask_price, quote.bid_size) == (
            25.41,
            25.43,
            35,
        )
        status = stream.status()
        assert (status.state, status.connections, status.feed, status.last_bar_at) == ("connected", 1, "sip", minute)
        assert status.lag_seconds is not None and status.lag_seconds < 5
        assert client.connected == [1]


def test_subscriptions_change_without_reconnecting(stand_in: StreamStandIn) -> None:
    client = Client(stand_in)
    with client as stream:
        stream.subscribe(["AAPL"], ["bars"])
        stream.start()
        assert stream.wait_connected(10) and stand_in.wait_subscribed("AAPL")
        conn = stand_in.connections[0]
        stream.subscribe(["MSFT"], ["bars", "trades"])
        assert stand_in.wait_for(lambda: conn.subscribed.get("trades") == {"MSFT"})
        assert conn.subscribed["bars"] == {"AAPL", "MSFT"}
        stream.unsubscribe(["AAPL"], ["bars"])
        assert stand_in.wait_for(lambda: conn.subscribed["bars"] == {"MSFT"})
        assert conn.received[-1] == {"action": "unsubscribe", "bars": ["AAPL"]}
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        stand_in.send([stand_in.bar("AAPL", minute, 1, 1, 1, 1, 1), stand_in.bar("MSFT", minute, 2, 2, 2, 2, 2)])
        assert stand_in.wait_for(lambda: len(client.events) == 1)
        assert client.events[0].symbol == "MSFT"
        assert stand_in.attempts == 1 and stream.status().connections == 1  # one connection all along


def test_reconnect_at_once_then_back_off_and_resubscribe(stand_in: StreamStandIn) -> None:
    client = Client(stand_in)
    with client as stream:
        stream.subscribe(["AAPL"])
        stream.start()
        assert stream.wait_connected(10)
        stream.subscribe(["MSFT"], ["bars"])  # added at run time: must be in the next connection's subscription
        assert stand_in.wait_for(lambda: "MSFT" in stand_in.connections[0].subscribed.get("bars", set()))
        stand_in.behaviours.extend(["ok", "refuse", "refuse", "refuse"])
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        stand_in.send([stand_in.bar("AAPL", minute, 1, 1, 1, 1, 1)])  # data: the connection was healthy
        assert stand_in.wait_for(lambda: client.events)
        stand_in.drop()
        assert stand_in.wait_for(lambda: client.connected == [1, 2])
        dropped_at = stand_in.attempt_times[0]
        first_retry = stand_in.attempt_times[1] - dropped_at
        second = stand_in.connections[1]
        assert stand_in.wait_for(lambda: len(second.received) >= 2)
        assert second.received[0]["action"] == "auth"
        assert sorted(second.received[1]["bars"]) == ["AAPL", "MSFT"] and second.received[1]["trades"] == ["AAPL"]
        # The healthy connection is dropped again; now every reconnect attempt is refused three times.
        stand_in.drop()
        assert stand_in.wait_for(lambda: client.connected == [1, 2, 3], timeout=20)
        times = stand_in.attempt_times[2:]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 3
        assert gaps[0] >= 0.1 - 0.05  # equal jitter: at least half of 0.2 s
        assert gaps[1] >= 0.2 - 0.05 and gaps[2] >= 0.4 - 0.05  # growing
        assert first_retry < 2.0  # the first reconnect after a healthy connection does not wait
        assert stream.status().connections == 3


def test_connection_limit_406_backs_off(stand_in: StreamStandIn) -> None:
    stand_in.behaviours.extend(["limit", "limit"])
    states: list[str] = []
    client = Client(stand_in)
    client.stream.on_state = lambda status: states.append(f"{status.state}:{status.last_error or ''}")
    with client as stream:
        stream.subscribe(["AAPL"])
        stream.start()
        assert stream.wait_connected(15)
        times = stand_in.attempt_times
        assert len(times) == 3
        assert times[1] - times[0] >= 0.3 - 0.05 and times[2] - times[1] >= 0.6 - 0.05  # 406 waits from the start
        assert any("406" in s and "connection limit" in s for s in states)
        assert stream.status().state == "connected"


def test_refused_keys_stop_the_stream(stand_in: StreamStandIn) -> None:
    stand_in.behaviours.append("auth_fail")
    client = Client(stand_in)
    with client as stream:
        stream.subscribe(["AAPL"])
        stream.start()
        assert stream.wait_finished(10)
        time.sleep(0.5)
        assert stand_in.attempts == 1  # never retried: retrying cannot fix keys
        assert stream.fatal_error is not None and "refused the API keys" in stream.fatal_error
        assert "402" in stream.fatal_error
        assert stream.status().state == "failed"


def test_symbol_limit_is_reported_and_a_missing_plan_is_fatal(stand_in: StreamStandIn) -> None:
    client = Client(stand_in)
    with client as stream:
        stream.subscribe([f"S{i:02d}" for i in range(31)], ["bars"])
        stream.start()
        assert stream.wait_connected(10) and stand_in.wait_subscribed("S30")
        stand_in.send([{"T": "error", "code": 405, "msg": "symbol limit exceeded", "S": ""}], only_subscribed=False)
        assert stand_in.wait_for(lambda: stream.status().last_error is not None)
        error = stream.status().last_error or ""
        assert "405" in error and "31 symbols" in error and "at most 30 symbols" in error
        assert stream.status().state == "connected" and stream.fatal_error is None
        stand_in.send([{"T": "error", "code": 409, "msg": "insufficient subscription", "S": ""}], only_subscribed=False)
        assert stream.wait_finished(10)
        assert stream.fatal_error is not None and "409" in stream.fatal_error and "data plan" in stream.fatal_error
        assert stream.status().state == "failed"
