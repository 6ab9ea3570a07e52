"""Bar announcements: in-process and to a second process (LISTEN/NOTIFY on PostgreSQL, polling on SQLite),
and the writer that stores and announces streamed bars."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine

import workstation.market.stream.writer as writer_module
from workstation.market.bars import load_bars
from workstation.market.notify import BarSubscriber, announce, prune_events
from workstation.market.store import store_bars
from workstation.market.stream.events import StreamBar
from workstation.market.stream.writer import BarWriter, bars_to_frame

T0 = datetime(2025, 11, 26, 15, 0, tzinfo=UTC)


def _bar(symbol: str, minute: int, close: float, interval: str = "1m") -> StreamBar:
    return StreamBar(symbol, T0 + timedelta(minutes=minute), close, close + 1, close - 1, close, 100 + minute,
                     interval=interval)  # fmt: skip


def _store(engine: Engine, *bars: StreamBar) -> None:
    assert not store_bars(engine, bars_to_frame(bars, "alpaca"), on_written=announce).failures


def test_stored_bars_are_announced_once_and_revisions_flagged(engine: Engine) -> None:
    with BarSubscriber(engine, symbols=["AAPL"], intervals=["1m"]) as subscriber:
        assert subscriber.wait(0.3) == []
        _store(engine, _bar("AAPL", 0, 10.0), _bar("AAPL", 1, 11.0), _bar("MSFT", 0, 5.0), _bar("AAPL", 0, 9.0, "1d"))
        events = subscriber.wait(5)
        assert [(e.symbol, e.timestamp, e.close, e.revised) for e in events] == [
            ("AAPL", T0, 10.0, False), ("AAPL", T0 + timedelta(minutes=1), 11.0, False),
        ]  # fmt: skip
        assert events[0].as_stream_bar().kind == "stored"
        _store(engine, _bar("AAPL", 0, 10.0))  # unchanged: nothing to announce
        _store(engine, _bar("AAPL", 1, 11.5))  # revised
        (revision,) = subscriber.wait(5)
        assert (revision.close, revision.revised) == (11.5, True)
        assert subscriber.wait(0.5) == []


def test_sqlite_subscriber_wakes_when_another_connection_commits(engine: Engine) -> None:
    """No NOTIFY on SQLite: PRAGMA data_version wakes the subscriber within milliseconds, not at its poll."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL subscribers are woken by NOTIFY (the announced-right-after test)")
    with BarSubscriber(engine, symbols=["AAPL"], poll_interval=30.0) as subscriber:
        assert subscriber.wait(0.05) == []
        writer = threading.Timer(0.3, lambda: _store(engine, _bar("AAPL", 0, 10.0)))
        started = time.monotonic()
        writer.start()
        events = subscriber.wait(20)
        waited = time.monotonic() - started
        writer.join()
    assert [e.close for e in events] == [10.0]
    assert waited < 3.0, waited  # the 30 s poll would have taken 30 s


def test_a_subscriber_that_fell_behind_the_retention_knows_it(engine: Engine) -> None:
    subscriber = BarSubscriber(engine, from_id=0)
    _store(engine, _bar("AAPL", 0, 10.0))
    assert len(subscriber.wait(5)) == 1
    _store(engine, _bar("AAPL", 1, 10.0))
    assert prune_events(engine, older_than=timedelta(0)) == 2
    _store(engine, _bar("AAPL", 2, 10.0))
    assert [e.timestamp for e in subscriber.wait(5)] == [T0 + timedelta(minutes=2)]
    assert subscriber.gap  # the minute-1 announcement was pruned before it was read: reload from market_data
    subscriber.close()


_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from workstation.db.engine import create_db_engine
    from workstation.market.notify import BarSubscriber
    subscriber = BarSubscriber(create_db_engine(sys.argv[1]), symbols=["AAPL"])
    print("ready", flush=True)
    received = 0
    deadline = time.monotonic() + 30
    while received < int(sys.argv[2]) and time.monotonic() < deadline:
        for event in subscriber.wait(1.0):
            received += 1
            print(json.dumps({"at": time.time(), "close": event.close}), flush=True)
    """
)


def test_a_second_process_hears_of_new_bars_within_a_second(db_url: str, engine: Engine) -> None:
    rounds = 5
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, db_url, str(rounds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        delays = []
        for i in range(rounds):
            _store(engine, _bar("AAPL", i, 10.0 + i))
            committed = time.time()
            line = json.loads(child.stdout.readline())
            assert line["close"] == 10.0 + i
            delays.append(line["at"] - committed)
            time.sleep(0.1)
        assert child.wait(30) == 0
    finally:
        child.kill()
    # PostgreSQL: LISTEN/NOTIFY; SQLite: PRAGMA data_version every 10 ms. Both well within a second.
    print(f"{engine.dialect.name} announcement delay to a second process: {sorted(delays)}")
    assert max(delays) < 1.0


def test_writer_batches_and_retries_when_the_database_refuses(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    real = writer_module.store_bars
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("database restarting")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "store_bars", flaky)
    writer = BarWriter(engine, max_delay=0.05).start()
    try:
        for i in range(20):
            writer.put(_bar("AAPL", i, 10.0 + i))
        writer.put(_bar("AAPL", 3, 99.0))  # a later version of minute 3 wins within the batch
        writer.put(StreamBar("AAPL", T0 - timedelta(minutes=1), 0.0, 1.0, 1.0, 1.0, 5))  # open 0: rejected alone
        assert writer.flush(15)
    finally:
        writer.stop()
    stored = load_bars(engine, "AAPL", "1m")
    assert len(stored) == 20 and stored["close"].iloc[3] == 99.0
    counts = writer.counts
    assert counts.failed_writes == 1 and counts.inserted == 20 and counts.rejected == 1
    assert counts.max_delay_seconds < 5
    assert pd.Timestamp(stored.index[0]) == pd.Timestamp(T0)


def test_a_bar_announced_right_after_the_first_empty_read_arrives_at_once(pg_engine: Engine) -> None:
    """PostgreSQL: LISTEN starts before the first read, so a bar committed just after it is heard at once
    (not at the fallback poll, seconds later)."""
    subscriber = BarSubscriber(pg_engine, symbols=["AAA"], intervals=("1m",), fallback_poll=5.0)
    try:
        assert subscriber.wait(0.0) == []  # returns before any LISTEN wait
        _store(pg_engine, _bar("AAA", 0, 10.0))
        started = time.monotonic()
        events = subscriber.wait(5.0)
        assert [e.symbol for e in events] == ["AAA"]
        assert time.monotonic() - started < 1.5
    finally:
        subscriber.close()
