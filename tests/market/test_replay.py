"""The market replay: stored bars over Alpaca's stream protocol, checked with alpaca-py's own client."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alpaca.data.live.stock import StockDataStream
from sqlalchemy import Engine
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.errors import RefusedError
from workstation.market.aggregate import aggregate_minutes
from workstation.market.bars import load_bars
from workstation.market.demo import load_demo_universe
from workstation.market.replay.server import ReplayServer
from workstation.market.store import store_bars


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("replay") / "demo.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    load_demo_universe(engine, symbols=3, years=1, seed=5)
    try:
        yield engine
    finally:
        engine.dispose()


class AlpacaClient:
    """alpaca-py's StockDataStream, unmodified, on its own thread; collects what its handlers get."""

    def __init__(self, url: str, *, raw: bool = False) -> None:
        self.stream = StockDataStream("any-key", "any-secret", raw_data=raw, url_override=url + "/v2/iex")
        self.received: list[tuple[str, Any, float]] = []
        self.thread = threading.Thread(target=self.stream.run, daemon=True)

    def handler(self, kind: str) -> Any:
        async def collect(item: Any) -> None:
            self.received.append((kind, item, time.monotonic()))

        return collect

    def of(self, kind: str) -> list[Any]:
        return [item for k, item, _t in self.received if k == kind]

    def run_until(self, predicate: Any, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate():
            time.sleep(0.05)
        self.stream.stop()
        # Closing the socket wakes alpaca-py's receive loop now instead of after its 5 s timeout.
        asyncio.run_coroutine_threadsafe(self.stream.close(), self.stream._loop).result(5)
        self.thread.join(10)


def test_alpaca_py_client_hears_the_replay(demo: Engine) -> None:
    hourly = load_bars(demo, "FIN01", "1h")
    with ReplayServer(demo, interval="1h", speed=3600.0) as server:
        assert server.start_at == hourly.index[0].to_pydatetime()  # the earliest stored bar
        client = AlpacaClient(server.url)
        client.stream.subscribe_bars(client.handler("bar"), "FIN01")
        client.stream.subscribe_trades(client.handler("trade"), "FIN01")
        client.stream.subscribe_quotes(client.handler("quote"), "FIN01")
        client.stream.subscribe_daily_bars(client.handler("daily"), "*")
        client.run_until(lambda: len(client.of("bar")) >= 61)
    bars = client.of("bar")
    assert bars[0].symbol == "FIN01" and bars[0].timestamp == hourly.index[0].to_pydatetime()
    assert [b.timestamp for b in bars[:60]] == [bars[0].timestamp + timedelta(minutes=i) for i in range(60)]
    # The first hour's 60 minute bars aggregate back to the stored hourly bar, exactly.
    minutes = pd.DataFrame(
        {"open": [b.open for b in bars[:60]], "high": [b.high for b in bars[:60]], "low": [b.low for b in bars[:60]],
         "close": [b.close for b in bars[:60]], "volume": [b.volume for b in bars[:60]]},
        index=pd.DatetimeIndex([b.timestamp for b in bars[:60]], name="timestamp"),
    )  # fmt: skip
    first_hour = aggregate_minutes(minutes, "1h").iloc[0]
    assert first_hour.tolist() == pytest.approx(hourly.iloc[0].tolist(), abs=1e-6)
    trades, quotes, daily = client.of("trade"), client.of("quote"), client.of("daily")
    assert len(trades) >= 4 * 60 and len(quotes) >= 4 * 60
    first_minute = bars[0]
    in_first = [t for t in trades if t.timestamp < first_minute.timestamp + timedelta(minutes=1)]
    assert in_first[0].price == first_minute.open and in_first[-1].price == first_minute.close
    assert sum(t.size for t in in_first) == first_minute.volume
    assert all(q.bid_price < q.ask_price for q in quotes)
    assert {d.symbol for d in daily} == {"FIN01", "HLT01", "TEC01"}  # "*": every symbol of the replay


def test_synthetic_messages_are_labelled_and_json_is_spoken_on_request(demo: Engine) -> None:
    async def talk(url: str) -> list[Any]:
        async with connect(url + "/v2/iex") as ws:  # no msgpack header: JSON text frames
            frames = [json.loads(await ws.recv())]
            await ws.send(json.dumps({"action": "subscribe", "bars": ["FIN01"]}))
            frames.append(json.loads(await ws.recv()))  # refused: not authenticated
        async with connect(url + "/v2/iex") as ws:
            await ws.recv()
            await ws.send(json.dumps({"action": "auth", "key": "k", "secret": "s"}))
            frames.append(json.loads(await ws.recv()))
            await ws.send(json.dumps({"action": "subscribe", "trades": ["FIN01"], "bars": ["FIN01"]}))
            frames.append(json.loads(await ws.recv()))
            while len(frames) < 8:
                frames.append(json.loads(await ws.recv()))
        return frames

    with ReplayServer(demo, interval="1h", speed=0) as server:
        frames = asyncio.run(talk(server.url))
    assert frames[0] == [{"T": "success", "msg": "connected"}]
    assert frames[1][0]["T"] == "error" and frames[1][0]["code"] == 401
    assert frames[2] == [{"T": "success", "msg": "authenticated"}]
    assert frames[3][0]["T"] == "subscription" and frames[3][0]["bars"] == ["FIN01"] and frames[3][0]["quotes"] == []
    data = [m for frame in frames[4:] for m in frame]
    assert {m["T"] for m in data} <= {"t", "b"} and all(m["synthetic"] is True for m in data)
    assert datetime.fromisoformat(data[0]["t"].replace("Z", "+00:00")).tzinfo is not None


def test_each_client_has_its_own_clock_and_the_speed_holds(demo: Engine) -> None:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    with ReplayServer(demo, interval="1h", speed=600.0, start=start, ticks=False) as server:
        first = AlpacaClient(server.url)
        first.stream.subscribe_bars(first.handler("bar"), "TEC01")
        first.run_until(lambda: len(first.of("bar")) >= 12)
        second = AlpacaClient(server.url)  # connects later: starts from the beginning too
        second.stream.subscribe_bars(second.handler("bar"), "TEC01")
        second.run_until(lambda: len(second.of("bar")) >= 2)
    bars = first.of("bar")
    assert bars[0].timestamp >= start and bars[0].timestamp.date() == datetime(2026, 9, 1).date()
    assert second.of("bar")[0].timestamp == bars[0].timestamp
    times = [t for k, _b, t in first.received if k == "bar"]
    elapsed = times[11] - times[1]  # ten market minutes at 600×: one second
    assert 0.7 < elapsed < 3.0


def test_stored_minutes_are_replayed_as_they_are(engine: Engine) -> None:
    start = pd.Timestamp("2025-11-26 14:30", tz="UTC")
    index = pd.date_range(start, periods=5, freq="1min")
    frame = pd.DataFrame(
        {"row": range(1, 6), "symbol": "AAPL", "interval": "1m", "timestamp": index, "open": [10.0, 11, 12, 13, 14],
         "high": [10.5, 11.5, 12.5, 13.5, 14.5], "low": [9.5, 10.5, 11.5, 12.5, 13.5],
         "close": [10.25, 11.25, 12.25, 13.25, 14.25], "volume": [100, 200, 300, 400, 500], "source": "alpaca"}
    )  # fmt: skip
    assert not store_bars(engine, frame).failures
    with ReplayServer(engine, interval="1m", speed=0) as server:
        client = AlpacaClient(server.url, raw=True)
        client.stream.subscribe_bars(client.handler("bar"), "AAPL")
        client.run_until(lambda: len(client.of("bar")) >= 5)
    bars = client.of("bar")
    assert [(b["t"].to_datetime(), b["o"], b["h"], b["l"], b["c"], b["v"]) for b in bars] == [
        (t.to_pydatetime(), o, h, lo, c, v)
        for t, o, h, lo, c, v in zip(index, frame["open"], frame["high"], frame["low"], frame["close"],
                                     frame["volume"], strict=True)
    ]  # fmt: skip
    assert not any(b.get("synthetic") for b in bars)  # stored minutes are not synthetic
    with pytest.raises(RefusedError, match="no stored 1h bars"):
        ReplayServer(engine, interval="1h")


def test_only_the_stream_path_is_served(demo: Engine) -> None:
    async def attempt(url: str) -> None:
        async with connect(url + "/stream"):
            pass

    with ReplayServer(demo, interval="1d") as server, pytest.raises(InvalidStatus, match="404"):
        asyncio.run(attempt(server.url))


def test_replay_outlives_a_client_that_leaves(demo: Engine, tmp_path: Path) -> None:
    with ReplayServer(demo, interval="1d", speed=0) as server:
        for _ in range(2):
            client = AlpacaClient(server.url)
            client.stream.subscribe_bars(client.handler("bar"), "FIN01")
            client.run_until(lambda c=client: len(c.of("bar")) >= 10)  # type: ignore[misc]
            assert len(client.of("bar")) >= 10
        assert server.connections == 2


def test_a_looping_replay_plays_its_bars_again(engine: Engine) -> None:
    start = pd.Timestamp("2025-11-26 14:30", tz="UTC")
    index = pd.date_range(start, periods=3, freq="1min")
    frame = pd.DataFrame(
        {"row": range(1, 4), "symbol": "AAPL", "interval": "1m", "timestamp": index, "open": [10.0, 11, 12],
         "high": [10.5, 11.5, 12.5], "low": [9.5, 10.5, 11.5], "close": [10.25, 11.25, 12.25],
         "volume": [100, 200, 300], "source": "alpaca"}
    )  # fmt: skip
    assert not store_bars(engine, frame).failures
    with ReplayServer(engine, interval="1m", speed=0, loop=True, ticks=False) as server:
        client = AlpacaClient(server.url, raw=True)
        client.stream.subscribe_bars(client.handler("bar"), "AAPL")
        client.run_until(lambda: len(client.of("bar")) >= 7)  # two rounds and the start of a third
    times = [b["t"].to_datetime() for b in client.of("bar")][:7]
    assert times == [t.to_pydatetime() for t in (*index, *index, index[0])]
