"""Back-fill: what the stream did not deliver, from Alpaca's historical bars endpoint (APCA_API_DATA_URL).

After every (re)connection the owner asks, per subscribed symbol, for the 1-minute bars from one minute
after its newest stored minute up to the last finished minute (the one in progress comes by stream).
A symbol with no stored minute starts at the open of the current session; a long outage is filled
back at most ``max_sessions`` sessions. The answer goes through the same writer as streamed bars,
so a minute that the stream also delivered is stored once (the unique key) and the later copy wins.

Daily bars follow one rule (README, "Live market data"): **the historical endpoint wins**. While a
session is open its daily bar comes from the stream (the running bar, revised minute by minute); once
it has closed, the endpoint's daily bar for that session is fetched — at every (re)connection and
``DAILY_DELAY`` after each close — and replaces it; streamed daily bars of a closed session are ignored.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from workstation.db.models import MarketData
from workstation.market.calendar import ExchangeCalendar, Session, xnys
from workstation.market.frame import empty_bars
from workstation.market.providers.alpaca import fetch_alpaca

log = logging.getLogger(__name__)

DAILY_DELAY = timedelta(minutes=15)
_NO_BARS = "Alpaca returned no"  # fetch_alpaca's reason for an empty answer: nothing was missing


@dataclass
class BackfillResult:
    minutes: int = 0
    daily: int = 0
    failures: dict[str, str] | None = None


def minute_starts(
    engine: Engine,
    symbols: Iterable[str],
    source: str,
    *,
    now: datetime,
    calendar: ExchangeCalendar | None = None,
    max_sessions: int = 5,
) -> dict[str, datetime]:
    """Per symbol, the first minute to ask for (see the module docstring)."""
    calendar = calendar or xnys()
    names = sorted(set(symbols))
    current = calendar.current_session(now)
    earliest = current
    for _ in range(max_sessions - 1):
        earliest = calendar.previous_session(earliest)
    query = (
        select(MarketData.symbol, func.max(MarketData.timestamp))
        .where(MarketData.symbol.in_(names), MarketData.interval == "1m", MarketData.source == source)
        .group_by(MarketData.symbol)
    )
    with engine.connect() as conn:
        newest = {str(s): t for s, t in conn.execute(query)}
    starts: dict[str, datetime] = {}
    for symbol in names:
        last = newest.get(symbol)
        if last is None:
            starts[symbol] = current.open
        else:
            starts[symbol] = max(last.astimezone(UTC) + timedelta(minutes=1), earliest.open)
    return starts


def last_finished_minute(now: datetime) -> datetime:
    """The start of the last minute that has ended before ``now``."""
    return now.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)


def fetch_minutes(
    starts: dict[str, datetime], *, now: datetime, feed: str, client: Any
) -> tuple[pd.DataFrame, dict[str, str]]:
    """1-minute bars from each symbol's start to the last finished minute; (bars, failures)."""
    end = last_finished_minute(now)
    wanted = {s: t for s, t in starts.items() if t <= end}
    if not wanted:
        return empty_bars(), {}
    batch = fetch_alpaca(
        sorted(wanted), timeframe="1Min", starts=wanted, end=end, feed=feed, adjustment="split", client=client
    )
    bars = batch.bars
    if not bars.empty:
        # The endpoint's ``end`` is inclusive and bars before a symbol's start may come with a group.
        first = bars["symbol"].map(wanted)
        bars = bars[(bars["timestamp"] >= pd.to_datetime(first, utc=True)) & (bars["timestamp"] <= end)]
    return bars, {s: r for s, r in batch.failures.items() if not r.startswith(_NO_BARS)}


def closed_sessions(now: datetime, count: int, calendar: ExchangeCalendar | None = None) -> list[Session]:
    """The last ``count`` sessions that closed at least DAILY_DELAY before ``now``, oldest first."""
    calendar = calendar or xnys()
    session = calendar.current_session(now)
    found: list[Session] = []
    while len(found) < count:
        if session.close + DAILY_DELAY <= now:
            found.append(session)
        session = calendar.previous_session(session)
    return found[::-1]


def fetch_daily(
    symbols: Iterable[str], *, now: datetime, feed: str, client: Any, sessions: int = 5
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The endpoint's daily bars of the last ``sessions`` closed sessions; (bars, failures)."""
    closed = closed_sessions(now, sessions)
    start = pd.Timestamp(closed[0].day).tz_localize("America/New_York").to_pydatetime()
    batch = fetch_alpaca(
        sorted(set(symbols)), timeframe="1Day", start=start, end=now, feed=feed, adjustment="split", client=client
    )
    bars = batch.bars
    if not bars.empty:
        days = {pd.Timestamp(s.day) for s in closed}
        local_days = bars["timestamp"].dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
        bars = bars[local_days.isin(days)]
    return bars, {s: r for s, r in batch.failures.items() if not r.startswith(_NO_BARS)}


class Backfiller:
    """Runs back-fills on its own thread, one at a time, handing the bars to ``deliver`` (the writer)."""

    def __init__(
        self,
        engine: Engine,
        *,
        source: str,
        feed: str,
        client_factory: Callable[[], Any],
        deliver: Callable[[pd.DataFrame], None],
        max_sessions: int = 5,
    ) -> None:
        self.engine = engine
        self.source = source
        self.feed = feed
        self.client_factory = client_factory
        self.deliver = deliver
        self.max_sessions = max_sessions
        self.minutes = 0
        self.daily = 0
        self.runs = 0
        self.failures: dict[str, str] = {}
        self._jobs: queue.SimpleQueue[tuple[str, tuple[str, ...]] | None] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._lock = threading.Lock()
        self._client: Any = None
        self._thread = threading.Thread(target=self._run, name="bar-backfill", daemon=True)

    def start(self) -> Backfiller:
        self._thread.start()
        return self

    def request(self, kind: str, symbols: Iterable[str]) -> None:
        """Queue a back-fill: ``kind`` is "minutes" or "daily"."""
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._jobs.put((kind, tuple(sorted(set(symbols)))))

    def wait_idle(self, timeout: float) -> bool:
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind, symbols = job
            try:
                if symbols:
                    self._fill(kind, symbols)
            except Exception as exc:  # a bug or an unexpected answer must not end the thread
                log.exception("back-fill of %s failed", kind)
                self.failures["*"] = f"{type(exc).__name__}: {exc}"
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.set()

    def _fill(self, kind: str, symbols: tuple[str, ...]) -> None:
        if self._client is None:
            self._client = self.client_factory()
        now = datetime.now(UTC)
        if kind == "minutes":
            starts = minute_starts(self.engine, symbols, self.source, now=now, max_sessions=self.max_sessions)
            bars, failures = fetch_minutes(starts, now=now, feed=self.feed, client=self._client)
            self.minutes += len(bars)
        else:
            bars, failures = fetch_daily(symbols, now=now, feed=self.feed, client=self._client)
            self.daily += len(bars)
        self.runs += 1
        self.failures.update(failures)
        for symbol, reason in failures.items():
            log.warning("back-fill of %s %s failed: %s", kind, symbol, reason)
        if not bars.empty:
            log.info("back-filled %d %s bars of %d symbols", len(bars), kind, bars["symbol"].nunique())
            self.deliver(bars)
