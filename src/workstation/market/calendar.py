"""The exchange calendar: NYSE (XNYS) regular sessions, holidays and early closes, from exchange_calendars.

Every question of the form "is the market open now", "which session is this bar in", "when does today's
session close" is answered here and nowhere else — no weekday or 09:30–16:00 arithmetic elsewhere.

* A **session** is one trading day of the exchange: its date (New York) and its regular hours as UTC
  datetimes, ``open <= t < close``. Regular hours are 09:30–16:00 New York, 09:30–13:00 on early-close
  days (the day after Thanksgiving, Christmas Eve, the eve of Independence Day); holidays have no
  session. Pre- and post-market trading is outside every session.
* The **current session** at a moment is the one in progress, else the latest one that has opened
  before it (after 16:00 and over a weekend the chart still shows the last session).
* Lookups are binary searches over arrays built once per process (building the exchange_calendars
  object takes about 0.3 s); a date outside the calendar's range rebuilds it wider, once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

EXCHANGE = "XNYS"
EXCHANGE_TZ = "America/New_York"


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day: ``day`` is its New York date, ``open``/``close`` its regular hours in UTC."""

    day: date
    open: datetime
    close: datetime

    @property
    def early_close(self) -> bool:
        """Closed before 16:00 New York (a half day)."""
        local = pd.Timestamp(self.close).tz_convert(EXCHANGE_TZ)
        return (local.hour, local.minute) < (16, 0)

    @property
    def minutes(self) -> int:
        return int((self.close - self.open).total_seconds() // 60)

    def contains(self, moment: datetime) -> bool:
        return self.open <= moment < self.close

    def minute_starts(self) -> pd.DatetimeIndex:
        """The start of every regular-hours minute of the session (UTC), 390 on a full day."""
        return pd.date_range(self.open, self.close, freq="1min", inclusive="left")


def _utc(moment: datetime | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware time")
    return stamp.tz_convert("UTC")


class ExchangeCalendar:
    """Sessions of one exchange (XNYS by default) with fast lookups by moment or by date."""

    def __init__(self, name: str = EXCHANGE) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._first: pd.Timestamp | None = None
        self._last: pd.Timestamp | None = None
        self._days = np.empty(0, dtype="datetime64[ns]")
        self._opens = np.empty(0, dtype="datetime64[ns]")
        self._closes = np.empty(0, dtype="datetime64[ns]")

    # ------------------------------------------------------------------ building
    def _ensure(self, *moments: pd.Timestamp) -> None:
        """Make sure the arrays cover ``moments`` (with a margin of a year either side)."""
        with self._lock:
            lo = min(moments).tz_localize(None).normalize()
            hi = max(moments).tz_localize(None).normalize()
            if self._first is not None and self._last is not None and self._first <= lo and hi <= self._last:
                return
            import exchange_calendars

            today = pd.Timestamp.now("UTC").tz_localize(None).normalize()
            start = min(lo - pd.DateOffset(years=1), today - pd.DateOffset(years=20))
            end = max(hi + pd.DateOffset(years=1), today + pd.DateOffset(years=1))
            if self._first is not None and self._last is not None:
                start, end = min(start, self._first), max(end, self._last)
            calendar = exchange_calendars.get_calendar(self.name, start=start, end=end)
            schedule = calendar.schedule
            self._days = schedule.index.to_numpy(dtype="datetime64[ns]")
            self._opens = schedule["open"].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
            self._closes = schedule["close"].dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
            # The calendar answers for its whole range; a session date outside it is outside the range.
            self._first, self._last = pd.Timestamp(calendar.first_session), pd.Timestamp(calendar.last_session)

    def _session(self, i: int) -> Session:
        return Session(
            day=pd.Timestamp(self._days[i]).date(),
            open=pd.Timestamp(self._opens[i]).tz_localize("UTC").to_pydatetime(),
            close=pd.Timestamp(self._closes[i]).tz_localize("UTC").to_pydatetime(),
        )

    # ------------------------------------------------------------------ lookups
    def session_on(self, day: date) -> Session | None:
        """The session of a New York date, or None on a weekend or holiday."""
        stamp = pd.Timestamp(day)
        self._ensure(stamp.tz_localize("UTC"))
        i = int(np.searchsorted(self._days, stamp.to_datetime64()))
        if i < len(self._days) and self._days[i] == stamp.to_datetime64():
            return self._session(i)
        return None

    def session_at(self, moment: datetime | pd.Timestamp) -> Session | None:
        """The session whose regular hours contain ``moment``, else None (closed)."""
        stamp = _utc(moment)
        self._ensure(stamp)
        value = stamp.tz_localize(None).to_datetime64()
        i = int(np.searchsorted(self._opens, value, side="right")) - 1
        if i >= 0 and value < self._closes[i]:
            return self._session(i)
        return None

    def is_open(self, moment: datetime | pd.Timestamp) -> bool:
        return self.session_at(moment) is not None

    def current_session(self, moment: datetime | pd.Timestamp) -> Session:
        """The session in progress at ``moment``, else the latest one that opened before it."""
        stamp = _utc(moment)
        self._ensure(stamp - pd.Timedelta(days=14))
        value = stamp.tz_localize(None).to_datetime64()
        i = int(np.searchsorted(self._opens, value, side="right")) - 1
        if i < 0:
            raise ValueError(f"no {self.name} session before {stamp}")
        return self._session(i)

    def next_session(self, moment: datetime | pd.Timestamp) -> Session:
        """The session in progress at ``moment``, else the next one to open."""
        stamp = _utc(moment)
        self._ensure(stamp + pd.Timedelta(days=14))
        value = stamp.tz_localize(None).to_datetime64()
        i = int(np.searchsorted(self._closes, value, side="right"))
        return self._session(i)

    def previous_session(self, session: Session) -> Session:
        return self.current_session(session.open - timedelta(microseconds=1))

    def sessions(self, start: date, end: date) -> list[Session]:
        """Every session with a date in [start, end]."""
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        self._ensure(lo.tz_localize("UTC"), hi.tz_localize("UTC"))
        first = int(np.searchsorted(self._days, lo.to_datetime64(), side="left"))
        last = int(np.searchsorted(self._days, hi.to_datetime64(), side="right"))
        return [self._session(i) for i in range(first, last)]

    def session_days(self, start: date, end: date) -> pd.DatetimeIndex:
        """The session dates in [start, end] as naive midnights (for frames indexed by trading day)."""
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        self._ensure(lo.tz_localize("UTC"), hi.tz_localize("UTC"))
        first = int(np.searchsorted(self._days, lo.to_datetime64(), side="left"))
        last = int(np.searchsorted(self._days, hi.to_datetime64(), side="right"))
        return pd.DatetimeIndex(self._days[first:last])

    def regular_opens(self, stamps: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """For each UTC moment, the open of the session whose regular hours contain it (NaT outside any).
        Vectorised, for aggregating many bars at once."""
        if len(stamps) == 0:
            return pd.DatetimeIndex([], tz="UTC")
        utc = stamps.tz_convert("UTC")
        self._ensure(utc.min(), utc.max())
        values = utc.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        index = np.searchsorted(self._opens, values, side="right") - 1
        safe = np.maximum(index, 0)
        inside = (index >= 0) & (values < self._closes[safe])
        opens = np.where(inside, self._opens[safe], np.datetime64("NaT"))
        return pd.DatetimeIndex(opens).tz_localize("UTC")


@lru_cache(maxsize=1)
def xnys() -> ExchangeCalendar:
    """The NYSE calendar, one per process."""
    return ExchangeCalendar(EXCHANGE)


def session_open_at(now: datetime) -> datetime | None:
    """The open of the session in progress at ``now`` (UTC), or None when the market is closed."""
    session = xnys().session_at(now)
    return session.open if session is not None else None
