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
from dataclasses import dataclass, replace
from datetime import datetime

from workstation.market.stream.events import MarketEvent, StreamBar, StreamQuote, StreamTrade

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


class TickBook:
    def __init__(self, wake: Callable[[], None] | None = None, *, measure: bool = False) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, SymbolTick] = {}
        self._day_volume: dict[str, tuple[int, int]] = {}  # symbol -> (daily bar volume, trades after it)
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
            tick = self._state.get(symbol) or SymbolTick(symbol)
            tick = self._apply(tick, event)
            self._state[symbol] = tick
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

    def _apply(self, tick: SymbolTick, event: MarketEvent) -> SymbolTick:
        symbol = event.symbol
        if isinstance(event, StreamTrade):
            daily, after = self._day_volume.get(symbol, (0, 0))
            after += int(event.size)
            self._day_volume[symbol] = (daily, after)
            return replace(
                tick,
                last=event.price,
                volume=daily + after,
                exchange_time=event.timestamp,
                session_time=event.timestamp,
                synthetic=event.synthetic,
            )
        if isinstance(event, StreamQuote):
            return replace(
                tick, bid=event.bid_price, ask=event.ask_price, exchange_time=event.timestamp, synthetic=event.synthetic
            )
        assert isinstance(event, StreamBar)
        if event.interval == "1d" or event.kind == "daily":
            # The running daily bar counts every trade up to now: trades after it add to it.
            self._day_volume[symbol] = (int(event.volume), 0)
            return replace(tick, last=event.close, volume=int(event.volume), synthetic=event.synthetic)
        # A minute bar: its close is the last price at the minute's end (a consumer has nothing newer).
        newer = tick.session_time is None or event.timestamp >= tick.session_time
        return replace(
            tick,
            last=event.close if newer or tick.last is None else tick.last,
            exchange_time=event.timestamp,
            session_time=max(event.timestamp, tick.session_time) if tick.session_time else event.timestamp,
            synthetic=event.synthetic,
        )

    def drain(self) -> Drained:
        """What changed since the last drain (GUI thread)."""
        with self._lock:
            ticks = [self._state[s] for s in self._changed]
            chart, self._chart = self._chart, []
            messages, self._messages = self._messages, 0
            times, self._times = self._times, []
            self._changed = set()
        return Drained(ticks, chart, messages, times)

    def snapshot(self, symbol: str) -> SymbolTick | None:
        with self._lock:
            return self._state.get(symbol)

    def forget(self, symbols: set[str]) -> None:
        with self._lock:
            for symbol in symbols:
                self._state.pop(symbol, None)
                self._day_volume.pop(symbol, None)
                self._changed.discard(symbol)
