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


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


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
            limit_price=_text(payload.get("limit_price")),
            stop_price=_text(payload.get("stop_price")),
            trail_price=_text(payload.get("trail_price")),
            trail_percent=_text(payload.get("trail_percent")),
            extended_hours=bool(payload.get("extended_hours", False)),
            order_class=payload.get("order_class", "simple"),
            replaces=payload.get("replaces"),
            status="accepted",
            filled_qty="0",
            filled_avg_price=None,
            created_at=now,
            submitted_at=payload.get("submitted_at", now),
            updated_at=now,
        )
        if order["type"] == "trailing_stop":
            # Alpaca sets a trailing stop's mark and stop from the price when it is placed (here: 100).
            mark = Decimal(100)
            trail = (
                Decimal(order["trail_price"]) if order["trail_price"] else mark * Decimal(order["trail_percent"]) / 100
            )
            order["hwm"] = str(mark)
            order["stop_price"] = str(mark - trail if order["side"] == "sell" else mark + trail)
        order["legs"] = self._legs(order, payload) or None
        with self.lock:
            self.reserved.add(order["client_order_id"])
            self.orders[order["client_order_id"]] = order
            for leg in order["legs"] or []:
                self.orders[leg["client_order_id"]] = leg
        return order

    def _legs(self, parent: dict[str, Any], payload: dict[str, Any]) -> list[dict[str, Any]]:
        """A bracket's/OTO's/OCO's legs, as Alpaca nests them: orders of their own (held until the entry fills)."""
        order_class = payload.get("order_class", "simple")
        if order_class == "simple":
            return []
        exit_side = parent["side"] if order_class == "oco" else ("sell" if parent["side"] == "buy" else "buy")
        specs = []
        if payload.get("take_profit") and order_class != "oco":
            specs.append(("limit", payload["take_profit"].get("limit_price"), None))
        if payload.get("stop_loss"):
            stop = payload["stop_loss"]
            specs.append(
                ("stop_limit" if stop.get("limit_price") else "stop", stop.get("limit_price"), stop["stop_price"])
            )
        legs = []
        for kind, limit, stop in specs:
            leg = copy.deepcopy(self.template)
            leg.update(
                id=str(uuid.uuid4()), client_order_id=str(uuid.uuid4()), symbol=parent["symbol"], qty=parent["qty"],
                side=exit_side, type=kind, order_type=kind, time_in_force=parent["time_in_force"],
                limit_price=_text(limit), stop_price=_text(stop), order_class=order_class, filled_qty="0",
                filled_avg_price=None, status="new" if order_class == "oco" else "held", legs=None,
                created_at=parent["created_at"], submitted_at=parent["submitted_at"], updated_at=parent["updated_at"],
            )  # fmt: skip
            legs.append(leg)
        return legs

    def by_id(self, broker_id: str) -> dict[str, Any] | None:
        with self.lock:
            return next((o for o in self.orders.values() if o["id"] == broker_id), None)

    def replace(self, broker_id: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """PATCH /v2/orders/{id}: a new order in the old one's place (new id), the old one ends replaced."""
        with self.lock:
            old = self.by_id(broker_id)
            if old is None:
                return 404, {"code": 40410000, "message": "order not found"}
            if old["status"] in FINAL:
                return 422, {"code": 42210000, "message": "order is not replaceable"}
            body = {
                "client_order_id": payload.get("client_order_id") or str(uuid.uuid4()),
                "symbol": old["symbol"], "qty": payload.get("qty", old["qty"]), "side": old["side"],
                "type": old["type"], "time_in_force": payload.get("time_in_force", old["time_in_force"]),
                "limit_price": payload.get("limit_price", old["limit_price"]),
                "stop_price": payload.get("stop_price", old["stop_price"]), "order_class": old["order_class"],
                "replaces": old["id"],
            }  # fmt: skip
            if body["client_order_id"] in self.reserved:
                return 422, {"code": 40010001, "message": "client_order_id must be unique"}
            new = self.book(body)
            new["legs"] = old.get("legs")
            old.update(status="replaced", replaced_by=new["id"], replaced_at=_now(), updated_at=_now())
            snapshot = copy.deepcopy(old)
        self.push_event("replaced", snapshot)
        return 200, new

    def close_position(self, symbol: str) -> tuple[int, dict[str, Any]]:
        """DELETE /v2/positions/{symbol}: a market order for the whole position, filled at once (at 100)."""
        held = self.positions().get(symbol)
        if held is None:
            return 404, {"code": 40410000, "message": "position not found"}
        body = {"client_order_id": str(uuid.uuid4()), "symbol": symbol, "qty": str(abs(held)),
                "side": "sell" if held > 0 else "buy", "type": "market", "time_in_force": "day"}  # fmt: skip
        order = self.book(body)
        order["order_class"] = ""  # as in the fixture of a closing order
        self.fill(order["client_order_id"], str(abs(held)), "100")
        return 200, copy.deepcopy(self.orders[order["client_order_id"]])

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
            ended = []
            if order["status"] == "filled":
                for leg in order.get("legs") or []:  # the entry filled: its legs work now
                    if leg["status"] == "held":
                        leg["status"] = "new"
                    elif order["order_class"] == "oco" and leg["status"] not in FINAL:
                        leg.update(status="canceled", updated_at=_now())
                        ended.append(copy.deepcopy(leg))
                parent = next((o for o in self.orders.values() if any(g is order for g in o.get("legs") or [])), None)
                if parent is not None:  # a leg filled: its siblings (an OCO's order too) are cancelled
                    others = [leg for leg in parent["legs"] if leg is not order]
                    others += [parent] if parent["order_class"] == "oco" else []
                    for other in others:
                        if other["status"] not in FINAL:
                            other.update(status="canceled", updated_at=_now())
                            ended.append(copy.deepcopy(other))
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
            for other in ended:
                self.push_event("canceled", other)
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
