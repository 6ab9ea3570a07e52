"""The embedded paper broker: simulated fills against bars, no network.

Backtest mode: a market order placed on a bar's close fills at the next bar's open. Live/replay
mode: a market order fills at once at the last price plus slippage. Limit orders fill when a bar
trades through the limit (at the open when it gaps through). When ``max_volume_share`` is set, an
order fills at most that share of each bar's volume and the rest waits for the following bars.

State: a backtest keeps cash, positions and working orders in memory (one process owns the whole
simulated account). The persisted paper account gives a ``ledger`` instead: before every decision
the broker re-reads cash, the symbol's position and the working orders from the database, inside
the account lock the order manager holds around every call to a local broker — so two processes
selling the same 416 shares, or spending the same cash, cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from workstation.trading.bounds import check_alpaca_rules
from workstation.trading.brokers.base import UpdateHandler
from workstation.trading.domain import (
    ZERO,
    Account,
    BrokerOrder,
    ExecutionReport,
    Fill,
    Order,
    OrderRequest,
    to_price,
    to_quantity,
    utcnow,
)
from workstation.trading.execution.fills import fill_id_for
from workstation.trading.positions import Position, PositionBook

_NEW_YORK = ZoneInfo("America/New_York")
_BPS = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class CommissionModel:
    """commission = max(minimum, per_share × qty + rate × traded value), per fill."""

    per_share: Decimal = ZERO
    rate: Decimal = ZERO
    minimum: Decimal = ZERO

    def __call__(self, quantity: Decimal, price: Decimal) -> Decimal:
        raw = self.per_share * quantity + self.rate * quantity * price
        return to_price(max(raw, self.minimum) if raw > 0 or self.minimum > 0 else ZERO)


@dataclass(frozen=True, slots=True)
class PaperConfig:
    mode: Literal["backtest", "live"] = "live"
    slippage_bps: Decimal = ZERO
    max_volume_share: Decimal | None = None
    commission: CommissionModel = field(default_factory=CommissionModel)
    allow_short: bool = False


@dataclass(frozen=True, slots=True)
class Bar:
    timestamp: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(slots=True)
class _Working:
    order: Order
    session: date | None = None


PriceLookup = Callable[[str], Bar | None]


class PaperLedger(Protocol):
    """The persisted paper account's state, read on the connection that holds the account lock."""

    def state(self, symbol: str | None) -> tuple[Decimal, Decimal]:
        """(cash, position in ``symbol``)."""

    def book(self) -> PositionBook: ...

    def working(self) -> list[Order]:
        """Open orders the paper broker has accepted (not the pending ones it has not seen yet)."""

    def order(self, order_id: str) -> Order | None: ...


