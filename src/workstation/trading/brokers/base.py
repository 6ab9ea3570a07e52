"""The one interface every broker adapter implements.

Brokers know nothing of strategies. They take orders that already carry their client order id,
report what happened as ``ExecutionReport``s (from the call itself, or later through the update
handler for fills that arrive on a stream or a new bar), and can be asked about any order by its
client order id — the basis of reconciliation.

A broker whose state lives in this database (the paper broker) sets ``local = True``: the order
manager then calls it inside the account lock. A broker may offer ``check_request(request)`` to
refuse, before anything is written, what it would never accept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from workstation.trading.domain import Account, BrokerOrder, ExecutionReport, Order
from workstation.trading.positions import Position

UpdateHandler = Callable[[ExecutionReport], None]


class Broker(Protocol):
    name: str

    def set_update_handler(self, handler: UpdateHandler) -> None:
        """Where asynchronous reports (stream events, fills on later bars) go."""

    def submit(self, order: Order) -> ExecutionReport:
        """Send the order. Raises BrokerRejectedError (definitive refusal) or BrokerUnavailableError
        (outcome unknown: the caller must look the order up before trying again)."""

    def cancel(self, order: Order) -> ExecutionReport | None:
        """Ask the broker to cancel; returns the resulting report when known at once."""

    def lookup(self, order: Order) -> ExecutionReport | None:
        """The broker's current view of the order, found by client order id; None if it is not there
        (yet: a broker may show an order some time after receiving it)."""

    def recent_orders(self, since: datetime | None) -> list[BrokerOrder]:
        """Open orders and orders submitted since ``since`` (reconciliation adopts ours it lacks)."""

    def account(self) -> Account: ...

    def positions(self) -> list[Position]: ...

    def last_price(self, symbol: str) -> Decimal | None: ...

    def close(self) -> None: ...
