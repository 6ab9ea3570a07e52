"""Higher intervals from minutes: session-aligned buckets, early closes, live forming bars, revisions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from workstation.market.aggregate import LiveAggregator, aggregate_minutes, session_bars
from workstation.market.calendar import xnys
from workstation.market.replay.timeline import split_bars
from workstation.market.store import store_bars
from workstation.market.stream.events import StreamBar


def _minutes(start: datetime, end: datetime) -> pd.DataFrame:
    index = pd.date_range(start, end, freq="1min", inclusive="left", name="timestamp")
    n = np.arange(len(index), dtype=float)
    return pd.DataFrame(
        {"open": 100 + n, "high": 101 + n, "low": 99 + n, "close": 100.5 + n, "volume": np.full(len(index), 10)},
        index=index,
    )


def test_hourly_buckets_start_at_the_open_and_stop_at_an_early_close() -> None:
    session = xnys().session_on(date(2025, 11, 28))
    assert session is not None
    # Pre- and post-market minutes around the half day are left out.
    minutes = _minutes(session.open - timedelta(minutes=30), session.close + timedelta(minutes=30))
    hourly = aggregate_minutes(minutes, "1h")
    local = [t.strftime("%H:%M") for t in hourly.index.tz_convert("America/New_York")]
    assert local == ["09:30", "10:30", "11:30", "12:30"]
    assert hourly["volume"].tolist() == [600, 600, 600, 300]  # the last bar is 12:30–13:00
    first = minutes.loc[session.open : session.open + timedelta(minutes=59)]
    assert hourly.iloc[0].tolist() == [first["open"].iloc[0], first["high"].max(), first["low"].min(),
                                       first["close"].iloc[-1], 600]  # fmt: skip
    fifteen = aggregate_minutes(minutes, "15m")
    assert len(fifteen) == 14 and fifteen.index[1] - fifteen.index[0] == pd.Timedelta(minutes=15)


def test_a_full_day_ends_with_a_half_hour_bar() -> None:
    session = xnys().session_on(date(2025, 11, 26))
    assert session is not None
    hourly = aggregate_minutes(_minutes(session.open, session.close), "1h")
    assert len(hourly) == 7 and hourly["volume"].iloc[-1] == 300
    assert hourly.index[-1].tz_convert("America/New_York").strftime("%H:%M") == "15:30"
    with pytest.raises(ValueError, match="cannot aggregate"):
        aggregate_minutes(_minutes(session.open, session.close), "1d")


def test_replayed_minutes_aggregate_back_to_the_stored_hourly_bar() -> None:
    """The replay splits an hourly bar into minutes; aggregating them gives the hourly bar back exactly."""
    session = xnys().session_on(date(2025, 11, 26))
    assert session is not None
    hourly = pd.DataFrame({"open": [50.0], "high": [52.25], "low": [49.5], "close": [51.0], "volume": [123_457]})
    parts = split_bars(hourly, 60, seed=7)
    index = pd.date_range(session.open, periods=60, freq="1min", name="timestamp")
    minutes = pd.DataFrame({k: parts[k][0] for k in ("open", "high", "low", "close", "volume")}, index=index)
    again = aggregate_minutes(minutes, "1h")
    assert again.iloc[0].tolist() == [50.0, 52.25, 49.5, 51.0, 123_457]


def test_live_aggregator_updates_the_forming_bar_and_takes_revisions() -> None:
    session = xnys().session_on(date(2025, 11, 26))
    assert session is not None
    live = LiveAggregator(("5m", "1h"))
    assert live.add(StreamBar("AAPL", session.open - timedelta(minutes=1), 1, 1, 1, 1, 1)) == []  # pre-market
    updates = []
    for i in range(5):
        updates = live.add(StreamBar("AAPL", session.open + timedelta(minutes=i), 10 + i, 11 + i, 9 + i, 10.5 + i, 100))
    five, hour = updates
    assert (five.interval, five.timestamp, five.open, five.high, five.low, five.close, five.volume, five.complete) == (
        "5m", session.open, 10, 15, 9, 14.5, 500, True)  # fmt: skip
    assert not hour.complete and hour.volume == 500
    # An updated bar for minute 2 (a late trade) revises both buckets.
    five, hour = live.add(StreamBar("AAPL", session.open + timedelta(minutes=2), 12, 30, 9, 12.5, 160, kind="updated"))
    assert (five.high, five.volume, hour.high, hour.volume) == (30, 560, 30, 560)
    assert live.add(StreamBar("AAPL", session.open, 1, 1, 1, 1, 1, kind="daily", interval="1d")) == []


def test_session_bars_from_stored_minutes(engine: Engine) -> None:
    session = xnys().session_on(date(2025, 11, 28))
    assert session is not None
    minutes = _minutes(session.open - timedelta(minutes=5), session.close)
    frame = minutes.reset_index().assign(row=lambda f: range(1, len(f) + 1), symbol="AAPL", interval="1m",
                                         source="alpaca")  # fmt: skip
    assert not store_bars(engine, frame).failures
    at = datetime(2025, 11, 28, 20, 0, tzinfo=UTC)  # after the close: still that session
    hourly = session_bars(engine, "AAPL", "1h", at=at)
    assert len(hourly) == 4 and int(hourly["volume"].sum()) == 210 * 10
    assert len(session_bars(engine, "AAPL", "1m", at=at)) == 210
    assert session_bars(engine, "AAPL", "1h", at=datetime(2025, 12, 1, 15, 0, tzinfo=UTC)).empty  # Monday: nothing
