"""Higher intervals from 1-minute bars on the exchange calendar: what the chart shows for the session.

* Buckets are aligned to the session's open: 5m bars start 09:30, 09:35, …; 15m 09:30, 09:45, …; 1h
  09:30, 10:30, …, 15:30 (a 30-minute last bar), and on an early-close day the 12:30 bar ends at 13:00.
  This is how Yahoo and the demo universe label hourly bars (Alpaca's own 1Hour bars start on the hour
  and include extended hours, so they are a different series and are not mixed in).
* Only regular-hours minutes count. A bucket's bar: the first open, the highest high, the lowest low,
  the last close and the summed volume of its minutes.
* ``aggregate_minutes`` is the batch function (minutes → bars); ``session_bars`` reads the current
  session's stored minutes and aggregates them; ``LiveAggregator`` keeps the forming bar of every
  interval current as minute bars arrive (an updated minute revises its bucket), for a live chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from workstation.market.bars import load_bars
from workstation.market.calendar import ExchangeCalendar, Session, xnys
from workstation.market.stream.events import StreamBar

MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60}
_COLUMNS = ("open", "high", "low", "close", "volume")


def _bucket_minutes(interval: str) -> int:
    if interval not in MINUTES:
        raise ValueError(f"cannot aggregate minutes to {interval!r}: use one of {', '.join(MINUTES)}")
    return MINUTES[interval]


def aggregate_minutes(
    minutes: pd.DataFrame, interval: str, *, calendar: ExchangeCalendar | None = None
) -> pd.DataFrame:
    """Bars of ``interval`` from 1-minute bars (load_bars' shape: UTC index of bar starts, columns open,
    high, low, close, volume), in the same shape; minutes outside regular hours are left out."""
    n = _bucket_minutes(interval)
    calendar = calendar or xnys()
    if minutes.empty:
        return minutes.iloc[0:0]
    opens = calendar.regular_opens(pd.DatetimeIndex(minutes.index))
    inside = np.asarray(opens.notna())
    frame = minutes[inside]
    opens = opens[inside]
    offset = (pd.DatetimeIndex(frame.index) - opens) // pd.Timedelta(minutes=n)
    buckets = opens + pd.to_timedelta(np.asarray(offset) * n, unit="min")
    grouped = frame.groupby(buckets, sort=True)
    bars = pd.DataFrame(
        {
            "open": grouped["open"].first(),
            "high": grouped["high"].max(),
            "low": grouped["low"].min(),
            "close": grouped["close"].last(),
            "volume": grouped["volume"].sum().astype(np.int64),
        }
    )
    bars.index = pd.DatetimeIndex(bars.index, name="timestamp")
    return bars


def session_bars(
    engine: Engine,
    symbol: str,
    interval: str,
    *,
    at: datetime | None = None,
    source: str | None = "alpaca",
    calendar: ExchangeCalendar | None = None,
) -> pd.DataFrame:
    """The current session's bars of ``symbol`` at ``interval``, aggregated from stored 1-minute bars
    (the session in progress at ``at``, default now, else the last one)."""
    calendar = calendar or xnys()
    session = calendar.current_session(at or pd.Timestamp.now("UTC").to_pydatetime())
    minutes = load_bars(
        engine, symbol, "1m", source=source, start=session.open, end=session.close - timedelta(microseconds=1)
    )
    return minutes if interval == "1m" else aggregate_minutes(minutes, interval, calendar=calendar)


@dataclass(frozen=True, slots=True)
class LiveBar:
    """A bar of ``interval`` built from minutes; ``complete`` once its last minute has arrived."""

    symbol: str
    interval: str
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    complete: bool


class LiveAggregator:
    """The forming (and just completed) bar of each interval, per symbol, from minute bars as they come."""

    def __init__(
        self, intervals: Iterable[str] = ("5m", "15m", "1h"), *, calendar: ExchangeCalendar | None = None
    ) -> None:
        self.intervals = tuple(intervals)
        for interval in self.intervals:
            _bucket_minutes(interval)
        self.calendar = calendar or xnys()
        # (symbol, interval) -> {bucket start: {minute start: (o, h, l, c, v)}}, the last two buckets
        self._minutes: dict[
            tuple[str, str], dict[datetime, dict[datetime, tuple[float, float, float, float, int]]]
        ] = {}
        self._session: Session | None = None

    def add(self, bar: StreamBar) -> list[LiveBar]:
        """Take one minute bar (new or revised); returns the updated bar of every interval (none for a
        minute outside regular hours or a daily bar)."""
        if bar.interval != "1m":
            return []
        session = self._session_of(bar.timestamp)
        if session is None:
            return []
        values = (bar.open, bar.high, bar.low, bar.close, int(bar.volume))
        updated = []
        for interval in self.intervals:
            n = MINUTES[interval]
            offset = int((bar.timestamp - session.open).total_seconds() // 60) // n * n
            start = session.open + timedelta(minutes=offset)
            end = min(start + timedelta(minutes=n), session.close)
            buckets = self._minutes.setdefault((bar.symbol, interval), {})
            minutes = buckets.setdefault(start, {})
            minutes[bar.timestamp] = values
            for old in sorted(buckets)[:-2]:
                del buckets[old]
            ordered = [minutes[t] for t in sorted(minutes)]
            updated.append(
                LiveBar(
                    symbol=bar.symbol,
                    interval=interval,
                    timestamp=start,
                    open=ordered[0][0],
                    high=max(v[1] for v in ordered),
                    low=min(v[2] for v in ordered),
                    close=ordered[-1][3],
                    volume=sum(v[4] for v in ordered),
                    complete=max(minutes) + timedelta(minutes=1) >= end,
                )
            )
        return updated

    def _session_of(self, moment: datetime) -> Session | None:
        session = self._session
        if session is None or not session.contains(moment):
            session = self._session = self.calendar.session_at(moment)
        return session
