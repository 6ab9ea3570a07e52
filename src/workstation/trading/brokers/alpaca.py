"""Alpaca through alpaca-py's TradingClient (orders, positions, account, clock) + the trade stream.

alpaca-py sets no timeout and retries 429/504 on every method, POST /orders included. Here its
own retries are switched off and the session gets connect/read timeouts; a failure whose outcome is
unknown becomes BrokerUnavailableError, and the order manager then looks the order up by client
order id before anything is sent again. Idempotent reads (GET) are retried here on 429/5xx.

Answers that are definitive become their own errors: 401/403 ``BrokerAuthError`` (wrong or
unauthorised keys: nothing was accepted), 422 "client_order_id must be unique" ``OrderExistsError``
(the order exists: look it up), other 4xx ``BrokerRejectedError``. Error texts are redacted (an
error body may echo the keys it was sent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from requests.adapters import HTTPAdapter

from workstation.monitoring.redaction import register_secrets
from workstation.trading.bounds import check_alpaca_rules
from workstation.trading.brokers.alpaca_orders import order_request, replace_request, with_legs
from workstation.trading.brokers.alpaca_parse import (
    error_message,
    order_from_body,
    parse_decimal,
    report_from_order,
)
from workstation.trading.brokers.base import UpdateHandler
from workstation.trading.credentials import AlpacaCredentials
from workstation.trading.domain import (
    ZERO,
    Account,
    BrokerAuthError,
    BrokerOrder,
    BrokerRejectedError,
    BrokerUnavailableError,
    ExecutionReport,
    Order,
    OrderExistsError,
    OrderRequest,
    TradingError,
)
from workstation.trading.execution.timings import ExecutionTimings
from workstation.trading.positions import Position

log = logging.getLogger(__name__)

_RETRYABLE = (429, 500, 502, 503, 504)


class TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout unless the caller set one."""

    def __init__(self, timeout: tuple[float, float], **kwargs: Any) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _status(exc: APIError) -> int | None:
    try:
        return int(exc.status_code)
    except (TypeError, ValueError, AttributeError):
        return None


