"""The data connection: alpaca-py's StockDataStream in its own thread, with our connection lifecycle.

alpaca-py provides the websocket session (msgpack framing, the subscribe message, dispatch by channel
and symbol). Its own reconnect loop is replaced, because it retries refused keys forever, treats a 406
("connection limit exceeded") like any other failure, and only logs errors that arrive after subscribing.
Here:

* **Connect → authenticate → subscribe**, then consume until the socket drops or ``stop()``.
* **After a drop** of a healthy connection (one that delivered data or stayed up ``stable_after``
  seconds) reconnect at once; every further failure in a row waits ``reconnect_delay`` (exponential,
  equal jitter) between ``min_backoff`` and ``max_backoff``. A **406** always waits, from
  ``limit_min_backoff`` up to ``limit_max_backoff``: the server may hold a dropped socket for 60–120 s.
* **Fatal**: refused keys (401/402) and a feed the plan does not include (409) stop the stream with
  state ``failed`` and ``fatal_error`` set; retrying cannot help.
* **405** (more symbols than the plan allows) is reported in ``last_error``; the connection stays.
* **Subscriptions change at run time** on the same connection (``subscribe`` / ``unsubscribe``, from
  any thread); every (re)connection subscribes to the whole current set.
* Market data is decoded to domain objects (``events``) and handed to ``sink`` on the stream thread:
  the sink must not block (the service puts bars on the writer's queue). ``on_connected(n)`` runs after
  the n-th successful subscription, also on the stream thread (the service starts a back-fill).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
import websockets

from workstation.market.stream import protocol
from workstation.market.stream.events import FeedState, FeedStatus, MarketEvent, StreamBar
from workstation.vendor_warnings import importing_alpaca

with importing_alpaca():  # alpaca-py imports websockets.legacy, deprecated since websockets 14
    from alpaca.common.utils import get_default_user_agent
    from alpaca.data.enums import DataFeed
    from alpaca.data.live.stock import StockDataStream
    from websockets.legacy import client as legacy_client  # the module StockDataStream connects with

log = logging.getLogger(__name__)

_FATAL = {401, protocol.AUTH_FAILED, protocol.INSUFFICIENT_SUBSCRIPTION}


def reconnect_delay(failures: int, low: float, high: float) -> float:
    """Exponential back-off with equal jitter: between half and all of ``low`` × 2^(failures−1), capped at
    ``high`` (jitter keeps several clients from retrying in step)."""
    capped = float(min(high, low * 2.0 ** max(0, failures - 1)))
    return capped / 2 + random.uniform(0, capped / 2)


class StreamRefused(Exception):
    """The server answered with an error message (``code`` from protocol.ERRORS)."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class StreamSettings:
    key_id: str
    secret_key: str
    feed: str = "iex"
    url: str | None = None  # the websocket base; None: APCA_API_STREAM_DATA_URL or Alpaca's
    min_backoff: float = 1.0
    max_backoff: float = 30.0
    limit_min_backoff: float = 10.0
    limit_max_backoff: float = 120.0
    stable_after: float = 30.0
    stale_after: float = 120.0  # no market data for this long during the session: state "stale"
    connect_timeout: float = 10.0


