"""Where the order manager keeps orders, fills and trading events: the contract and its two stores.

``SqlOrderStore`` (store_sql) is the durable store every live process shares: the database is the one
truth for order state, changed only inside ``locked(account)`` transactions. ``MemoryOrderStore``
(store_memory) keeps one backtest's simulated account in memory with the same contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from workstation.trading.domain import Fill, Order, OrderRequest, TradingEventRecord
from workstation.trading.execution.transitions import Change
from workstation.trading.positions import PositionBook
from workstation.trading.risk import RiskLimits, RiskSnapshot
from workstation.trading.rows import BadRowError, fill_from_row, order_from_row
from workstation.trading.store_memory import MemoryOrderStore
from workstation.trading.store_sql import LostRaceError, SqlOrderStore

__all__ = [
    "AccountTx",
    "BadRowError",
    "LostRaceError",
    "MemoryOrderStore",
    "OrderStore",
    "SqlOrderStore",
    "fill_from_row",
    "last_fill_time",
    "order_from_row",
]


class AccountTx(Protocol):
    """One transaction holding an account's lock: reads that decide, and the writes they decide."""

    def order(self, order_id: str) -> Order | None:
        """The order, locked until the transaction ends."""

    def insert_order(self, order: Order, events: Sequence[TradingEventRecord]) -> None: ...

    def order_by_broker_id(self, broker_order_id: str) -> Order | None:
        """The account's order the broker knows by this id (a leg: its client id is the broker's)."""

    def legs(self, parent_order_id: str) -> list[Order]:
        """The legs an order carries."""

    def save(self, order: Order, change: Change) -> None:
        """Write the order conditionally on the version it was read at (LostRaceError otherwise)."""

    def record_events(self, events: Sequence[TradingEventRecord]) -> None: ...

    def risk_snapshot(
        self,
        account: str,
        request: OrderRequest,
        limits: RiskLimits,
        now: datetime,
        last_price: Callable[[str], Decimal | None],
    ) -> RiskSnapshot: ...

    def position_book(self, account: str) -> PositionBook: ...


class OrderStore(Protocol):
    skipped: list[str]

    def locked(self, account: str, *, durable: bool = True) -> AbstractContextManager[AccountTx]: ...

    def record_events(self, events: Sequence[TradingEventRecord]) -> None: ...

    def get_order(self, order_id: str) -> Order | None: ...

    def open_orders(self, broker: str | None = None) -> list[Order]: ...

    def orders(
        self, *, broker: str | None = None, open_only: bool = False, limit: int | None = None
    ) -> list[Order]: ...

    def fills(self, *, broker: str | None = None, order_id: str | None = None) -> list[Fill]: ...

    def has_fill(self, fill_id: str) -> bool: ...

    def legs(self, parent_order_id: str) -> list[Order]: ...

    def position_book(self, account: str) -> PositionBook: ...


def last_fill_time(fills: Iterable[Fill]) -> datetime | None:
    times = [f.timestamp for f in fills]
    return max(times) if times else None