class PaperBroker:
    name = "paper"
    # A local broker: the order manager calls it inside the account lock (see the module docstring).
    local = True

    def __init__(
        self,
        cash: Decimal,
        config: PaperConfig | None = None,
        *,
        price_lookup: PriceLookup | None = None,
        clock: Callable[[], datetime] = utcnow,
        ledger: PaperLedger | None = None,
    ) -> None:
        self.config = config or PaperConfig()
        self.cash = cash
        self.book = PositionBook()
        self.working: dict[str, _Working] = {}
        self.last_bars: dict[str, Bar] = {}
        self._price_lookup = price_lookup
        self._handler: UpdateHandler | None = None
        self.clock = clock
        self._known: dict[str, ExecutionReport] = {}
        self.ledger = ledger

    def _sync(self, symbol: str | None = None, *, full_book: bool = False) -> None:
        """Persisted account: replace the in-memory view by the database's (no-op in a backtest)."""
        ledger = self.ledger
        if ledger is None:
            return
        self.cash, position = ledger.state(symbol)
        if full_book:
            self.book = ledger.book()
        else:
            self.book = PositionBook()
            if symbol is not None:
                self.book.get(symbol).quantity = position
        self.working = {}
        for order in ledger.working():
            since = order.submitted_at or order.created_at
            self.working[order.order_id] = _Working(_copy(order), since.astimezone(_NEW_YORK).date())

    def set_update_handler(self, handler: UpdateHandler) -> None:
        self._handler = handler

    def bar(self, symbol: str) -> Bar | None:
        found = self.last_bars.get(symbol)
        if found is None and self._price_lookup is not None:
            found = self._price_lookup(symbol)
            if found is not None:
                self.last_bars[symbol] = found
        return found

    def last_price(self, symbol: str) -> Decimal | None:
        found = self.bar(symbol)
        return found.close if found is not None else None

    # -- the broker interface --
    def check_request(self, request: OrderRequest) -> None:
        """The paper account simulates Alpaca: its tick and fractional rules apply (not in backtests)."""
        if self.config.mode == "live":
            check_alpaca_rules(request)

    def recent_orders(self, since: datetime | None) -> list[BrokerOrder]:
        """Nothing to adopt: the paper broker's orders are the book's own rows."""
        return []

    def submit(self, order: Order) -> ExecutionReport:
        self._sync(order.symbol)
        bar = self.bar(order.symbol)
        if bar is None:
            return self._report(order, "rejected", reason=f"unknown symbol {order.symbol}: no market data")
        reason = self._affordability(order, bar.close)
        if reason is not None:
            return self._report(order, "rejected", reason=reason)
        working = _Working(_copy(order))
        working.order.status = "accepted"
        working.order.broker_order_id = f"paper-{order.order_id}"
        self.working[order.order_id] = working
        if self.config.mode == "live":
            fill_report = self._try_fill(working, bar, immediate=True)
            if fill_report is not None:
                return fill_report
        return self._report(working.order, "accepted")

    def cancel(self, order: Order) -> ExecutionReport | None:
        self._sync(order.symbol)
        working = self.working.pop(order.order_id, None)
        if working is None:
            return self.lookup(order)
        return self._report(working.order, "cancelled", reason="cancelled by request")

    def lookup(self, order: Order) -> ExecutionReport | None:
        if self.ledger is not None:
            # The book is the paper broker's state: a pending row never reached it (the send and its
            # answer commit together), any other row is what it knows.
            stored = self.ledger.order(order.order_id)
            if stored is None or stored.status == "pending":
                return None
            return self._report(stored, stored.status, reason=stored.status_reason)
        working = self.working.get(order.order_id)
        if working is not None:
            return self._report(working.order, working.order.status)
        return self._known.get(order.order_id)

    def account(self) -> Account:
        self._sync(full_book=True)
        equity = self.cash + sum((p.market_value for p in self.book.open_positions()), ZERO)
        return Account(broker=self.name, cash=self.cash, buying_power=self._buying_power(), equity=equity)

    def positions(self) -> list[Position]:
        self._sync(full_book=True)
        for position in self.book.open_positions():
            price = self.last_price(position.symbol)
            if price is not None:
                position.last_price = price
        return self.book.open_positions()

    def close(self) -> None:
        self.working.clear()

    # -- bars drive the simulation --
    def has_working(self, symbol: str) -> bool:
        # A plain loop, not any(<generator>): called on every backtest event, usually over zero or
        # one working order, where building the generator costs more than the search.
        for working in self.working.values():  # noqa: SIM110
            if working.order.symbol == symbol:
                return True
        return False

    def on_bar(self, symbol: str, bar: Bar) -> None:
        """A new bar for ``symbol``: working orders may fill on it; then it becomes the last price."""
        self._sync(symbol)
        self.last_bars[symbol] = bar
        for working in [w for w in self.working.values() if w.order.symbol == symbol]:
            report = self._try_fill(working, bar, immediate=False)
            if report is not None and self._handler is not None:
                self._handler(report)
        position = self.book.positions.get(symbol)
        if position is not None:
            position.last_price = bar.close

    # -- internals --
    def _try_fill(self, working: _Working, bar: Bar, *, immediate: bool) -> ExecutionReport | None:
        order = working.order
        session = bar.timestamp.astimezone(_NEW_YORK).date()
        if not immediate and order.time_in_force == "day":
            if working.session is None:
                working.session = session
            elif session > working.session:
                del self.working[order.order_id]
                return self._report(order, "expired", reason="day order expired unfilled at the session end")
        price = self._fill_price(order, bar, immediate=immediate)
        if price is None:
            return None
        quantity = order.remaining
        if self.config.max_volume_share is not None:
            allowed = to_quantity((bar.volume * self.config.max_volume_share).to_integral_value(rounding="ROUND_FLOOR"))
            quantity = min(quantity, allowed)
            if quantity <= 0:
                return None
        commission = self.config.commission(quantity, price)
        if order.side == "buy" and quantity * price + commission > self.cash:
            del self.working[order.order_id]
            status = "cancelled" if order.filled_quantity > 0 else "rejected"
            return self._report(order, status, reason=f"insufficient buying power at fill: cash {self.cash:.2f}")
        cumulative = order.filled_quantity + quantity
        when = bar.timestamp if not immediate else max(self.clock(), bar.timestamp)
        fill = Fill(
            fill_id=fill_id_for(order, f"paper-{order.order_id}", cumulative),
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            commission=commission,
            timestamp=when,
            cumulative_quantity=cumulative,
        )
        self._book_fill(fill)
        previous_value = (order.average_fill_price or ZERO) * order.filled_quantity
        order.average_fill_price = to_price((previous_value + price * quantity) / cumulative)
        order.filled_quantity = cumulative
        if order.remaining <= 0:
            order.status = "filled"
            del self.working[order.order_id]
        else:
            order.status = "partially_filled"
        return self._report(order, order.status, fills=(fill,), timestamp=when)

    def _fill_price(self, order: Order, bar: Bar, *, immediate: bool) -> Decimal | None:
        reference = bar.close if immediate else bar.open
        if order.order_type == "market":
            slip = self.config.slippage_bps * _BPS
            factor = (1 + slip) if order.side == "buy" else (1 - slip)
            return to_price(reference * factor) if slip else reference
        limit = order.limit_price
        assert limit is not None
        if immediate:
            if order.side == "buy":
                return min(reference, limit) if reference <= limit else None
            return max(reference, limit) if reference >= limit else None
        if order.side == "buy":
            return min(bar.open, limit) if bar.low <= limit else None
        return max(bar.open, limit) if bar.high >= limit else None

    def _book_fill(self, fill: Fill) -> None:
        self.book.apply_fill(fill)
        value = fill.quantity * fill.price
        self.cash += (-value if fill.side == "buy" else value) - fill.commission

    def _reserved(self) -> Decimal:
        reserved = ZERO
        for working in self.working.values():
            order = working.order
            if order.side == "buy":
                price = order.limit_price or self.last_price(order.symbol) or ZERO
                reserved += order.remaining * price
        return reserved

    def _buying_power(self) -> Decimal:
        return self.cash - self._reserved()

    def _affordability(self, order: Order, last: Decimal) -> str | None:
        if order.side == "buy":
            price = order.limit_price if order.limit_price is not None else last
            slip = self.config.slippage_bps * _BPS
            cost = order.quantity * price * (1 + slip) + self.config.commission(order.quantity, price)
            available = self._buying_power()
            if cost > available:
                return f"insufficient buying power: the order needs {cost:.2f}, {available:.2f} available"
            return None
        if self.config.allow_short:
            return None
        held = self.book.quantity(order.symbol)
        selling = sum(
            (
                w.order.remaining
                for w in self.working.values()
                if w.order.symbol == order.symbol and w.order.side == "sell"
            ),
            ZERO,
        )
        if order.quantity > held - selling:
            return f"insufficient position: selling {order.quantity} {order.symbol} but {held - selling} available"
        return None

    def _report(
        self,
        order: Order,
        status: str,
        *,
        reason: str | None = None,
        fills: tuple[Fill, ...] = (),
        timestamp: datetime | None = None,
    ) -> ExecutionReport:
        report = ExecutionReport(
            order_id=order.order_id,
            status=status,
            broker_order_id=f"paper-{order.order_id}",
            cumulative_quantity=order.filled_quantity,
            average_price=order.average_fill_price,
            fills=fills,
            reason=reason,
            timestamp=timestamp,
        )
        if status in ("filled", "cancelled", "rejected", "expired"):
            self._known[order.order_id] = report
        return report


def _copy(order: Order) -> Order:
    return Order(
        order_id=order.order_id,
        symbol=order.symbol,
        side=order.side,
        quantity=order.quantity,
        order_type=order.order_type,
        limit_price=order.limit_price,
        time_in_force=order.time_in_force,
        broker=order.broker,
        status=order.status,
        filled_quantity=order.filled_quantity,
        average_fill_price=order.average_fill_price,
        broker_order_id=order.broker_order_id,
        submitted_at=order.submitted_at,
        created_at=order.created_at,
    )
