"""LiveFeed: one process's live market data, as the owner of the account's data connection or as a consumer.

* ``start()`` claims the lease (stream.lease). **Owner**: opens the stream (stream.client), stores every
  minute and daily bar through the writer (stream.writer), back-fills after every (re)connection
  (stream.backfill), publishes its FeedStatus with every heartbeat. **Consumer**: reads the owner's
  stored bars from the database (market.notify) and its published status from the lease row.
* Role ``feed`` (``workstation feed run``) takes the connection from a window (handover) and refuses to
  start beside another feed run; role ``window`` owns the connection only while no feed run does, and
  takes it back when the feed run ends (or its lease expires).
* Callbacks (register them before ``start()``), all called on a feed thread and expected to return
  quickly (put the event on a queue or emit a Qt signal):
    ``add_listener(cb)``        every StreamTrade, StreamQuote and StreamBar as it arrives (owner), or
                                each stored bar as a StreamBar of kind "stored" (consumer);
    ``add_bar_listener(cb)``    every bar stored by the owner (a ``notify.BarEvent``, back-fills and
                                revisions included), in both modes — what strategies trade on;
    ``add_status_listener(cb)`` every change of state (connected, reconnecting, failed, consumer, …).
* ``status()`` is the FeedStatus to show (connected / reconnecting / stale, messages/s, lag); ``summary()``
  the counts ``feed run`` prints.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from workstation.errors import RefusedError
from workstation.market.calendar import xnys
from workstation.market.notify import BarEvent, BarSubscriber, BarSubscription
from workstation.market.stream import protocol
from workstation.market.stream.backfill import Backfiller, closed_sessions
from workstation.market.stream.client import MarketDataStream, StreamSettings
from workstation.market.stream.events import FeedStatus, MarketEvent, StreamBar, StreamQuote, StreamTrade
from workstation.market.stream.lease import FeedLease, LeaseHolder, Role, account_key, lease_expired
from workstation.market.stream.listeners import FeedListeners
from workstation.market.stream.writer import BarWriter

log = logging.getLogger(__name__)


class FeedOwnedElsewhereError(RefusedError):
    """Another ``feed run`` holds the account's data connection."""


@dataclass(frozen=True)
class FeedConfig:
    symbols: tuple[str, ...]
    key_id: str
    secret_key: str
    role: Role = "feed"
    feed: str = "iex"
    source: str = "alpaca"  # market_data.source of what is stored
    channels: tuple[str, ...] = protocol.CHANNELS
    stream_url: str | None = None  # websocket base (None: APCA_API_STREAM_DATA_URL or Alpaca's)
    data_url: str | None = None  # historical endpoint (None: APCA_API_DATA_URL or Alpaca's)
    backfill: bool = True
    heartbeat: float = 3.0
    lease_ttl: float = 15.0
    handover_wait: float = 30.0  # feed run: how long to wait for a window to hand over
    max_delay: float = 0.2  # writer batching
    stream_options: dict[str, float] = field(default_factory=dict)  # StreamSettings back-off fields
    description: str | None = None  # who holds the lease, as others see it (None: this process)


@dataclass
class _Tally:
    bars: int = 0
    updated_bars: int = 0
    daily_bars: int = 0
    daily_ignored: int = 0
    trades: int = 0
    quotes: int = 0


