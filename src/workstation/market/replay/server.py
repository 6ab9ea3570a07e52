"""ReplayServer: stored bars served over Alpaca's market-data stream protocol, offline.

* Speaks the protocol of ``stream.protocol`` on ``/v2/{feed}``: ``connected``, then ``auth`` (any key is
  accepted: it is local; nothing else is answered before it, and it must come within 10 s), then
  ``subscribe`` / ``unsubscribe`` for bars, updatedBars, dailyBars, trades and quotes (``*`` = every
  symbol of the replay), each answered with the whole subscription. msgpack frames for clients that ask
  for them (alpaca-py's ``StockDataStream`` does, unmodified), JSON text for the others.
* **Each client has its own clock**, started by its first subscription: the replay begins at ``start``
  (or the earliest stored bar) and runs at ``speed`` × real time (60 = a market minute per second; 0 =
  as fast as the client reads). Market time with no stored bars for longer than ``max_gap`` (nights,
  weekends, holidays) is skipped, so a replay never sits silent for hours. With ``loop=True`` a
  client whose bars ran out hears them again from ``start`` (the window's demo replay never ends).
* What is sent is market.replay.timeline's: minute bars (exact for stored minutes, a partition of longer
  bars labelled synthetic), the running daily bar, and synthetic trades and quotes; when the stored bars
  run out the connection stays open and silent.
* ``ReplayServer(...).start()`` runs it on its own thread and event loop (port 0 = a free port; see
  ``url``); ``stop()`` ends it. The CLI's ``workstation feed replay`` is this object in the foreground.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from workstation.market.replay.source import ReplayUniverse, groups, load_universe
from workstation.market.replay.timeline import DailyState, minute_events, span_of, split_bars
from workstation.market.stream import protocol

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0
_CHANNEL_OF = {"b": "bars", "u": "updatedBars", "d": "dailyBars", "t": "trades", "q": "quotes"}


@dataclass
class _Client:
    ws: ServerConnection
    binary: bool
    subscribed: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in protocol.CHANNELS})
    player: asyncio.Task[None] | None = None
    sent: int = 0

    def wants(self, message: dict[str, Any]) -> bool:
        symbols = self.subscribed.get(_CHANNEL_OF.get(message["T"], ""), set())
        return message["S"] in symbols or "*" in symbols


class ReplayServer:
    def __init__(
        self,
        engine: Engine,
        *,
        symbols: list[str] | None = None,
        interval: str = "1m",
        start: datetime | None = None,
        speed: float = 60.0,
        source: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ticks: bool = True,
        max_gap: timedelta = timedelta(minutes=15),
        loop: bool = False,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.speed = speed
        self.host = host
        self.port = port
        self.ticks = ticks
        self.max_gap = max_gap
        self.loop = loop  # when the bars run out, play them again from ``start`` (the window's demo)
        self.universe: ReplayUniverse = load_universe(engine, interval, symbols, source=source, start=start)
        self.start_at = start if start is not None else self.universe.first
        self.clients = 0  # connected now
        self.connections = 0  # ever
        self.messages_sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        """The websocket base for APCA_API_STREAM_DATA_URL (clients append /v2/{feed})."""
        return f"ws://{self.host}:{self.port}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._run, name="market-replay", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and loop.is_running():
            loop.call_soon_threadsafe(stopped.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def serve_forever(self) -> None:
        """Run in the calling thread until ``stop()`` (from another thread) or KeyboardInterrupt."""
        self._run()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ server
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            if not isinstance(exc, Exception):
                raise

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        server: Server
        async with serve(
            self._handle,
            self.host,
            self.port,
            process_request=self._check_path,
            max_queue=64,
            ping_interval=20,
            ping_timeout=60,
        ) as server:
            self.port = server.sockets[0].getsockname()[1] if self.port == 0 else self.port
            self._ready.set()
            log.info(
                "replaying %d symbols of %s bars from %s at %g× on %s",
                len(self.universe.sources),
                self.interval,
                self.start_at,
                self.speed,
                self.url,
            )
            await self._stopped.wait()

    @staticmethod
    def _check_path(connection: ServerConnection, request: Request) -> Response | None:
        parts = request.path.split("?")[0].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "v2" and parts[1]:
            return None
        return connection.respond(HTTPStatus.NOT_FOUND, "use /v2/{feed}, e.g. /v2/iex\n")

    def _frame(self, client: _Client, messages: list[dict[str, Any]]) -> bytes | str:
        return protocol.pack(messages, binary=client.binary)

    async def _handle(self, ws: ServerConnection) -> None:
        content_type = ws.request.headers.get("Content-Type", "") if ws.request is not None else ""
        client = _Client(ws, binary="msgpack" in content_type)
        self.clients += 1
        self.connections += 1
        try:
            await ws.send(self._frame(client, [protocol.control("success", "connected")]))
            if not await self._authenticate(client):
                return
            async for frame in ws:
                await self._on_action(client, protocol.unpack(frame))
        except ConnectionClosed:
            pass
        except (ValueError, TypeError) as exc:
            log.info("replay client sent something unreadable (%s); closing", exc)
        finally:
            self.clients -= 1
            if client.player is not None:
                client.player.cancel()

    async def _authenticate(self, client: _Client) -> bool:
        try:
            frame = await asyncio.wait_for(client.ws.recv(), AUTH_TIMEOUT)
        except TimeoutError:
            await client.ws.send(self._frame(client, [protocol.error(404)]))
            await client.ws.close()
            return False
        message = protocol.unpack(frame)
        if not isinstance(message, dict) or message.get("action") != "auth":
            await client.ws.send(self._frame(client, [protocol.error(401)]))
            await client.ws.close()
            return False
        await client.ws.send(self._frame(client, [protocol.control("success", "authenticated")]))
        return True

    async def _on_action(self, client: _Client, message: Any) -> None:
        action = message.get("action") if isinstance(message, dict) else None
        if action == "auth":
            await client.ws.send(self._frame(client, [protocol.error(403)]))
            return
        if action not in ("subscribe", "unsubscribe"):
            await client.ws.send(self._frame(client, [protocol.error(400)]))
            return
        for channel in protocol.CHANNELS:
            wanted = {str(s).upper() if s != "*" else "*" for s in message.get(channel, ())}
            if action == "subscribe":
                client.subscribed[channel] |= wanted
            else:
                client.subscribed[channel] -= wanted
        await client.ws.send(self._frame(client, [protocol.subscription(client.subscribed)]))
        if client.player is None and any(client.subscribed.values()):
            client.player = asyncio.create_task(self._play(client))  # the client's clock starts now

    async def _play(self, client: _Client) -> None:
        with contextlib.suppress(ConnectionClosed):  # the client left; its handler cleans up
            await self._play_bars(client)
            while self.loop:
                await asyncio.sleep(1.0)  # a beat of silence between rounds (and never a busy loop)
                await self._play_bars(client)

    async def _play_bars(self, client: _Client) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        market_elapsed = 0.0  # seconds of market time played, gaps excluded
        previous_end: datetime | None = None
        daily: dict[str, DailyState] = {}
        trade_ids: Iterator[int] = itertools.count(1)
        chunks = groups(self.engine, self.universe, self.start_at)
        while True:
            item = await loop.run_in_executor(None, next, chunks, None)
            if item is None:
                log.info("replay finished for a client after %d messages", client.sent)
                return
            stamp, bars = item
            span = span_of(stamp, self.interval)
            if previous_end is not None:
                gap = (span.start - previous_end).total_seconds()
                if 0 < gap <= self.max_gap.total_seconds():
                    market_elapsed += gap
            symbols = [str(s) for s in bars["symbol"]]
            minute_bars = split_bars(bars, span.minutes, seed=int(pd.Timestamp(stamp).timestamp()))
            for offset, messages in minute_events(
                symbols,
                minute_bars,
                span,
                synthetic_bars=span.minutes > 1,
                ticks=self.ticks,
                daily=daily,
                trade_ids=trade_ids,
            ):
                if self.speed > 0:
                    delay = began + (market_elapsed + offset) / self.speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                else:
                    await asyncio.sleep(0)  # as fast as possible, but other clients get their turn
                chosen = [m for m in messages if client.wants(m)]
                if chosen:
                    await client.ws.send(self._frame(client, chosen))
                    client.sent += len(chosen)
                    self.messages_sent += len(chosen)
            market_elapsed += span.minutes * 60.0
            previous_end = span.end