class _Session(StockDataStream):
    """alpaca-py's stream with the connect/auth answers read by us and control messages reported."""

    # alpaca-py initialises these to None without a declared type.
    _ws: Any
    _loop: Any
    _websocket_params: dict[str, Any]

    def __init__(self, owner: MarketDataStream, settings: StreamSettings, endpoint: str) -> None:
        super().__init__(
            settings.key_id,
            settings.secret_key,
            raw_data=True,
            feed=DataFeed(settings.feed),
            url_override=endpoint,
            websocket_params={
                "ping_interval": 10,
                "ping_timeout": 30,
                "max_queue": 4096,
                "open_timeout": settings.connect_timeout,
            },
        )
        self._owner = owner

    async def _connect(self) -> None:
        params: dict[str, Any] = dict(self._websocket_params)
        headers = {"Content-Type": "application/msgpack", "User-Agent": get_default_user_agent()}
        self._ws = await legacy_client.connect(self._endpoint, extra_headers=headers, **params)
        self._expect(await self._ws.recv(), "connected")

    async def _auth(self) -> None:
        await self._ws.send(msgpack.packb({"action": "auth", "key": self._api_key, "secret": self._secret_key}))
        self._expect(await asyncio.wait_for(self._ws.recv(), self._owner.settings.connect_timeout), "authenticated")

    @staticmethod
    def _expect(frame: Any, wanted: str) -> None:
        messages = msgpack.unpackb(frame) if isinstance(frame, bytes) else protocol.unpack(frame)
        first = messages[0] if messages else {}
        if first.get("T") == "error":
            raise StreamRefused(first.get("code"), str(first.get("msg", "error")))
        if first.get("T") != "success" or first.get("msg") != wanted:
            raise StreamRefused(None, f"expected {wanted!r}, got {first!r}")

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("T")
        if kind == "subscription":
            self._owner._acknowledged({k: list(v) for k, v in msg.items() if k != "T" and isinstance(v, list)})
            return
        if kind == "error":
            self._owner._server_error(msg.get("code"), str(msg.get("msg", "")))
            return
        await super()._dispatch(msg)

    async def _run_forever(self) -> None:
        await self._owner._lifecycle()


