"""A local stand-in for Alpaca's market-data stream and bars endpoint, for the live-feed tests.

The websocket side speaks the protocol on /v2/{feed} — connected, auth, subscribe/unsubscribe answered
with the whole subscription — in msgpack (alpaca-py's header) or JSON. Data messages are built from the
recorded shapes in ../shared/alpaca-fixtures/ws_market_data_messages.json (the bar, trade and quote
there), with symbol, time and prices replaced. Each new connection follows the next scripted behaviour
("ok", "limit" → 406 after auth, "auth_fail" → 402, "refuse" → closed before "connected").

``Exchange`` is a toy market: deterministic minute bars for a few symbols over a fixed timeline; a pump
thread "completes" one minute every ``step`` seconds and streams it to subscribers; the REST side
(/v2/stocks/bars) serves the completed minutes, so a client that missed some while disconnected can
back-fill them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import msgpack
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def load_templates(fixtures: Path) -> dict[str, dict[str, Any]]:
    messages = json.loads((fixtures / "ws_market_data_messages.json").read_text())
    return {m["T"]: m for m in messages if m["T"] in ("b", "t", "q")}


@dataclass
class Connection:
    ws: ServerConnection
    binary: bool
    path: str
    received: list[dict[str, Any]] = field(default_factory=list)
    subscribed: dict[str, set[str]] = field(default_factory=dict)
    authenticated: bool = False


class StreamStandIn:
    """The websocket server; run it with ``start()``, point APCA_API_STREAM_DATA_URL at ``base_url``."""

    def __init__(self, fixtures: Path) -> None:
        self.templates = load_templates(fixtures)
        self.behaviours: deque[str] = deque()
        self.connections: list[Connection] = []
        self.attempts = 0
        self.attempt_times: list[float] = []
        self.refuse_until = 0.0  # monotonic; new connections are refused before it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    # ------------------------------------------------------------------ control
    def start(self) -> StreamStandIn:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._close_server(), self._loop).result(10)
        self._thread.join(10)

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def live(self) -> list[Connection]:
        return [c for c in self.connections if c.ws.state.name == "OPEN" and c.authenticated]

    def send(self, messages: list[dict[str, Any]], *, only_subscribed: bool = True) -> int:
        """Send one frame to every authenticated connection (only the messages it subscribed to)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(self._send_all(messages, only_subscribed), self._loop).result(10)

    def drop(self) -> None:
        """Cut every open connection (the network failing, not a clean close)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._drop_all(), self._loop).result(10)

    def wait_subscribed(self, symbol: str, channel: str = "bars", timeout: float = 10.0) -> bool:
        """Until the newest live connection has subscribed ``symbol`` on ``channel`` (data sent before
        that is not for it, as on Alpaca's server)."""
        return self.wait_for(
            lambda: bool(self.live) and symbol in self.live[-1].subscribed.get(channel, set()), timeout
        )

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return bool(predicate())

    # ------------------------------------------------------------------ messages from the fixture shapes
    def bar(
        self, symbol: str, start: datetime, o: float, h: float, low: float, c: float, v: int, kind: str = "b"
    ) -> dict[str, Any]:
        message = copy.deepcopy(self.templates["b"])
        message.update({"T": kind, "S": symbol, "t": start, "o": o, "h": h, "l": low, "c": c, "v": v})
        return message

    def trade(self, symbol: str, when: datetime, price: float, size: int) -> dict[str, Any]:
        message = copy.deepcopy(self.templates["t"])
        message.update({"S": symbol, "t": when, "p": price, "s": size})
        return message

    def quote(self, symbol: str, when: datetime, bid: float, ask: float) -> dict[str, Any]:
        message = copy.deepcopy(self.templates["q"])
        message.update({"S": symbol, "t": when, "bp": bid, "ap": ask})
        return message

    # ------------------------------------------------------------------ server
    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopped.wait()

    async def _close_server(self) -> None:
        await self._drop_all()
        self._stopped.set()

    @staticmethod
    def _frame(messages: list[dict[str, Any]], binary: bool) -> bytes | str:
        if binary:
            converted = [
                {k: (msgpack.Timestamp.from_datetime(v) if isinstance(v, datetime) else v) for k, v in m.items()}
                for m in messages
            ]
            return msgpack.packb(converted)  # type: ignore[no-any-return]
        return json.dumps(messages, default=lambda v: v.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))

    async def _handle(self, ws: ServerConnection) -> None:
        self.attempts += 1
        self.attempt_times.append(time.monotonic())
        behaviour = self.behaviours.popleft() if self.behaviours else "ok"
        if behaviour == "refuse" or time.monotonic() < self.refuse_until:
            await ws.close(1013, "try again later")
            return
        binary = "msgpack" in (ws.request.headers.get("Content-Type") or "") if ws.request else False
        conn = Connection(ws, binary, ws.request.path if ws.request else "")
        self.connections.append(conn)
        await ws.send(self._frame([{"T": "success", "msg": "connected"}], binary))
        try:
            async for raw in ws:
                message = msgpack.unpackb(raw) if isinstance(raw, bytes) else json.loads(raw)
                conn.received.append(message)
                action = message.get("action")
                if action == "auth":
                    if behaviour == "auth_fail":
                        await ws.send(self._frame([{"T": "error", "code": 402, "msg": "auth failed"}], binary))
                        await ws.close()
                        return
                    if behaviour == "limit":
                        await ws.send(
                            self._frame([{"T": "error", "code": 406, "msg": "connection limit exceeded"}], binary)
                        )
                        await ws.close()
                        return
                    conn.authenticated = True
                    await ws.send(self._frame([{"T": "success", "msg": "authenticated"}], binary))
                elif action in ("subscribe", "unsubscribe"):
                    for channel, symbols in message.items():
                        if channel == "action":
                            continue
                        current = conn.subscribed.setdefault(channel, set())
                        if action == "subscribe":
                            current |= set(symbols)
                        else:
                            current -= set(symbols)
                    answer = {"T": "subscription"} | {k: sorted(v) for k, v in conn.subscribed.items()}
                    await ws.send(self._frame([answer], binary))
        except ConnectionClosed:
            pass

    async def _send_all(self, messages: list[dict[str, Any]], only_subscribed: bool) -> int:
        channel_of = {"b": "bars", "u": "updatedBars", "d": "dailyBars", "t": "trades", "q": "quotes"}
        sent = 0
        for conn in self.live:
            chosen = [
                m
                for m in messages
                if not only_subscribed or m["S"] in conn.subscribed.get(channel_of.get(m["T"], ""), set())
            ]
            if chosen:
                try:
                    await conn.ws.send(self._frame(chosen, conn.binary))
                    sent += len(chosen)
                except ConnectionClosed:
                    pass
        return sent

    async def _drop_all(self) -> None:
        for conn in self.connections:
            transport = conn.ws.transport
            if transport is not None:
                transport.abort()


