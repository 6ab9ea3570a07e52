"""The in-memory order store of backtests: the same contract as the database store, no I/O.

A backtest is one process that owns its whole simulated account, so its "account lock" is a no-op,
its orders are updated in place and its position book is kept fill by fill. Writing every simulated
order row by row would make a 1,000-symbol backtest take minutes instead of seconds; a backtest
persists its summary afterwards. None of the database store's locking or reads enter this path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import TracebackType

from workstation.db.trading import FINAL_ORDER_STATUSES
from workstation.trading.domain import ZERO, Fill, Order, OrderRequest, TradingEventRecord
from workstation.trading.execution.transitions import Change
from workstation.trading.positions import PositionBook
from workstation.trading.risk import RiskLimits, RiskSnapshot

_FINAL = frozenset(FINAL_ORDER_STATUSES)


class MemoryOrderStore:
    """Orders, fills and events of one simulated account; also its own (trivial) account transaction."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        self._fills: dict[str, Fill] = {}
        self.events: list[TradingEventRecord] = []
        self.book = PositionBook()
        self.halted: str | None = None
        self._created: deque[datetime] = deque()
        self._pnl_day: date | None = None
        self._pnl_baseline = ZERO
        self.skipped: list[str] = []

    # -- the account transaction (no lock needed: one process owns the account) --
    def locked(self, account: str, *, durable: bool = True) -> MemoryOrderStore:
        return self

    def __enter__(self) -> MemoryOrderStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None

    def order(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def insert_order(self, order: Order, events: Sequence[TradingEventRecord]) -> None:
        self._orders[order.order_id] = order
        if order.status not in _FINAL:
            self._open[order.order_id] = order
        self._created.append(order.created_at)
        self.events.extend(events)

    def order_by_broker_id(self, broker_order_id: str) -> Order | None:
        for order in self._orders.values():
            if order.broker_order_id == broker_order_id:
                return order
        return None

    def legs(self, parent_order_id: str) -> list[Order]:
        return [o for o in self._orders.values() if o.parent_order_id == parent_order_id]

    def save(self, order: Order, change: Change) -> None:
        order.version += 1
        self._orders[order.order_id] = order
        for fill in change.fills:
            self._fills[fill.fill_id] = fill
            self.book.apply_fill(fill)
        if order.status in _FINAL:
            self._open.pop(order.order_id, None)
        else:
            self._open[order.order_id] = order
        self.events.extend(change.events)

    def record_events(self, events: Sequence[TradingEventRecord]) -> None:
        for event in events:
            # The halt follows the same events as in the database: a kill switch until a resume.
            if event.event_type == "kill_switch":
                self.halted = str((event.metadata or {}).get("reason", "kill switch"))
            elif event.event_type == "trading_resumed":
                self.halted = None
        self.events.extend(events)

    def risk_snapshot(
        self,
        account: str,
        request: OrderRequest,
        limits: RiskLimits,
        now: datetime,
        last_price: Callable[[str], Decimal | None],
    ) -> RiskSnapshot:
        symbol = request.symbol
        pending = ZERO
        for order in self._open.values():
            if order.symbol == symbol:
                pending += order.remaining if order.side == "buy" else -order.remaining
        gross = pnl = ZERO
        if limits.needs_marks:
            for position in self.book.open_positions():
                mark = last_price(position.symbol)
                if mark is not None:
                    position.last_price = mark
            gross = self.book.gross_exposure()
            total = self.book.realised_pnl - self.book.commission
            total += sum((p.unrealised_pnl for p in self.book.open_positions()), ZERO)
            # One process owns a simulated account, so its day starts at its first check of the day.
            if self._pnl_day != now.date():
                self._pnl_day, self._pnl_baseline = now.date(), total
            pnl = total - self._pnl_baseline
        recent = 0
        if limits.max_orders_per_window is not None:
            horizon = now - timedelta(seconds=limits.rate_window_seconds)
            while self._created and self._created[0] <= horizon:
                self._created.popleft()
            recent = len(self._created)
        needs_price = limits.max_order_notional is not None or limits.limit_collar is not None or limits.needs_marks
        return RiskSnapshot(
            position_quantity=self.book.quantity(symbol),
            open_order_quantity=pending,
            last_price=last_price(symbol) if needs_price else None,
            gross_exposure=gross,
            daily_pnl=pnl,
            now=now,
            orders_in_window=recent,
            halted=self.halted,
        )

    def position_book(self, account: str) -> PositionBook:
        return self.book

    # -- reads --
    def get_order(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def open_orders(self, broker: str | None = None) -> list[Order]:
        return [o for o in self._open.values() if broker is None or o.broker == broker]

    def orders(self, *, broker: str | None = None, open_only: bool = False, limit: int | None = None) -> list[Order]:
        source = self._open.values() if open_only else self._orders.values()
        found = [o for o in source if broker is None or o.broker == broker]
        return found[-limit:] if limit else found

    def fills(self, *, broker: str | None = None, order_id: str | None = None) -> list[Fill]:
        result = list(self._fills.values())
        if order_id is not None:
            result = [f for f in result if f.order_id == order_id]
        if broker is not None:
            result = [f for f in result if self._orders[f.order_id].broker == broker]
        return result

    def has_fill(self, fill_id: str) -> bool:
        return fill_id in self._fills
