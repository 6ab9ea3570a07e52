"""A local stand-in for Alpaca's Trading API: HTTP (http.server) + trade_updates websocket (websockets).

Bodies are the fixtures in ../shared/alpaca-fixtures with the fields of the order at hand filled
in. Faults are scripted per POST /v2/orders: "429", "403", "422", "drop" (accept the order, then
close the connection without answering). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import ServerConnection, serve


class AlpacaStandIn:
    def __init__(self, fixtures: Path) -> None:
        self.fixtures = fixtures
        self.template = self._load("order_market_accepted.json")
        self.trade_update = self._load("ws_trade_updates_fill.json")
        control = self._load("ws_trading_control_messages.json")
        self.authorized, self.listening = control[1], control[0]
        self.orders: dict[str, dict[str, Any]] = {}
        self.faults: list[str] = []
        self.post_attempts = 0
        self.lock = threading.Lock()
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.http.daemon_threads = True
        self.loop = asyncio.new_event_loop()
        self.clients: set[ServerConnection] = set()
        self.ws_port = 0
        self.auth_count = 0
        self._ready = threading.Event()

    def _load(self, name: str) -> Any:
        return json.loads((self.fixtures / name).read_text())

    # ---------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/stream"

    def start(self) -> AlpacaStandIn:
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        threading.Thread(target=self._run_ws, daemon=True).start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.loop.call_soon_threadsafe(self.loop.stop)

    def _run_ws(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            server = await serve(self._ws_session, "127.0.0.1", 0)
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await asyncio.Future()

        with contextlib.suppress(RuntimeError):
            self.loop.run_until_complete(main())

    async def _ws_session(self, connection: ServerConnection) -> None:
        auth = json.loads(await connection.recv())
        assert auth["action"] == "authenticate"
        self.auth_count += 1
        await connection.send(json.dumps(self.authorized))
        listen = json.loads(await connection.recv())
        assert listen["action"] == "listen"
        await connection.send(json.dumps(self.listening))
        self.clients.add(connection)
        try:
            await connection.wait_closed()
        finally:
            self.clients.discard(connection)

    # ---------------------------------------------------------------- broker-side actions
    def _body(self, order: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(order)

    def push_event(
        self, event: str, order: dict[str, Any], qty: Decimal | None = None, price: Decimal | None = None
    ) -> None:
        message = copy.deepcopy(self.trade_update)
        message["data"]["event"] = event
        message["data"]["execution_id"] = str(uuid.uuid4())
        message["data"]["order"] = self._body(order)
        message["data"]["qty"] = str(qty) if qty is not None else None
        message["data"]["price"] = str(price) if price is not None else None
        message["data"]["timestamp"] = "2024-03-04T15:00:00.123456789Z"
        text = json.dumps(message)

        async def send_all() -> None:
            for client in list(self.clients):
                await client.send(text)

        asyncio.run_coroutine_threadsafe(send_all(), self.loop).result(5)

    def fill(self, client_order_id: str, qty: str, price: str, *, push: bool = True) -> None:
        with self.lock:
            order = self.orders[client_order_id]
            done = Decimal(order["filled_qty"]) + Decimal(qty)
            previous = Decimal(order["filled_avg_price"] or 0) * Decimal(order["filled_qty"])
            order["filled_avg_price"] = str((previous + Decimal(qty) * Decimal(price)) / done)
            order["filled_qty"] = str(done)
            order["status"] = "filled" if done >= Decimal(str(order["qty"])) else "partially_filled"
        if push:
            self.push_event(
                "fill" if order["status"] == "filled" else "partial_fill", order, Decimal(qty), Decimal(price)
            )

    def drop_stream_clients(self) -> None:
        async def close_all() -> None:
            for client in list(self.clients):
                await client.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(5)

    # ---------------------------------------------------------------- HTTP
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("APCA-API-KEY-ID") and self.headers.get("APCA-API-SECRET-KEY"):
                    return True
                self._send(401, standin._load("error_401_not_authorized.json"))
                return False

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length))
                with standin.lock:
                    standin.post_attempts += 1
                    fault = standin.faults.pop(0) if standin.faults else None
                if fault == "429":
                    self._send(429, {"code": 42910000, "message": "rate limit exceeded"})
                    return
                if fault == "403":
                    self._send(403, standin._load("error_403_order_failed.json"))
                    return
                if fault == "422":
                    self._send(422, standin._load("error_422_qty_or_notional_required.json"))
                    return
                client_id = payload["client_order_id"]
                with standin.lock:
                    if client_id in standin.orders:
                        self._send(422, {"code": 40010001, "message": "client_order_id must be unique"})
                        return
                    order = copy.deepcopy(standin.template)
                    order.update(
                        id=str(uuid.uuid4()),
                        client_order_id=client_id,
                        symbol=payload["symbol"],
                        qty=payload["qty"],
                        side=payload["side"],
                        type=payload["type"],
                        order_type=payload["type"],
                        time_in_force=payload["time_in_force"],
                        limit_price=payload.get("limit_price"),
                        status="accepted",
                        filled_qty="0",
                        filled_avg_price=None,
                    )
                    standin.orders[client_id] = order
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self._send(200, order)

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                url = urlparse(self.path)
                if url.path == "/v2/orders:by_client_order_id":
                    client_id = parse_qs(url.query)["client_order_id"][0]
                    with standin.lock:
                        order = standin.orders.get(client_id)
                    if order is None:
                        self._send(404, {"code": 40410000, "message": "order not found"})
                    else:
                        self._send(200, order)
                elif url.path == "/v2/orders":
                    self._send(200, list(standin.orders.values()))
                elif url.path == "/v2/account":
                    self._send(200, standin._load("account.json"))
                elif url.path == "/v2/positions":
                    self._send(200, standin._load("positions_list.json"))
                elif url.path == "/v2/clock":
                    self._send(200, standin._load("clock.json"))
                else:
                    self._send(404, {"code": 40410000, "message": "not found"})

            def do_DELETE(self) -> None:
                if not self._authorised():
                    return
                order_id = urlparse(self.path).path.rsplit("/", 1)[-1]
                with standin.lock:
                    order = next((o for o in standin.orders.values() if o["id"] == order_id), None)
                    if order is None:
                        self._send(404, {"code": 40410000, "message": "order not found"})
                        return
                    if order["status"] in ("filled", "canceled"):
                        self._send(422, {"code": 42210000, "message": "order is not cancelable"})
                        return
                    order["status"] = "canceled"
                standin.push_event("canceled", order)
                self._send(204, None)

        return Handler
