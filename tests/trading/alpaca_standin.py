"""A local stand-in for Alpaca's Trading API: HTTP (http.server) + trade_updates websocket (websockets).

Bodies are the fixtures in ../shared/alpaca-fixtures with the fields of the order at hand filled in.
Everything listens on 127.0.0.1 only. Fault modes, scripted per request (``faults`` for POST
/v2/orders, ``get_faults`` for look-ups) or drawn by a callable (``fault_plan``, the chaos harness):

* ``429``, ``500``, ``503``: answered with that status, nothing created;
* ``401``, ``403``, ``422``: refusals (``echo_secret``: a 403 whose body echoes the API keys);
* ``drop_before``: the connection is closed before the order is created;
* ``drop``: the order is created, then the connection is closed without an answer;
* ``hang``: the order is created and the answer withheld for ``hang_seconds`` (past the client's timeout);
* ``late``: the order's id is taken at once (a resend is refused as "client_order_id must be unique")
  but the order is booked — visible to look-ups and listings — only ``late_seconds`` later (None: when
  the test calls ``release_bookings()``), while the answer is withheld (the client times out);
* stream: ``fill(…, duplicate=True)`` sends a message twice, ``hold=True`` keeps it for
  ``release_held()`` (out of order), ``push=False`` never sends it; ``drop_stream_clients()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

FINAL = ("filled", "canceled", "rejected", "expired", "replaced")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that give up (timeouts, kill -9) reset their connections: expected, not news."""


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class AlpacaStandIn:
    def __init__(self, fixtures: Path, *, key_id: str | None = None, secret_key: str | None = None) -> None:
        self.fixtures = fixtures
        self.template = self._load("order_market_accepted.json")
        self.trade_update = self._load("ws_trade_updates_fill.json")
        control = self._load("ws_trading_control_messages.json")
        self.authorized, self.listening = control[1], control[0]
        self.key_id, self.secret_key = key_id, secret_key
        self.orders: dict[str, dict[str, Any]] = {}  # visible orders by client order id
        self.reserved: set[str] = set()  # client ids received (incl. those not booked yet)
        self.executions: list[dict[str, Any]] = []  # every fill: order id, symbol, side, qty, price, id
        self.faults: list[str] = []
        self.get_faults: list[str] = []
        self.fault_plan: Callable[[str], str | None] | None = None  # ("post" | "get") -> fault
        self.hang_seconds = 15.0
        self.late_seconds: float | None = 10.3
        self.pending_bookings: list[dict[str, Any]] = []
        self.booking_later = 0  # late bookings still to happen
        self.dynamic_positions = False
        self.post_attempts = 0
        self.lock = threading.RLock()
        self.http = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.http.daemon_threads = True
        self.loop = asyncio.new_event_loop()
        self.clients: set[ServerConnection] = set()
        self.held: list[str] = []
        self.ws_port = 0
        self.auth_count = 0
        self._ready = threading.Event()
        self._stopping = threading.Event()

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
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        threading.Thread(target=self._run_ws, daemon=True).start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._stopping.set()
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
    def book(self, payload: dict[str, Any], *, client_id: str | None = None) -> dict[str, Any]:
        """Create (book) an order from a POST payload; it becomes visible at once."""
        order = copy.deepcopy(self.template)
        now = _now()
        order.update(
            id=str(uuid.uuid4()),
            client_order_id=client_id or payload["client_order_id"],
            symbol=payload["symbol"],
            qty=str(payload["qty"]),
            side=payload["side"],
            type=payload.get("type", "market"),
            order_type=payload.get("type", "market"),
            time_in_force=payload.get("time_in_force", "day"),
            limit_price=payload.get("limit_price"),
            status="accepted",
            filled_qty="0",
            filled_avg_price=None,
            created_at=now,
            submitted_at=payload.get("submitted_at", now),
            updated_at=now,
        )
        with self.lock:
            self.reserved.add(order["client_order_id"])
            self.orders[order["client_order_id"]] = order
        return order

    def add_foreign_order(self, client_id: str, symbol: str, side: str, qty: str) -> dict[str, Any]:
        """An order the broker holds that the book never recorded (placed from a lost database)."""
        return self.book({"symbol": symbol, "qty": qty, "side": side, "type": "market"}, client_id=client_id)

    def push_event(
        self,
        event: str,
        order: dict[str, Any],
        qty: Decimal | None = None,
        price: Decimal | None = None,
        *,
        execution_id: str | None = None,
        duplicate: bool = False,
        hold: bool = False,
    ) -> None:
        message = copy.deepcopy(self.trade_update)
        message["data"]["event"] = event
        message["data"]["execution_id"] = execution_id or str(uuid.uuid4())
        message["data"]["order"] = copy.deepcopy(order)
        message["data"]["qty"] = str(qty) if qty is not None else None
        message["data"]["price"] = str(price) if price is not None else None
        message["data"]["timestamp"] = _now()
        text = json.dumps(message)
        if hold:
            self.held.append(text)
            return
        self._send_all([text, text] if duplicate else [text])

    def release_held(self) -> None:
        held, self.held = self.held, []
        self._send_all(list(reversed(held)))

    def _send_all(self, texts: list[str]) -> None:
        if self._stopping.is_set():
            return

        async def send_all() -> None:
            for client in list(self.clients):
                for text in texts:
                    with contextlib.suppress(Exception):
                        await client.send(text)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(send_all(), self.loop).result(5)

    def fill(
        self,
        client_order_id: str,
        qty: str,
        price: str,
        *,
        push: bool = True,
        duplicate: bool = False,
        hold: bool = False,
    ) -> dict[str, Any] | None:
        """Execute ``qty`` at ``price`` (capped at what remains); returns the execution or None."""
        with self.lock:
            order = self.orders[client_order_id]
            if order["status"] in FINAL:
                return None
            remaining = Decimal(str(order["qty"])) - Decimal(order["filled_qty"])
            quantity = min(Decimal(qty), remaining)
            if quantity <= 0:
                return None
            done = Decimal(order["filled_qty"]) + quantity
            previous = Decimal(order["filled_avg_price"] or 0) * Decimal(order["filled_qty"])
            order["filled_avg_price"] = str((previous + quantity * Decimal(price)) / done)
            order["filled_qty"] = str(done)
            order["status"] = "filled" if done >= Decimal(str(order["qty"])) else "partially_filled"
            order["updated_at"] = _now()
            execution = {
                "id": str(uuid.uuid4()),
                "client_order_id": client_order_id,
                "symbol": order["symbol"],
                "side": order["side"],
                "qty": quantity,
                "price": Decimal(price),
            }
            self.executions.append(execution)
            snapshot = copy.deepcopy(order)
        if push:
            event = "fill" if snapshot["status"] == "filled" else "partial_fill"
            self.push_event(
                event,
                snapshot,
                quantity,
                Decimal(price),
                execution_id=execution["id"],
                duplicate=duplicate,
                hold=hold,
            )
        return execution

    def cancel(self, client_order_id: str, *, push: bool = True) -> bool:
        with self.lock:
            order = self.orders.get(client_order_id)
            if order is None or order["status"] in FINAL:
                return False
            order["status"] = "canceled"
            order["updated_at"] = _now()
            snapshot = copy.deepcopy(order)
        if push:
            self.push_event("canceled", snapshot)
        return True

    def positions(self) -> dict[str, Decimal]:
        """Net filled quantity per symbol."""
        held: dict[str, Decimal] = {}
        with self.lock:
            for execution in self.executions:
                signed = execution["qty"] if execution["side"] == "buy" else -execution["qty"]
                held[execution["symbol"]] = held.get(execution["symbol"], Decimal(0)) + signed
        return {symbol: qty for symbol, qty in held.items() if qty != 0}

    def drop_stream_clients(self) -> None:
        async def close_all() -> None:
            for client in list(self.clients):
                await client.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(5)

    def _fault(self, kind: str) -> str | None:
        with self.lock:
            scripted = self.faults if kind == "post" else self.get_faults
            if scripted:
                return scripted.pop(0)
        return self.fault_plan(kind) if self.fault_plan is not None else None

    def release_bookings(self) -> None:
        """Book the late orders held for the test to release."""
        with self.lock:
            pending, self.pending_bookings = self.pending_bookings, []
        for payload in pending:
            self.book(payload)

    def _book_later(self, payload: dict[str, Any], delay: float | None) -> None:
        if delay is None:
            with self.lock:
                self.pending_bookings.append(payload)
            return

        with self.lock:
            self.booking_later += 1

        def book() -> None:
            try:
                if not self._stopping.wait(delay):
                    self.book(payload)
            finally:
                with self.lock:
                    self.booking_later -= 1

        threading.Thread(target=book, daemon=True).start()

    # ---------------------------------------------------------------- HTTP
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        from alpaca_standin_http import handler_class

        return handler_class(self)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
