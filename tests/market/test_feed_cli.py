"""``workstation feed`` as real subprocesses: run against the stand-in (every minute stored once across a
dropped connection, on both databases), its exit codes, the replay server, the status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pandas as pd
import pytest
from alpaca_ws_standin import BarsEndpoint, Exchange, Pump, StreamStandIn
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from workstation.cli import main
from workstation.db.market import MarketData
from workstation.errors import WorkstationError
from workstation.market.bars import load_bars
from workstation.market.stream.service import FeedConfig, LiveFeed
from workstation.market.tables import market_data_events


def _env(stand_in: StreamStandIn, data_url: str = "http://127.0.0.1:9", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APCA_")}
    return env | {
        "APCA_API_KEY_ID": "test-key", "APCA_API_SECRET_KEY": "test-secret",
        "APCA_API_STREAM_DATA_URL": stand_in.base_url, "APCA_API_DATA_URL": data_url, **extra,
    }  # fmt: skip


def _start(db_url: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "workstation", "--database-url", db_url, "feed", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _read_until(process: subprocess.Popen[str], predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
    """JSON lines from the process until one satisfies ``predicate``."""
    assert process.stdout is not None
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(json.loads(line))
        if predicate(seen[-1]):
            return seen
    raise AssertionError(f"no such line within {timeout} s: {seen}")


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(MarketData).where(MarketData.interval == "1m")).scalar_one()
        )


def test_feed_run_stores_every_minute_once_across_a_dropped_connection(
    db_url: str, engine: Engine, stand_in: StreamStandIn
) -> None:
    exchange = Exchange(["AAA", "BBB"], 40)
    rest = BarsEndpoint(exchange).start()
    process = _start(db_url, _env(stand_in, rest.url), "run", "--symbols", "AAA,BBB", "--json")
    try:
        _read_until(process, lambda line: line.get("event") == "status" and line.get("state") == "connected")
        assert stand_in.wait_subscribed("BBB")
        pump = Pump(exchange, stand_in, step=0.15, outage=(15, 1.5)).start()
        assert pump.done.wait(90)
        assert stand_in.wait_for(lambda: _stored(engine) >= 80, timeout=30)
        process.send_signal(signal.SIGINT)  # Ctrl+C: store what arrived, print the summary, exit 130
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
        rest.stop()
    assert process.returncode == 130, err
    summary = [json.loads(line) for line in out.splitlines() if line.strip()][-1]
    assert summary["event"] == "summary" and summary["exit_code"] == 130
    missed = len({(s, i) for s, i in exchange.completed()} - set(pump.streamed))
    assert missed > 0  # minutes that only the back-fill could deliver
    assert summary["stored_inserted"] == 80 and summary["stored_updated"] == 0  # 0 lost, 0 duplicated
    assert summary["reconnects"] >= 1 and summary["backfilled_minutes"] >= missed
    for symbol in exchange.symbols:
        stored = load_bars(engine, symbol, "1m", source="alpaca")
        assert list(stored.index) == [pd.Timestamp(t) for t in exchange.times]
        assert stored["volume"].tolist() == [exchange.values(symbol, i)[4] for i in range(40)]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(market_data_events)).scalar_one() == 80


def test_feed_run_exit_codes(db_url: str, engine: Engine, stand_in: StreamStandIn) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("exit codes do not depend on the database")
    env = _env(stand_in)
    # --duration: streams, then stops on its own with exit 0 and a summary.
    done = subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db_url, "feed", "run", "--symbols", "AAA",
         "--duration", "2", "--no-backfill"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "streamed 1 symbols" in done.stdout and "1 connections" in done.stdout
    assert "feed connected" in done.stderr
    # Refused keys: a configuration error (2), said in one line, no retry storm.
    stand_in.behaviours.append("auth_fail")
    attempts = stand_in.attempts
    refused = subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db_url, "feed", "run", "--symbols", "AAA",
         "--duration", "20", "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "refused the API keys" in refused.stderr and stand_in.attempts == attempts + 1
    # Another feed run already streams this account: refused (1).
    holder = LiveFeed(engine, FeedConfig(("AAA",), "test-key", "x", stream_url=stand_in.base_url, backfill=False))
    holder.start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "workstation", "--database-url", db_url, "feed", "run", "--symbols", "AAA"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    finally:
        holder.stop()
    assert second.returncode == 1 and "another feed run" in second.stderr
    # Bad input and missing keys: 2.
    runner = CliRunner()
    bad = runner.invoke(main, ["--database-url", db_url, "feed", "run", "--symbols", "A B"])
    assert isinstance(bad.exception, WorkstationError) and bad.exception.exit_code == 2
    no_keys = runner.invoke(
        main, ["--database-url", db_url, "feed", "run", "--symbols", "AAA"],
        env={"APCA_API_KEY_ID": None, "APCA_API_SECRET_KEY": None},
    )  # fmt: skip
    assert isinstance(no_keys.exception, WorkstationError) and no_keys.exception.exit_code == 2
    assert "APCA_API_KEY_ID" in str(no_keys.exception)


def test_feed_status_shows_the_owner(db_url: str, engine: Engine, stand_in: StreamStandIn) -> None:
    runner = CliRunner()
    idle = runner.invoke(main, ["--database-url", db_url, "feed", "status", "--json"])
    assert idle.exit_code == 0 and json.loads(idle.stdout)["owner"] is None
    feed = LiveFeed(engine, FeedConfig(("AAA",), "k", "s", stream_url=stand_in.base_url, backfill=False, heartbeat=0.2))
    feed.start()
    try:
        assert feed.wait_connected(10)

        def status_now() -> dict[str, Any]:
            return dict(json.loads(runner.invoke(main, ["--database-url", db_url, "feed", "status", "--json"]).stdout))

        assert stand_in.wait_for(lambda: status_now().get("state") == "connected")
        status = status_now()
        assert status["owner"].startswith("feed run, pid") and status["connections"] == 1 and not status["expired"]
    finally:
        feed.stop()


def test_feed_replay_cli_serves_until_ctrl_c(db_url: str, engine: Engine) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the replay's reading is tested on both databases in test_replay")
    frame = pd.DataFrame(
        {"row": [1, 2], "symbol": "AAA", "interval": "1d",
         "timestamp": pd.to_datetime(["2025-11-25 05:00", "2025-11-26 05:00"], utc=True), "open": [10.0, 11.0],
         "high": [11.0, 12.0], "low": [9.0, 10.0], "close": [10.5, 11.5], "volume": [1000, 2000], "source": "test"}
    )  # fmt: skip
    from workstation.market.store import store_bars

    assert not store_bars(engine, frame).failures
    process = subprocess.Popen(
        [sys.executable, "-m", "workstation", "--database-url", db_url, "feed", "replay", "--interval", "1d",
         "--speed", "0", "--port", "0", "--no-ticks"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        assert "replaying 1 symbols of 1d bars from 2025-11-25" in banner
        url = banner.split("APCA_API_STREAM_DATA_URL=")[1].split(")")[0]
        from test_replay import AlpacaClient

        client = AlpacaClient(url)
        client.stream.subscribe_bars(client.handler("bar"), "AAA")
        client.run_until(lambda: len(client.of("bar")) >= 390 + 390)
        assert len(client.of("bar")) == 780  # two full sessions of minutes
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130 and "served 1 connections" in err
