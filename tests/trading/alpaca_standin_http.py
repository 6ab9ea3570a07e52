"""The stand-in's HTTP side: Alpaca's REST routes (orders, look-ups, listings, cancels, account,
positions, clock) with the scripted faults of ``alpaca_standin``. Imported by name."""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

if TYPE_CHECKING:
    from alpaca_standin import AlpacaStandIn

FINAL = ("filled", "canceled", "rejected", "expired", "replaced")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def handler_class(standin: AlpacaStandIn) -> type[BaseHTTPRequestHandler]:

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)

        def _hang(self) -> None:
            standin._stopping.wait(standin.hang_seconds)
            self._drop()

        def _authorised(self) -> bool:
            key, secret = self.headers.get("APCA-API-KEY-ID"), self.headers.get("APCA-API-SECRET-KEY")
            wanted = (standin.key_id, standin.secret_key)
            if key and secret and (wanted == (None, None) or wanted == (key, secret)):
                return True
            self._send(401, standin._load("error_401_not_authorized.json"))
            return False

        def _common_fault(self, fault: str | None) -> bool:
            """Answer a fault shared by every endpoint; True when the request is done."""
            if fault in ("429", "500", "503"):
                self._send(int(fault), {"code": int(fault) * 100000, "message": f"stand-in fault {fault}"})
                return True
            if fault == "401":
                self._send(401, standin._load("error_401_not_authorized.json"))
                return True
            if fault == "drop_before":
                self._drop()
                return True
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            if not self._authorised():
                return
            with standin.lock:
                standin.post_attempts += 1
            fault = standin._fault("post")
            if self._common_fault(fault):
                return
            if fault == "403":
                self._send(403, standin._load("error_403_order_failed.json"))
                return
            if fault == "echo_secret":
                key = self.headers.get("APCA-API-KEY-ID")
                secret = self.headers.get("APCA-API-SECRET-KEY")
                message = f"forbidden for key {key} with secret {secret}"
                self._send(403, {"code": 40310000, "message": message})
                return
            if fault == "422":
                self._send(422, standin._load("error_422_qty_or_notional_required.json"))
                return
            client_id = payload["client_order_id"]
            with standin.lock:
                if client_id in standin.reserved:
                    self._send(422, {"code": 40010001, "message": "client_order_id must be unique"})
                    return
                standin.reserved.add(client_id)
            payload["submitted_at"] = _now()
            if fault == "late":
                standin._book_later(payload, standin.late_seconds)
                self._hang()
                return
            order = standin.book(payload)
            if fault == "drop":
                self._drop()
                return
            if fault == "hang":
                self._hang()
                return
            self._send(200, order)

        def do_GET(self) -> None:
            if not self._authorised():
                return
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path in ("/v2/orders:by_client_order_id", "/v2/orders") and self._common_fault(
                fault := standin._fault("get")
            ):
                return
            if url.path in ("/v2/orders:by_client_order_id", "/v2/orders") and fault == "hang":
                self._hang()
                return
            if url.path == "/v2/orders:by_client_order_id":
                client_id = query["client_order_id"][0]
                with standin.lock:
                    order = copy.deepcopy(standin.orders.get(client_id))
                if order is None:
                    self._send(404, {"code": 40410000, "message": "order not found"})
                else:
                    self._send(200, order)
            elif url.path == "/v2/orders":
                self._send(200, self._listing(query))
            elif url.path.startswith("/v2/orders/"):
                with standin.lock:
                    found = copy.deepcopy(standin.by_id(url.path.rsplit("/", 1)[-1]))
                self._send(404, {"code": 40410000, "message": "order not found"}) if found is None else self._send(
                    200, found
                )
            elif url.path == "/v2/account":
                self._send(200, standin._load("account.json"))
            elif url.path == "/v2/positions":
                self._send(200, self._positions())
            elif url.path == "/v2/clock":
                self._send(200, standin._load("clock.json"))
            else:
                self._send(404, {"code": 40410000, "message": "not found"})

        def _listing(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
            status = query.get("status", ["open"])[0]
            after = query.get("after", [None])[0]
            limit = int(query.get("limit", ["50"])[0])
            with standin.lock:
                orders = [copy.deepcopy(o) for o in standin.orders.values()]
            # Legs come nested in their order (nested=true), not on their own.
            leg_ids = {leg["id"] for o in orders for leg in (o.get("legs") or [])}
            orders = [o for o in orders if o["id"] not in leg_ids]
            if status == "open":
                orders = [o for o in orders if o["status"] not in FINAL]
            elif status == "closed":
                orders = [o for o in orders if o["status"] in FINAL]
            if after:
                cutoff = datetime.fromisoformat(after.replace("Z", "+00:00"))
                if cutoff.tzinfo is None:
                    cutoff = cutoff.replace(tzinfo=UTC)
                orders = [
                    o for o in orders if datetime.fromisoformat(o["submitted_at"].replace("Z", "+00:00")) > cutoff
                ]
            orders.sort(key=lambda o: o["submitted_at"], reverse=query.get("direction", ["desc"])[0] == "desc")
            return orders[:limit]

        def _positions(self) -> list[dict[str, Any]]:
            if not standin.dynamic_positions:
                return standin._load("positions_list.json")  # type: ignore[no-any-return]
            template = standin._load("positions_list.json")[0]
            bodies = []
            for symbol, qty in sorted(standin.positions().items()):
                body = copy.deepcopy(template)
                body.update(symbol=symbol, qty=str(abs(qty)), side="long" if qty > 0 else "short")
                bodies.append(body)
            return bodies

        def do_PATCH(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            if not self._authorised():
                return
            status, body = standin.replace(urlparse(self.path).path.rsplit("/", 1)[-1], payload)
            self._send(status, body)

        def do_DELETE(self) -> None:
            if not self._authorised():
                return
            if self._common_fault(standin._fault("get")):
                return
            path = urlparse(self.path).path
            if path.startswith("/v2/positions/"):
                status, body = standin.close_position(path.rsplit("/", 1)[-1])
                self._send(status, body)
                return
            order_id = path.rsplit("/", 1)[-1]
            with standin.lock:
                order = next((o for o in standin.orders.values() if o["id"] == order_id), None)
                if order is None:
                    self._send(404, {"code": 40410000, "message": "order not found"})
                    return
                if order["status"] in FINAL:
                    self._send(422, {"code": 42210000, "message": "order is not cancelable"})
                    return
                client_id = order["client_order_id"]
            standin.cancel(client_id)
            self._send(204, None)

    return Handler