class LiveFeed(FeedListeners):
    def __init__(self, engine: Engine, config: FeedConfig) -> None:
        super().__init__(config.symbols)
        self.engine = engine
        self.config = config
        self.account = account_key(config.key_id)
        self.lease = FeedLease(engine, self.account, config.role, ttl=config.lease_ttl, description=config.description)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._stream: MarketDataStream | None = None  # the newest connection (kept after stopping, for summary)
        self._owning = False
        self._claim_after = 0.0  # a window that handed over leaves the lease to the requester for a while
        self._holder_seen: str | None = None
        self._writer: BarWriter | None = None
        self._backfiller: Backfiller | None = None
        self._subscription: BarSubscription | None = None
        self._heartbeat: threading.Thread | None = None
        self._consumer_status = FeedStatus(state="starting", feed=config.feed)
        self._tally = _Tally()
        self._daily_done: object = None  # the last closed session whose daily bars were fetched
        self._session_cache: tuple[int, Any] = (-1, None)
        self.started_at: datetime | None = None
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # for the daily-bar rule; tests move it
        self.unstored = False  # bars were left unstored when the writer stopped
        self._last_notified: tuple[object, ...] = ()
        self.ownerships = 0

    # ------------------------------------------------------------------ life cycle
    def start(self) -> LiveFeed:
        """Claim the connection (or become a consumer); raises FeedOwnedElsewhereError for a second feed run."""
        self.started_at = datetime.now(UTC)
        holder = self.lease.try_acquire(self._consumer_status)
        if holder is not None and self.config.role == "feed":
            holder = self._wait_for_handover(holder)
        if self._listeners or self._bar_listeners:  # register listeners before start(); feed run has none
            self._subscription = BarSubscription(
                BarSubscriber(
                    self.engine, symbols=self._symbols, intervals=("1m", "1d"), sources=(self.config.source,)
                ),
                self._on_stored,
            ).start()
        if holder is None:
            self._become_owner()
        else:
            self._become_consumer(holder)
        self._heartbeat = threading.Thread(target=self._beat, name="feed-heartbeat", daemon=True)
        self._heartbeat.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Close the connection, store what is queued, release the lease."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=10)
        with self._lock:
            self._stop_owning(timeout)
        if self._subscription is not None:
            self._subscription.stop()
        self._notify_status(self.status().with_changes(state="stopped"))

    @property
    def is_owner(self) -> bool:
        return self._owning

    def wait_connected(self, timeout: float) -> bool:
        stream = self._stream
        return self._owning and stream is not None and stream.wait_connected(timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the back-fills queued so far and every bar received so far are stored."""
        backfiller, writer = self._backfiller, self._writer
        done = backfiller.wait_idle(timeout) if backfiller is not None else True
        return (writer.flush(timeout) if writer is not None else True) and done

    # ------------------------------------------------------------------ reading
    def status(self) -> FeedStatus:
        stream = self._stream
        if self._owning and stream is not None:
            return stream.status().with_changes(owner=True, owner_description=self.lease.description)
        if self._stop.is_set() and stream is not None:
            return stream.status().with_changes(owner=False)
        return self._consumer_status

    @property
    def fatal_error(self) -> str | None:
        stream = self._stream
        return stream.fatal_error if stream is not None else None

    def summary(self) -> dict[str, Any]:
        status = self.status()
        writer = self._writer.counts.as_dict() if self._writer is not None else {}
        backfiller = self._backfiller
        t = self._tally
        return {
            "symbols": list(self.symbols),
            "feed": self.config.feed,
            "source": self.config.source,
            "owner": self.is_owner,
            "state": status.state,
            "connections": status.connections,
            "reconnects": max(0, status.connections - 1),
            "messages": self._stream.messages if self._stream else 0,
            "bars": t.bars,
            "updated_bars": t.updated_bars,
            "daily_bars": t.daily_bars,
            "daily_ignored": t.daily_ignored,
            "trades": t.trades,
            "quotes": t.quotes,
            "backfilled_minutes": backfiller.minutes if backfiller else 0,
            "backfilled_daily": backfiller.daily if backfiller else 0,
            "backfill_failures": dict(backfiller.failures) if backfiller else {},
            **{
                f"stored_{k}" if k in ("inserted", "updated", "unchanged", "rejected") else k: v
                for k, v in writer.items()
            },
            "unstored": self.unstored,
            "last_error": status.last_error,
        }

    # ------------------------------------------------------------------ ownership
    def _wait_for_handover(self, holder: LeaseHolder) -> LeaseHolder | None:
        if holder.role == "feed" and not lease_expired(holder, self.engine):
            raise FeedOwnedElsewhereError(
                f"the Alpaca data connection is held by another feed run ({holder.description}); "
                "only one process per account may stream"
            )
        log.info("asking %s to hand over the data connection", holder.description)
        waited = 0.0
        current: LeaseHolder | None = holder
        while current is not None and waited < self.config.handover_wait and not self._stop.wait(0.25):
            waited += 0.25
            current = self.lease.try_acquire(self._consumer_status)
        if current is not None:
            raise FeedOwnedElsewhereError(
                f"{current.description} did not hand over the data connection within {self.config.handover_wait:g} s"
            )
        return None

    def _become_owner(self) -> None:
        with self._lock:
            config = self.config
            self.ownerships += 1
            self._owning = True
            self._writer = BarWriter(self.engine, source=config.source, max_delay=config.max_delay).start()
            if config.backfill:
                self._backfiller = Backfiller(
                    self.engine,
                    source=config.source,
                    feed=config.feed,
                    client_factory=self._rest_client,
                    deliver=self._writer.put_frame,
                ).start()
            settings = StreamSettings(
                config.key_id, config.secret_key, feed=config.feed, url=config.stream_url, **config.stream_options
            )
            self._stream = MarketDataStream(
                settings, self._on_event, on_connected=self._on_connected, on_state=self._notify_status
            )
            self._stream.subscribe(self._symbols, config.channels)
            self._stream.start()
            log.info("%s owns the Alpaca data connection (%s)", self.lease.description, self._stream.url)

    def _stop_owning(self, timeout: float) -> None:
        stream, writer, backfiller = self._stream, self._writer, self._backfiller
        owning, self._owning = self._owning, False
        if stream is not None and owning:
            stream.stop()
        if backfiller is not None:
            backfiller.stop()
        if writer is not None and not writer.stop(timeout):
            self.unstored = True
            log.error("stopping the feed with bars not yet stored (the database did not take them)")
        if self.lease.held or owning:
            try:
                self.lease.release()
            except Exception as exc:  # it expires by itself
                log.warning("releasing the feed lease failed: %s", exc)

    def _become_consumer(self, holder: LeaseHolder | None) -> None:
        self._consumer_status = self._status_from(holder)
        who = holder.description if holder is not None else None
        if who != self._holder_seen:
            self._holder_seen = who
            log.info("market data comes from %s", who or "nobody: no process holds the data connection")
            self._notify_status(self._consumer_status)

    def _status_from(self, holder: LeaseHolder | None) -> FeedStatus:
        if holder is None:
            return FeedStatus(
                state="stopped",
                feed=self.config.feed,
                last_error="no process holds the data connection (start `workstation feed run`)",
            )
        published = holder.status or FeedStatus(feed=self.config.feed)
        state = published.state if not lease_expired(holder, self.engine) else "stale"
        return published.with_changes(state=state, owner=False, owner_description=holder.description)

    def _beat(self) -> None:
        while not self._stop.wait(self.config.heartbeat):
            try:
                self._beat_once()
            except Exception:
                log.exception("feed heartbeat failed")

    def _beat_once(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            if self._owning:
                if self.lease.renew(self.status()):
                    self._fetch_daily_after_close()
                    return
                current = self.lease.holder()
                wanted_by = current.handover_requested_by if current is not None else None
                log.warning("handing the data connection over to %s", wanted_by or "whoever took the expired lease")
                self._stop_owning(10.0)
                self._claim_after = time.monotonic() + 3 * self.config.heartbeat + self.config.lease_ttl
            if time.monotonic() < self._claim_after:
                self._become_consumer(self.lease.holder())
                return
            holder = self.lease.try_acquire(self._consumer_status)
            if holder is None:
                self._become_owner()
            else:
                self._become_consumer(holder)

    def _fetch_daily_after_close(self) -> None:
        backfiller = self._backfiller
        if backfiller is None or "dailyBars" not in self.config.channels:
            return
        last_closed = closed_sessions(self.clock(), 1)[-1]
        if self._daily_done is None:
            self._daily_done = last_closed  # fetched at connection
        elif self._daily_done != last_closed:
            self._daily_done = last_closed
            backfiller.request("daily", self._symbols)

    # ------------------------------------------------------------------ stream callbacks
    def _on_connected(self, connection: int) -> None:
        backfiller = self._backfiller
        if backfiller is None:
            return
        channels = self.config.channels
        if "bars" in channels:
            backfiller.request("minutes", self._symbols)
        if "dailyBars" in channels:
            backfiller.request("daily", self._symbols)

    def _on_event(self, event: MarketEvent) -> None:
        if isinstance(event, StreamBar):
            writer = self._writer
            if event.kind == "daily":
                if self._session_open_on(event):
                    self._tally.daily_bars += 1
                    if writer is not None:
                        writer.put(event)
                else:
                    self._tally.daily_ignored += 1  # a closed session's daily bar: the endpoint's wins
            else:
                if event.kind == "updated":
                    self._tally.updated_bars += 1
                else:
                    self._tally.bars += 1
                if writer is not None:
                    writer.put(event)
        elif isinstance(event, StreamTrade):
            self._tally.trades += 1
        elif isinstance(event, StreamQuote):
            self._tally.quotes += 1
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("feed listener failed")

    def _session_open_on(self, bar: StreamBar) -> bool:
        """Is ``bar``'s session (a daily bar) the one in progress now?"""
        now = self.clock()
        minute = int(now.timestamp() // 60)
        if self._session_cache[0] != minute:
            self._session_cache = (minute, xnys().session_at(now))
        session = self._session_cache[1]
        if session is None:
            return False
        return bool(protocol.session_date_midnight(session.open) == bar.timestamp)

    def _on_stored(self, event: BarEvent) -> None:
        for callback in self._bar_listeners:
            try:
                callback(event)
            except Exception:
                log.exception("stored-bar listener failed")
        if not self._owning and self._listeners:
            bar = event.as_stream_bar()
            for listener in self._listeners:
                try:
                    listener(bar)
                except Exception:
                    log.exception("feed listener failed")

    def _notify_status(self, status: FeedStatus) -> None:
        seen = (status.state, status.last_error, status.connections)
        if seen == self._last_notified:
            return
        self._last_notified = seen
        for callback in self._status_listeners:
            try:
                callback(status)
            except Exception:
                log.exception("feed status listener failed")

    def _symbols_changed(self, symbols: set[str], *, add: bool) -> None:
        stream = self._stream
        if stream is not None and self._owning:
            if add:
                stream.subscribe(symbols, self.config.channels)
                if self._backfiller is not None and stream.wait_connected(0):
                    self._backfiller.request("minutes", symbols)
            else:
                stream.unsubscribe(symbols, self.config.channels)
        if self._subscription is not None:
            self._subscription.subscriber.set_symbols(self._symbols)

    def _rest_client(self) -> Any:
        from workstation.market.providers.alpaca import make_client

        return make_client(self.config.data_url, key_id=self.config.key_id, secret_key=self.config.secret_key)