class AlpacaBroker:
    name = "alpaca"

    def __init__(
        self,
        credentials: AlpacaCredentials,
        *,
        timings: ExecutionTimings | None = None,
        timeout: tuple[float, float] | None = None,
        read_retries: int = 3,
        retry_wait_seconds: float | None = None,
    ) -> None:
        timings = timings or ExecutionTimings.from_env()
        self.timings = timings
        timeout = timeout or (timings.connect_timeout, timings.read_timeout)
        retry_wait_seconds = timings.retry_wait if retry_wait_seconds is None else retry_wait_seconds
        self.credentials = credentials
        # Keys that came from the keyring are not in the environment the redactor scans.
        register_secrets([credentials.key_id, credentials.secret_key])
        self.client = TradingClient(
            credentials.key_id,
            credentials.secret_key,
            paper=credentials.paper,
            raw_data=True,
            url_override=credentials.base_url,
        )
        # Never let the SDK resend a POST on its own: one intent, one order.
        self.client._retry = 0
        adapter = TimeoutAdapter(timeout)
        self.client._session.mount("http://", adapter)
        self.client._session.mount("https://", adapter)
        self.read_retries = read_retries
        self.retry_wait_seconds = retry_wait_seconds
        self._handler: UpdateHandler | None = None
        self._prices: dict[str, Decimal] = {}
        self._stream: Any = None

    # -- plumbing --
    def _call(self, what: str, fn: Callable[[], Any], *, idempotent: bool) -> Any:
        attempts = self.read_retries + 1 if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return fn()
            except APIError as exc:
                status = _status(exc)
                message = error_message(str(exc))
                if status in _RETRYABLE:
                    if attempt < attempts:
                        time.sleep(self.retry_wait_seconds * attempt)
                        continue
                    raise BrokerUnavailableError(f"Alpaca {what}: HTTP {status}: {message}") from None
                if status == 404:
                    raise _NotFound(message) from None
                if status in (401, 403):
                    raise BrokerAuthError(f"Alpaca {what}: HTTP {status}: {message} (check the API keys)") from None
                # 40010001 is Alpaca's code for any invalid request: only the message tells a duplicate id.
                if status == 422 and "client_order_id must be unique" in message:
                    raise OrderExistsError(f"Alpaca {what}: {message}") from None
                raise BrokerRejectedError(f"Alpaca {what}: HTTP {status}: {message}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt < attempts:
                    time.sleep(self.retry_wait_seconds * attempt)
                    continue
                raise BrokerUnavailableError(f"Alpaca {what}: {type(exc).__name__}") from None
        raise AssertionError("unreachable")

    # -- the broker interface --
    def set_update_handler(self, handler: UpdateHandler) -> None:
        self._handler = handler

    def check_request(self, request: OrderRequest) -> None:
        check_alpaca_rules(request)

    def submit(self, order: Order) -> ExecutionReport:
        request = order_request(order)
        body = self._call("submit order", lambda: self.client.submit_order(request), idempotent=False)
        return with_legs(order, body)

    def lookup(self, order: Order) -> ExecutionReport | None:
        """By client order id; a leg (whose client id at Alpaca is Alpaca's, not the book's) by its broker id."""
        broker_id = order.broker_order_id
        by_id = broker_id is not None and order.parent_order_id is not None
        try:
            if by_id:
                body = self._call("order lookup", lambda: self.client.get_order_by_id(str(broker_id)), idempotent=True)
            else:
                body = self._call(
                    "order lookup", lambda: self.client.get_order_by_client_id(order.order_id), idempotent=True
                )
        except _NotFound:
            return None
        return replace(report_from_order(body), order_id=order.order_id)

    def replace(self, old: Order, new: Order) -> ExecutionReport:
        """PATCH /v2/orders/{id}: Alpaca creates the new order (under ``new``'s client id) and ends the old."""
        broker_id = old.broker_order_id
        if broker_id is None:
            raise BrokerRejectedError(f"order {old.order_id} has no Alpaca id yet: reconcile first")
        request = replace_request(old, new)
        body = self._call(
            "replace order", lambda: self.client.replace_order_by_id(str(broker_id), request), idempotent=False
        )
        return replace(report_from_order(body), order_id=new.order_id)

    def close_position(self, symbol: str) -> BrokerOrder:
        """DELETE /v2/positions/{symbol}: Alpaca places the closing market order; returned for the book."""
        body = self._call("close position", lambda: self.client.close_position(symbol), idempotent=False)
        found = order_from_body(body)
        if found is None:
            raise BrokerRejectedError(f"Alpaca closed {symbol} with an order the book cannot hold: {body.get('id')}")
        return found

    def recent_orders(self, since: datetime | None) -> list[BrokerOrder]:
        """Orders submitted after ``since`` (any status), oldest first, up to 500; without ``since``
        the 500 most recent (a first reconciliation)."""
        from alpaca.common.enums import Sort
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        request = GetOrdersRequest(
            status=QueryOrderStatus.ALL,
            after=since,
            limit=500,
            direction=Sort.ASC if since is not None else Sort.DESC,
            nested=True,  # a bracket's legs come inside it
        )
        bodies = self._call("list orders", lambda: self.client.get_orders(request), idempotent=True)
        found = [order_from_body(body) for body in bodies]
        return [order for order in found if order is not None]

    def cancel(self, order: Order) -> ExecutionReport | None:
        broker_id = order.broker_order_id
        if broker_id is None:
            found = self.lookup(order)
            if found is None:
                return None
            broker_id = found.broker_order_id
        try:
            self._call("cancel order", lambda: self.client.cancel_order_by_id(str(broker_id)), idempotent=True)
        except _NotFound:
            pass
        except BrokerAuthError:
            raise
        except BrokerRejectedError as exc:  # 422: already filled/cancelled; the look-up tells which
            log.info("cancel of %s refused: %s", order.order_id, exc)
        return self.lookup(order)

    def account(self) -> Account:
        body = self._call("account", self.client.get_account, idempotent=True)
        return Account(
            broker=self.name,
            cash=parse_decimal(body.get("cash")) or ZERO,
            buying_power=parse_decimal(body.get("buying_power")) or ZERO,
            equity=parse_decimal(body.get("equity")) or ZERO,
            currency=str(body.get("currency") or "USD"),
            status=str(body.get("status") or ""),
            account_id=str(body.get("account_number") or body.get("id") or ""),
        )

    def positions(self) -> list[Position]:
        bodies = self._call("positions", self.client.get_all_positions, idempotent=True)
        result = []
        for body in bodies:
            quantity = parse_decimal(body.get("qty")) or ZERO
            if str(body.get("side", "long")) == "short" and quantity > 0:
                quantity = -quantity
            price = parse_decimal(body.get("current_price"))
            if price is not None:
                self._prices[str(body["symbol"])] = price
            result.append(
                Position(
                    symbol=str(body["symbol"]),
                    quantity=quantity,
                    average_price=parse_decimal(body.get("avg_entry_price")) or ZERO,
                    last_price=price,
                )
            )
        return result

    def market_clock(self) -> dict[str, Any]:
        body: dict[str, Any] = self._call("clock", self.client.get_clock, idempotent=True)
        return body

    def last_price(self, symbol: str) -> Decimal | None:
        return self._prices.get(symbol)

    # -- the trade_updates stream --
    def start_stream(self, on_connected: Callable[[], None] | None = None, **backoff: float) -> None:
        from workstation.trading.brokers.alpaca_stream import TradeUpdatesThread

        if self._stream is not None:
            return
        backoff.setdefault("min_backoff", self.timings.stream_backoff_min)
        backoff.setdefault("max_backoff", self.timings.stream_backoff_max)
        self._stream = TradeUpdatesThread(self.credentials, self._dispatch, on_connected=on_connected, **backoff)
        self._stream.start()

    def _dispatch(self, report: ExecutionReport) -> None:
        if self._handler is not None:
            self._handler(report)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        self.client._session.close()


class _NotFound(TradingError):
    """HTTP 404: the broker does not know the order."""
