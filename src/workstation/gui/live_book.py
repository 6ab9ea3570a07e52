"""What the live feed changed since the window last looked: per-symbol quotes, coalesced (Qt-free).

The feed's threads call ``add`` for every message (a dict update under a lock, no allocation per
field); the GUI thread calls ``drain`` at most every few tens of milliseconds and gets one snapshot per
symbol that changed, however many messages arrived meanwhile. That is what keeps a 5,000 messages/s
stream from costing 5,000 repaints.

* ``SymbolTick``: last trade price, bid/ask, the session's volume (the running daily bar's volume plus
  the trades after it), the exchange time of the newest message, and whether it is synthetic.
* The chart follows one symbol: every message of that symbol is kept in order (``chart``) so the
  forming bar sees each trade and each minute bar, not only the newest.
* ``wake`` is called (on the feed thread) when the book turns from empty to non-empty: the service
  schedules one flush on the GUI thread then, instead of polling an idle book.
* With ``measure`` on, the exchange time of every message is kept until the next drain, so a benchmark
  can tell message → screen latency per message (not only for the newest one of a burst).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from workstation.market.stream.events import MarketEvent, StreamQuote, StreamTrade

CHART_BACKLOG = 20_000  # messages of the chart symbol kept between two drains (a stalled GUI drops the oldest)


@dataclass(frozen=True, slots=True)
class SymbolTick:
    symbol: str
    last: float | None = None
    bid: float | None = None
    ask: float | None = None
    volume: int | None = None  # the session's volume so far
    exchange_time: datetime | None = None  # of the newest message
    session_time: datetime | None = None  # the newest trade or bar time (which session the last belongs to)
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class Drained:
    ticks: list[SymbolTick]
    chart: list[MarketEvent]
    messages: int  # messages added since the previous drain
    exchange_times: list[datetime]  # with ``measure``: every message's exchange time


@dataclass(slots=True)
class _State:
    """One symbol's running values (mutable: a message costs a few attribute stores, not an object)."""

    last: float | None = None
    bid: float | None = None
    ask: float | None = None
    daily_volume: int = 0  # the newest running daily bar's volume
    after: int = 0  # trade sizes since that bar
    has_volume: bool = False
    exchange_time: datetime | None = None
    session_time: datetime | None = None
    synthetic: bool = False


class TickBook:
    def __init__(self, wake: Callable[[], None] | None = None, *, measure: bool = False) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, _State] = {}
        self._changed: set[str] = set()
        self._chart_symbol = ""
        self._chart: list[MarketEvent] = []
        self._messages = 0
        self._times: list[datetime] = []
        self.measure = measure
        self.wake = wake
        self.total = 0
        self.last_added: float | None = None  # monotonic time of the newest message

    def set_chart_symbol(self, symbol: str) -> None:
        with self._lock:
            if symbol != self._chart_symbol:
                self._chart_symbol = symbol
                self._chart = []

    def add(self, event: MarketEvent) -> None:
        """One message from the feed (any thread)."""
        symbol = event.symbol
        with self._lock:
            was_empty = not self._changed and not self._chart
            state = self._state.get(symbol)
            if state is None:
                state = self._state[symbol] = _State()
            _apply(state, event)
            self._changed.add(symbol)
            if symbol == self._chart_symbol:
                if len(self._chart) >= CHART_BACKLOG:
                    del self._chart[: CHART_BACKLOG // 10]
                self._chart.append(event)
            self._messages += 1
            self.total += 1
            self.last_added = time.monotonic()
            if self.measure:
                self._times.append(event.timestamp)
        if was_empty and self.wake is not None:
            self.wake()

    def drain(self) -> Drained:
        """What changed since the last drain (GUI thread)."""
        with self._lock:
            ticks = [_snapshot(s, self._state[s]) for s in self._changed]
            chart, self._chart = self._chart, []
            messages, self._messages = self._messages, 0
            times, self._times = self._times, []
            self._changed = set()
        return Drained(ticks, chart, messages, times)

    def snapshot(self, symbol: str) -> SymbolTick | None:
        with self._lock:
            state = self._state.get(symbol)
            return _snapshot(symbol, state) if state is not None else None

    def forget(self, symbols: set[str]) -> None:
        with self._lock:
            for symbol in symbols:
                self._state.pop(symbol, None)
                self._changed.discard(symbol)


def _snapshot(symbol: str, s: _State) -> SymbolTick:
    volume = s.daily_volume + s.after if s.has_volume else None
    return SymbolTick(symbol, s.last, s.bid, s.ask, volume, s.exchange_time, s.session_time, s.synthetic)


def _apply(state: _State, event: MarketEvent) -> None:
    if isinstance(event, StreamTrade):
        state.after += int(event.size)
        state.has_volume = True
        state.last = event.price
        state.exchange_time = state.session_time = event.timestamp
        state.synthetic = event.synthetic
    elif isinstance(event, StreamQuote):
        state.bid, state.ask = event.bid_price, event.ask_price
        state.exchange_time = event.timestamp
        state.synthetic = event.synthetic
    elif event.interval == "1d" or event.kind == "daily":
        # The running daily bar counts every trade up to now: trades after it add to it.
        state.daily_volume, state.after, state.has_volume = int(event.volume), 0, True
        state.last = event.close
        state.synthetic = event.synthetic
    else:
        # A minute bar: its close is the last price at the minute's end (a consumer has nothing newer).
        if state.session_time is None or event.timestamp >= state.session_time or state.last is None:
            state.last = event.close
            state.session_time = event.timestamp
        state.exchange_time = event.timestamp
        state.synthetic = event.synthetic