class Exchange:
    """Minute bars of a few symbols over ``minutes`` minutes ending before now (so the bars endpoint may
    serve all of them); ``position`` minutes have "happened" so far."""

    def __init__(self, symbols: list[str], minutes: int, *, end: datetime | None = None) -> None:
        end = (end or datetime.now(UTC)).replace(second=0, microsecond=0) - timedelta(minutes=2)
        self.symbols = symbols
        self.times = [end - timedelta(minutes=minutes - i) for i in range(minutes)]
        self.position = 0
        self.lock = threading.Lock()

    def values(self, symbol: str, i: int) -> tuple[float, float, float, float, int]:
        base = 100.0 + 10 * self.symbols.index(symbol) + 0.01 * i
        return round(base, 2), round(base + 0.05, 2), round(base - 0.04, 2), round(base + 0.02, 2), 1000 + i

    def completed(self) -> Iterator[tuple[str, int]]:
        with self.lock:
            upto = self.position
        for i in range(upto):
            for symbol in self.symbols:
                yield symbol, i

    def rest_answer(self, query: dict[str, list[str]]) -> dict[str, Any]:
        symbols = query.get("symbols", [""])[0].split(",")
        if query.get("timeframe", [""])[0] not in ("1Min", "1T"):
            return {"bars": {}, "next_page_token": None}
        start = _parse(query["start"][0]) if "start" in query else datetime.min.replace(tzinfo=UTC)
        end = _parse(query["end"][0]) if "end" in query else datetime.max.replace(tzinfo=UTC)
        bars: dict[str, list[dict[str, Any]]] = {}
        for symbol, i in self.completed():
            t = self.times[i]
            if symbol in symbols and start <= t <= end:
                o, h, low, c, v = self.values(symbol, i)
                bars.setdefault(symbol, []).append(
                    {"t": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "o": o, "h": h, "l": low, "c": c, "v": v, "n": 10, "vw": c}
                )
        return {"bars": bars, "next_page_token": None}


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class BarsEndpoint:
    """GET /v2/stocks/bars answered by an ``Exchange`` (point APCA_API_DATA_URL at ``url``)."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.queries: list[dict[str, list[str]]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                endpoint.queries.append(query)
                body = json.dumps(endpoint.exchange.rest_answer(query)).encode()
                self.send_response(200 if url.path == "/v2/stocks/bars" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> BarsEndpoint:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Pump:
    """Plays an Exchange into a StreamStandIn: one minute every ``step`` seconds, streamed as a bar to
    subscribers (the bars endpoint serves it from then on). ``outage`` = (at minute, seconds): cut the
    connection before that minute is streamed and refuse new ones for that long while minutes go on."""

    def __init__(
        self, exchange: Exchange, stand_in: StreamStandIn, *, step: float, outage: tuple[int, float] | None = None
    ) -> None:
        self.exchange = exchange
        self.stand_in = stand_in
        self.step = step
        self.outage = outage
        self.streamed: list[tuple[str, int]] = []
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Pump:
        self._thread.start()
        return self

    def _run(self) -> None:
        exchange = self.exchange
        for i, t in enumerate(exchange.times):
            if self.outage is not None and i == self.outage[0]:
                self.stand_in.refuse_until = time.monotonic() + self.outage[1]
                self.stand_in.drop()
            time.sleep(self.step)
            with exchange.lock:
                exchange.position = i + 1
            bars = [self.stand_in.bar(s, t, *exchange.values(s, i)) for s in exchange.symbols]
            if self.stand_in.send(bars):
                self.streamed.extend((s, i) for s in exchange.symbols)
        self.done.set()