class MarketDataStream:
    """One data connection in its own thread; see the module docstring for the guarantees."""

    def __init__(
        self,
        settings: StreamSettings,
        sink: Callable[[MarketEvent], None],
        *,
        on_connected: Callable[[int], None] | None = None,
        on_state: Callable[[FeedStatus], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.on_connected = on_connected
        self.on_state = on_state
        self.url = protocol.stream_url(settings.feed, settings.url)
        self._session = _Session(self, settings, self.url)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wanted: dict[str, set[str]] = {channel: set() for channel in protocol.CHANNELS}
        self._status = FeedStatus(state="starting", owner=True, feed=settings.feed, url=self.url)
        self._connected = threading.Event()
        self._finished = threading.Event()
        self._counts: deque[tuple[int, int]] = deque(maxlen=16)  # (second, messages) of recent seconds
        self._last_data_monotonic: float | None = None
        self._last_message_at: datetime | None = None
        self._lag_seconds: float | None = None
        self._last_bar_at: datetime | None = None
        self.fatal_error: str | None = None
        self._closing: asyncio.Future[None] | None = None
        self.messages = 0

    # ------------------------------------------------------------------ control (any thread)
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"alpaca-data-{self.settings.feed}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        session, loop = self._session, self._session._loop
        session._should_run = False
        if loop is not None and loop.is_running():
            # Closing the socket wakes the consumer now instead of after its 5 s receive timeout.
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        if self._thread is not None:
            self._thread.join(timeout)
        self._set_state("failed" if self.fatal_error else "stopped")

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_finished(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    def subscribe(self, symbols: Iterable[str], channels: Iterable[str] = protocol.CHANNELS) -> None:
        """Add symbols to channels; sent on the open connection, or at the next one."""
        self._change(set(symbols), tuple(channels), add=True)

    def unsubscribe(self, symbols: Iterable[str], channels: Iterable[str] = protocol.CHANNELS) -> None:
        self._change(set(symbols), tuple(channels), add=False)

    def subscriptions(self) -> dict[str, set[str]]:
        with self._lock:
            return {channel: set(symbols) for channel, symbols in self._wanted.items()}

    def status(self) -> FeedStatus:
        now = time.monotonic()
        with self._lock:
            status = self._status.with_changes(
                last_message_at=self._last_message_at or self._status.last_message_at,
                lag_seconds=self._lag_seconds if self._lag_seconds is not None else self._status.lag_seconds,
                last_bar_at=self._last_bar_at or self._status.last_bar_at,
            )
            second = int(now)
            recent = sum(n for s, n in self._counts if second - 5 <= s < second)
            last = self._last_data_monotonic
        rate = recent / 5.0
        state: FeedState = status.state
        if state == "connected" and status.connections and self._quiet_too_long(now, last):
            state = "stale"
        return status.with_changes(state=state, messages_per_second=rate, updated_at=datetime.now(UTC))

    # ------------------------------------------------------------------ internals
    def _quiet_too_long(self, now: float, last: float | None) -> bool:
        from workstation.market.calendar import xnys

        since = now - (last if last is not None else self._connected_monotonic)
        return since > self.settings.stale_after and xnys().is_open(datetime.now(UTC))

    _connected_monotonic: float = 0.0

    def _run(self) -> None:
        try:
            asyncio.run(self._session._run_forever())
        except Exception as exc:  # a bug here must not vanish with the thread
            log.exception("market data stream crashed")
            self.fatal_error = f"stream crashed: {type(exc).__name__}: {exc}"
            self._set_state("failed", last_error=self.fatal_error)
        finally:
            self._finished.set()

    def _change(self, symbols: set[str], channels: tuple[str, ...], *, add: bool) -> None:
        unknown = set(channels) - set(protocol.CHANNELS)
        if unknown:
            raise ValueError(f"unknown channels {sorted(unknown)}")
        with self._lock:
            for channel in channels:
                if add:
                    self._wanted[channel] |= symbols
                else:
                    self._wanted[channel] -= symbols
            self._status = self._status.with_changes(symbols=tuple(sorted(set().union(*self._wanted.values()))))
        loop = self._session._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(self._apply(symbols, channels, add=add), loop)

    async def _apply(self, symbols: set[str], channels: tuple[str, ...], *, add: bool) -> None:
        """On the loop: update alpaca-py's handler tables and tell the server (when connected)."""
        self._sync_handlers()
        session = self._session
        if not session._running or session._ws is None:
            return  # the next connection subscribes to everything wanted
        try:
            if add:
                await session._send_subscribe_msg()
            else:
                message: dict[str, Any] = {"action": "unsubscribe"} | {c: sorted(symbols) for c in channels}
                await session._ws.send(msgpack.packb(message))
        except websockets.WebSocketException as exc:
            log.info("subscription change not sent (%s); the reconnect will send it", exc)

    def _sync_handlers(self) -> None:
        with self._lock:
            wanted = {channel: set(symbols) for channel, symbols in self._wanted.items()}
        for channel, symbols in wanted.items():
            self._session._handlers[channel] = dict.fromkeys(symbols, self._on_message)

    def _set_state(self, state: FeedState, **changes: Any) -> None:
        """Record a state change; ``on_state`` hears it when the state, the error or the connection changed."""
        with self._lock:
            before = self._status
            self._status = self._status.with_changes(state=state, **changes)
            status = self._status
        seen = (before.state, before.last_error, before.connections)
        if seen == (status.state, status.last_error, status.connections):
            return
        if self.on_state is not None:
            try:
                self.on_state(status)
            except Exception:
                log.exception("feed state callback failed")

    def _acknowledged(self, channels: dict[str, list[str]]) -> None:
        log.info("subscribed: %s", ", ".join(f"{k} {len(v)}" for k, v in channels.items() if v))

    def _server_error(self, code: int | None, message: str) -> None:
        symbols = len(set().union(*self.subscriptions().values()))
        text = protocol.describe_error(code, message, feed=self.settings.feed, symbols=symbols)
        log.error("%s", text)
        self._set_state(self._status.state, last_error=text)
        if code in _FATAL:
            self.fatal_error = text
            self._session._should_run = False
            # Called on the stream's loop (from dispatch): close now so the consumer returns.
            self._closing = asyncio.ensure_future(self._shutdown())

    async def _on_message(self, message: dict[str, Any]) -> None:
        try:
            event = protocol.decode(message)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("unreadable %s message skipped: %s", message.get("T"), exc)
            return
        if event is None:
            return
        now = time.monotonic()
        second = int(now)
        wall = datetime.now(UTC)
        if isinstance(event, StreamBar):
            exchange_time = event.timestamp + (timedelta(minutes=1) if event.kind != "daily" else timedelta(0))
        else:
            exchange_time = event.timestamp
        with self._lock:
            self.messages += 1
            if self._counts and self._counts[-1][0] == second:
                self._counts[-1] = (second, self._counts[-1][1] + 1)
            else:
                self._counts.append((second, 1))
            self._last_data_monotonic = now
            # Plain fields, folded into the status when it is read: a new FeedStatus per message would
            # cost more than the rest of the message's handling (thousands of messages per second).
            self._last_message_at = wall
            if not (isinstance(event, StreamBar) and event.kind == "daily"):
                # a daily bar's time is its session's date, not a measure of lag
                self._lag_seconds = max(0.0, (wall - exchange_time).total_seconds())
            if isinstance(event, StreamBar) and event.kind == "bar":
                self._last_bar_at = event.timestamp
        try:
            self.sink(event)
        except Exception:
            log.exception("market data sink failed on %s %s", type(event).__name__, event.symbol)

    async def _shutdown(self) -> None:
        session = self._session
        session._should_run = False
        event = getattr(session, "_stop_stream_event", None)  # older alpaca-py releases lack it until we set it
        if event is not None:
            event.set()
        if session._stop_stream_queue.empty():
            session._stop_stream_queue.put_nowait({"should_stop": True})
        if session._ws is not None:
            await session._ws.close()

    async def _wait(self, seconds: float) -> None:
        event = getattr(self._session, "_stop_stream_event", None)
        if seconds <= 0 or event is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)

    async def _lifecycle(self) -> None:
        """Connect, authenticate, subscribe, consume; after a drop, reconnect as the docstring says."""
        session = self._session
        loop = asyncio.get_running_loop()
        session._loop = loop
        session._stop_stream_event = asyncio.Event()
        session._should_run = True
        while not session._stop_stream_queue.empty():
            session._stop_stream_queue.get_nowait()
        self._sync_handlers()
        failures = 0
        while session._should_run:
            if not any(self.subscriptions().values()):
                await self._wait(0.1)  # nothing to stream yet: hold no connection
                continue
            healthy = False
            refused: StreamRefused | None = None
            self._set_state("connecting" if self._status.connections == 0 else "reconnecting", failures=failures)
            try:
                await session._connect()
                await session._auth()
                self._sync_handlers()
                await session._send_subscribe_msg()
                session._running = True
                self._connected_monotonic = time.monotonic()
                connections = self._status.connections + 1
                self._set_state("connected", connections=connections, failures=0)
                log.info("market data stream connected to %s (connection %d)", self.url, connections)
                self._connected.set()
                if self.on_connected is not None:
                    self.on_connected(connections)
                data_before = self.messages
                await session._consume()
                healthy = True
            except StreamRefused as exc:
                refused = exc
            except (websockets.WebSocketException, OSError, TimeoutError, ValueError) as exc:
                up = time.monotonic() - self._connected_monotonic if session._running else 0.0
                healthy = session._running and (self.messages > data_before or up >= self.settings.stable_after)
                if session._should_run:
                    log.info("market data stream dropped: %s", exc or type(exc).__name__)
                    self._set_state("reconnecting", last_error=f"connection lost: {exc or type(exc).__name__}")
            finally:
                session._running = False
                self._connected.clear()
                if session._ws is not None:
                    with contextlib.suppress(Exception):  # the socket is gone either way
                        await session._ws.close()
                    session._ws = None
            if refused is not None:
                text = protocol.describe_error(refused.code, str(refused), feed=self.settings.feed)
                if refused.code in _FATAL:
                    self.fatal_error = text
                    self._set_state("failed", last_error=text)
                    log.error("%s", text)
                    return
                log.warning("%s", text)
                self._set_state("reconnecting", last_error=text)
            if not session._should_run:
                break
            if healthy and refused is None:
                failures = 0
                delay = 0.0  # the first reconnect after a healthy connection is immediate
            else:
                failures += 1
                if refused is not None and refused.code == protocol.CONNECTION_LIMIT:
                    low, high = self.settings.limit_min_backoff, self.settings.limit_max_backoff
                else:
                    low, high = self.settings.min_backoff, self.settings.max_backoff
                delay = reconnect_delay(failures, low, high)
            self._set_state("reconnecting", failures=failures)
            if delay > 0:
                log.info("reconnecting the market data stream in %.1f s (failure %d in a row)", delay, failures)
            await self._wait(delay)
        if self.fatal_error:
            self._set_state("failed", last_error=self.fatal_error)
