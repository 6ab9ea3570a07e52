"""The window's live market data: one LiveFeed (owner or consumer), coalesced onto the GUI thread.

* **Who streams**: ``market.stream.service.LiveFeed`` with role ``window``, run in a child process of the
  window (``market.stream.remote.RemoteFeed``; setting ``live/feed_process``, on by default) so its work
  per message never holds the GUI thread's interpreter lock. When no other process holds the account's
  lease the window owns the data connection (alpaca-py's client on its own thread, bars stored by the
  writer); while ``feed run`` or another window holds it, the window consumes the stored bars through the
  database's notifications and shows the owner's published health. ``live_plan`` decides between Alpaca,
  the demo replay (a ReplayServer in another child process on a free loopback port, streamed through the
  same client) and off — in a worker, like everything here that touches the database.
* **Never on the GUI thread**: messages land in a ``TickBook`` on the feed's threads. The first message
  after a flush wakes the GUI thread once (a queued signal); the flush runs at most every
  ``MIN_FLUSH_MS`` (stretched towards ``MAX_FLUSH_MS`` while flushes run late, i.e. the GUI thread is
  busy) and hands every changed symbol's snapshot to ``ticksReady`` and the chart symbol's
  messages, in order, to ``chartEvents`` — one update per symbol per flush however fast the stream.
* **Subscriptions follow the watchlist** (``set_symbols``) on the open connection, without reconnecting.
* **Health**: ``statusChanged`` every second and on every state change (``LiveStatus``: connected,
  reconnecting, stale, consumer, demo, messages/s, lag behind exchange time). No message for
  ``stale_after`` seconds while connected during an open session (the demo replay's own clock is always
  in session) is *stale*: one warning notification per episode (``context.notify``, logged too), and one
  when data flows again.

Signals for other panels (strategies, the chart's markers): ``barsStored`` (every bar the owner stored,
as ``notify.BarEvent`` s, in both modes — what strategies trade on), ``ticksReady``, ``statusChanged``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from workstation.gui.live_book import TickBook
from workstation.gui.live_plan import LivePlan, plan_live, wanted_mode
from workstation.market.calendar import xnys
from workstation.market.notify import BarEvent
from workstation.market.stream.events import FeedStatus

if TYPE_CHECKING:
    from workstation.gui.context import WorkstationContext
    from workstation.market.replay.process import ReplayProcess
    from workstation.market.stream.remote import RemoteFeed
    from workstation.market.stream.service import LiveFeed

log = logging.getLogger(__name__)

MIN_FLUSH_MS = 20  # at most 50 screen updates per second, however many messages arrive
MAX_FLUSH_MS = 250  # … and down to 4 per second while the GUI thread cannot keep up
LATE_MS = 40.0  # a flush this late means the GUI thread is busy (a few ms late is a timer's normal jitter)
STATUS_MS = 1000
MODE_KEY = "live/mode"  # auto | off | demo | alpaca
DEMO_KEY = "live/demo_replay"  # the demo universe ticks by default
DEMO_SPEED_KEY = "live/demo_speed"  # × real time (60: a market minute per second)
FEED_KEY = "live/feed"  # iex | sip
STALE_KEY = "live/stale_seconds"
MAX_SYMBOLS_KEY = "live/max_symbols"
PROCESS_KEY = "live/feed_process"  # the connection's owner runs in a child process (market.stream.remote)


@dataclass(frozen=True)
class LiveStatus:
    """What the status bar shows about the feed."""

    mode: str  # off | alpaca | demo | starting
    state: str  # a FeedState, "stale", "off" or "starting"
    reason: str
    owner: bool = False
    owner_description: str | None = None
    messages_per_second: float = 0.0
    lag_seconds: float | None = None
    market_time: datetime | None = None  # the newest exchange time seen (the demo shows it instead of lag)
    quiet_seconds: float | None = None
    connections: int = 0
    last_error: str | None = None
    symbols: int = 0
    feed: str = "iex"


def _setting(context: WorkstationContext, key: str, default: Any) -> Any:
    value: Any = context.settings.value(key, default)
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() not in ("false", "0", "no", "off")
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            return default
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            return default
    return str(value)


class LiveFeedService(QObject):
    ticksReady = Signal(object)  # list[SymbolTick]: the symbols that changed since the last flush
    chartEvents = Signal(str, object)  # chart symbol, list[MarketEvent] in arrival order
    barsStored = Signal(object)  # list[notify.BarEvent]: bars the owner stored (both modes)
    statusChanged = Signal(object)  # LiveStatus
    flushed = Signal(float)  # time.perf_counter() when a flush was applied (benchmarks)
    _wakeup = Signal()
    _statusPing = Signal()

    def __init__(self, context: WorkstationContext) -> None:
        super().__init__(context)
        self._context = context
        self.book = TickBook(self._wakeup.emit)
        self._wakeup.connect(self._schedule_flush, Qt.ConnectionType.QueuedConnection)
        self._statusPing.connect(self._poll_status, Qt.ConnectionType.QueuedConnection)
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self.flush)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(STATUS_MS)
        self._status_timer.timeout.connect(self._poll_status)
        self._last_flush = 0.0
        self.min_flush_ms = MIN_FLUSH_MS
        self._interval_ms = float(MIN_FLUSH_MS)  # adapts between min_flush_ms and MAX_FLUSH_MS
        self._planned = 0.0
        self._stored: list[BarEvent] = []
        self._stored_lock = threading.Lock()
        self._wanted: list[str] = []
        self._subscribed: set[str] = set()
        self._chart_symbol = ""
        self._engine: object = None
        self._starting = False
        self.plan: LivePlan | None = None
        self.feed: LiveFeed | RemoteFeed | None = None
        self.server: ReplayProcess | None = None
        self.status = LiveStatus("starting", "starting", "starting")
        self.market_time: datetime | None = None
        self.stale_after = 0.0
        self.stale = False
        self.stale_alerts = 0
        # Is the exchange's session open (the demo ignores it: its replay clock is always in session)?
        self.session_open: Callable[[datetime], bool] = lambda now: bool(xnys().is_open(now))
        self.latencies_ms: deque[float] = deque(maxlen=200_000)  # with book.measure (benchmarks)
        self.flushes = 0
        context.symbolChanged.connect(self._chart_symbol_changed)

    # ------------------------------------------------------------------ control (GUI thread)
    @property
    def mode(self) -> str:
        return self.plan.mode if self.plan is not None else "starting"

    def start(self) -> None:
        """Decide what to stream and start it, in a worker; again after a database switch."""
        engine = self._context.engine
        if self._starting or (engine is self._engine and self.plan is not None and self.plan.mode != "off"):
            return  # already streaming from this database (a reload of the same data changes nothing)
        self.stop()
        self._engine = engine
        self._starting = True
        wanted = wanted_mode(_setting(self._context, MODE_KEY, "auto"), _setting(self._context, DEMO_KEY, True))
        feed_name = _setting(self._context, FEED_KEY, "iex")
        speed = _setting(self._context, DEMO_SPEED_KEY, 60.0)
        stale = _setting(self._context, STALE_KEY, 0.0)
        symbols = tuple(self._limited(self._wanted))

        in_child = _setting(self._context, PROCESS_KEY, True)

        def job(_progress: Any, _cancel: Any) -> tuple[LivePlan, ReplayProcess | None, LiveFeed | RemoteFeed | None]:
            return self._open(engine, wanted, feed_name, speed, stale, symbols, in_child)

        handle = self._context.jobs.submit("Start live data", job, on_success=self._opened, on_failure=self._failed)
        handle.cancelled.connect(lambda: setattr(self, "_starting", False))

    def _open(
        self,
        engine: Any,
        wanted: str,
        feed_name: str,
        speed: float,
        stale: float,
        symbols: tuple[str, ...],
        in_child: bool,
    ) -> tuple[LivePlan, ReplayProcess | None, LiveFeed | RemoteFeed | None]:
        from workstation.market.replay.process import ReplayProcess
        from workstation.market.stream.remote import RemoteFeed
        from workstation.market.stream.service import FeedConfig, LiveFeed

        plan = plan_live(engine, wanted, feed_name)
        if plan.mode == "off":
            return plan, None, None
        server = None
        if plan.mode == "demo":
            server = ReplayProcess(
                engine.url.render_as_string(hide_password=False),
                symbols=list(plan.demo_symbols),
                interval="1h",
                start=plan.demo_start,
                speed=speed if speed > 0 else 60.0,
                source=plan.source,
                loop=True,
            ).start()
        self.stale_after = stale if stale > 0 else (10.0 if plan.mode == "demo" else 120.0)
        config = FeedConfig(
            symbols,
            plan.key_id,
            plan.secret_key,
            role="window",
            feed=plan.feed,
            source=plan.source,
            stream_url=server.url if server is not None else None,
            backfill=plan.mode == "alpaca",
            stream_options={"stale_after": self.stale_after},
        )
        # The owner's work per message (the client, the bar writer) runs in a child process, off the GUI
        # thread's interpreter lock; an in-memory database cannot be shared with one, so it stays here.
        url = engine.url.render_as_string(hide_password=False)
        shared = engine.url.get_backend_name() != "sqlite" or engine.url.database not in (None, "", ":memory:")
        feed: LiveFeed | RemoteFeed = RemoteFeed(url, config) if in_child and shared else LiveFeed(engine, config)
        feed.add_listener(self.book.add)
        feed.add_bar_listener(self._on_stored)
        feed.add_status_listener(lambda _status: self._statusPing.emit())
        try:
            feed.start()
        except Exception:
            if server is not None:
                server.stop()
            raise
        return plan, server, feed

    def _opened(self, result: tuple[LivePlan, ReplayProcess | None, LiveFeed | RemoteFeed | None]) -> None:
        self._starting = False
        self.plan, self.server, self.feed = result
        self._subscribed = set(self.feed.symbols) if self.feed is not None else set()
        self.set_symbols(self._wanted)  # what the watchlist showed meanwhile
        if self.feed is not None:
            self._status_timer.start()
            log.info("live data: %s (%s)", self.plan.reason, "owner" if self.feed.is_owner else "consumer")
        self._poll_status()

    def _failed(self, message: str) -> None:
        self._starting = False
        self.plan = LivePlan("off", f"live data could not start: {message}")
        self._poll_status()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection and release the lease (bounded: a stuck database cannot hold the window)."""
        feed, server = self.feed, self.server
        self.feed = self.server = None
        self.plan = None
        self._status_timer.stop()
        self._engine = None
        if feed is None and server is None:
            return

        def close() -> None:
            if feed is not None:
                feed.stop(timeout)
            if server is not None:
                server.stop()

        worker = threading.Thread(target=close, name="live-feed-stop", daemon=True)
        worker.start()
        worker.join(timeout + 1.0)
        self.stale = False

    def set_symbols(self, symbols: list[str]) -> None:
        """The watchlist's symbols (shown order): subscribed on the open connection, no reconnect."""
        self._wanted = list(symbols)
        feed = self.feed
        if feed is None:
            return
        wanted = set(self._limited(self._wanted))
        added, removed = wanted - self._subscribed, self._subscribed - wanted
        if added:
            feed.subscribe(added)
        if removed:
            feed.unsubscribe(removed)
            self.book.forget(removed)
        self._subscribed = wanted

    def _limited(self, symbols: list[str]) -> list[str]:
        """The chart's symbol first, then the watchlist's order, up to ``live/max_symbols``."""
        limit = _setting(self._context, MAX_SYMBOLS_KEY, 200)
        ordered = [self._chart_symbol] if self._chart_symbol else []
        ordered += [s for s in symbols if s != self._chart_symbol]
        return ordered[: max(1, limit)]

    def _chart_symbol_changed(self, symbol: str) -> None:
        self._chart_symbol = symbol
        self.book.set_chart_symbol(symbol)
        if self.feed is not None and symbol and symbol not in self._subscribed:
            self.set_symbols(self._wanted)

    # ------------------------------------------------------------------ flushing (GUI thread)
    def _schedule_flush(self) -> None:
        if self._flush_timer.isActive():
            return
        wait_ms = max(0.0, self._interval_ms - (time.perf_counter() - self._last_flush) * 1000.0)
        self._planned = time.perf_counter() + wait_ms / 1000.0
        self._flush_timer.start(int(wait_ms))

    def flush(self) -> None:
        """Hand what changed to the panels: one snapshot per symbol, the chart symbol's messages in order."""
        now = time.perf_counter()
        # A flush that runs late means the GUI thread is busy (painting, or starved of the CPU): space
        # the updates out (up to MAX_FLUSH_MS), and come back to MIN_FLUSH_MS once it keeps up again.
        late_ms = (now - self._planned) * 1000.0 if self._planned else 0.0
        if late_ms > LATE_MS:
            self._interval_ms = min(MAX_FLUSH_MS, max(self._interval_ms, self.min_flush_ms) * 2.0)
        else:
            self._interval_ms = max(float(self.min_flush_ms), self._interval_ms * 0.8)
        self._planned = 0.0
        self._last_flush = now
        drained = self.book.drain()
        with self._stored_lock:
            stored, self._stored = self._stored, []
        if drained.ticks:
            newest = max((t.exchange_time for t in drained.ticks if t.exchange_time), default=None)
            if newest is not None and (self.market_time is None or newest > self.market_time):
                self.market_time = newest
            self.ticksReady.emit(drained.ticks)
            for tick in drained.ticks:  # price alerts and the ticket follow every streamed symbol
                if tick.last is not None and tick.symbol != self._chart_symbol:
                    self._context.publish_price(tick.symbol, tick.last)
        if drained.chart:
            self.chartEvents.emit(self._chart_symbol, drained.chart)
        if stored:
            self.barsStored.emit(stored)
        self.flushes += 1
        done = time.perf_counter()
        if drained.exchange_times:
            wall = datetime.now(UTC)
            self.latencies_ms.extend((wall - t).total_seconds() * 1000.0 for t in drained.exchange_times)
        self.flushed.emit(done)
        if self.book.last_added is not None and self.stale:
            self._poll_status()  # data flows again: say so now, not at the next status tick

    def _on_stored(self, event: BarEvent) -> None:
        """A stored bar (feed thread): strategies get them in batches at the next flush."""
        with self._stored_lock:
            first = not self._stored
            self._stored.append(event)
        if first:
            self._wakeup.emit()

    # ------------------------------------------------------------------ health (GUI thread)
    def _poll_status(self) -> None:
        plan, feed = self.plan, self.feed
        if plan is None or feed is None:
            reason = plan.reason if plan is not None else "starting"
            self._set_status(LiveStatus(plan.mode if plan else "starting", "off" if plan else "starting", reason))
            return
        status: FeedStatus = feed.status()
        quiet = None
        if feed.is_owner and status.state in ("connected", "stale"):
            since = self.book.last_added
            quiet = time.monotonic() - since if since is not None else None
        state = status.state
        if feed.is_owner and state in ("connected", "stale"):
            in_session = plan.mode == "demo" or self.session_open(datetime.now(UTC))
            quiet_for = quiet if quiet is not None else self._connected_for(status)
            state = "stale" if in_session and quiet_for > self.stale_after else "connected"
            quiet = quiet_for
        self._set_status(
            LiveStatus(
                mode=plan.mode,
                state=state,
                reason=plan.reason,
                owner=feed.is_owner,
                owner_description=status.owner_description,
                messages_per_second=status.messages_per_second,
                lag_seconds=status.lag_seconds,
                market_time=self.market_time,
                quiet_seconds=quiet,
                connections=status.connections,
                last_error=status.last_error,
                symbols=len(feed.symbols),
                feed=plan.feed,
            )
        )

    def _connected_for(self, status: FeedStatus) -> float:
        stamp = status.updated_at or datetime.now(UTC)
        since = status.last_message_at or self._connected_at(status)
        return max(0.0, (stamp - since).total_seconds()) if since is not None else 0.0

    def _connected_at(self, status: FeedStatus) -> datetime | None:
        key = status.connections
        if getattr(self, "_connection_seen", None) != key:
            self._connection_seen = key
            self._connection_at = datetime.now(UTC)
        return self._connection_at

    def _set_status(self, status: LiveStatus) -> None:
        was_stale = self.stale
        self.stale = status.state == "stale"
        if self.stale and not was_stale:
            self.stale_alerts += 1
            quiet = f"{status.quiet_seconds:.0f} s" if status.quiet_seconds is not None else "a while"
            source = "demo replay" if status.mode == "demo" else (status.owner_description or "the data connection")
            log.warning("live market data stale: no message for %s from %s", quiet, source)
            self._context.notify.emit(
                "warning", f"Market data stale: no message for {quiet} from {source} during the session"
            )
        elif was_stale and not self.stale and status.state == "connected":
            self._context.notify.emit("info", "Market data flows again")
        self.status = status
        self.statusChanged.emit(status)
