"""The embedded paper broker: simulated fills against bars, no network.

Backtest mode: a market order placed on a bar's close fills at the next bar's open. Live/replay
mode: a market order fills at once at the last price plus slippage. How each order type trades on a
bar is in ``paper_rules`` (limit, stop, stop-limit, trailing stop). When ``max_volume_share`` is set,
an order fills at most that share of each bar's volume and the rest waits for the following bars.

Time in force on bars: day orders expire when a bar of a later session arrives; gtc orders work
until filled or cancelled; ioc/fok orders get one chance (at once when placed live, else their first
bar): ioc keeps what fills and cancels the rest, fok fills completely or is cancelled; opg orders
trade only at the open of the first bar of a later session, cls orders only at the close of a bar
that ends a session (a daily bar, or one stamped 15:59 New York or later); an auction order whose
limit is not met there expires.

Legs (bracket, OTO, OCO): a bracket's or OTO's legs work from the bar after the entry fills; an OCO's
two orders work at once. A fill of one cancels the others of its group; when one bar reaches both a
take-profit and a stop-loss, the stop-loss is taken to have traded first (the worse outcome), and the
take-profit is cancelled. An entry that ends unfilled (cancelled, expired, rejected) takes its legs
with it; cancelling either order of an OCO cancels both.

State: a backtest keeps cash, positions and working orders in memory (one process owns the whole
simulated account). The persisted paper account gives a ``ledger`` instead: before every decision
the broker re-reads cash, the symbol's position and the working orders from the database, inside
the account lock the order manager holds around every call to a local broker — so two processes
selling the same 416 shares, or spending the same cash, cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from workstation.trading.bounds import check_alpaca_rules
from workstation.trading.brokers.base import UpdateHandler
from workstation.trading.brokers.paper_sim import _AUCTIONS, _STOPS, PaperSimulation, copy_order, merged
from workstation.trading.brokers.paper_types import (
    BPS,
    NEW_YORK,
    Bar,
    CommissionModel,
    PaperConfig,
    PaperLedger,
    PriceLookup,
    Working,
)
from workstation.trading.domain import (
    ZERO,
    Account,
    BrokerOrder,
    ExecutionReport,
    Order,
    OrderRequest,
    utcnow,
)
from workstation.trading.orderrules import check_against_price
from workstation.trading.positions import Position, PositionBook

__all__ = ["Bar", "CommissionModel", "PaperBroker", "PaperConfig", "PaperLedger", "PriceLookup"]


class PaperBroker(PaperSimulation):
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
        self.working: dict[str, Working] = {}
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
        self.cash, position, working = ledger.snapshot(symbol)
        if full_book:
            self.book = ledger.book()
        else:
            self.book = PositionBook()
            if symbol is not None:
                self.book.get(symbol).quantity = position
        self.working = {}
        for order in working:
            since = (order.submitted_at or order.created_at).astimezone(NEW_YORK).date()
            self.working[order.order_id] = Working(copy_order(order), since, since, fresh=False)

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
            if request.order_class in ("bracket", "oto") and request.order_type == "market":
                check_against_price(request, self.last_price(request.symbol))

    def recent_orders(self, since: datetime | None) -> list[BrokerOrder]:
        """Nothing to adopt: the paper broker's orders are the book's own rows."""
        return []

    def submit(self, order: Order) -> ExecutionReport:
        self._sync(order.symbol)
        bar = self.bar(order.symbol)
        reason = f"unknown symbol {order.symbol}: no market data" if bar is None else None
        if bar is not None and order.parent_order_id is None:
            reason = self._affordability(order, bar.close)
        if reason is not None or bar is None:
            legs = tuple(
                self._report(leg, "rejected", reason=f"its order was rejected: {reason}") for leg in order.legs
            )
            return replace(self._report(order, "rejected", reason=reason), legs=legs)
        live = self.config.mode == "live"
        placed = (max(self.clock(), bar.timestamp) if live else bar.timestamp).astimezone(NEW_YORK).date()
        working = self._accept(order, placed, bar)
        reports = [self._report(working.order, "accepted")]
        for leg in order.legs:
            reports.append(self._report(self._accept(leg, placed, bar).order, "accepted"))
        if live and order.time_in_force not in _AUCTIONS:
            reports += self._work(working, bar, immediate=True)
            for leg in order.legs:  # an OCO's stop-loss works at once too
                leg_working = self.working.get(leg.order_id)
                if leg_working is not None and self._active(leg_working.order, set()):
                    reports += self._work(leg_working, bar, immediate=True)
        return merged(order.order_id, reports)

    def replace(self, old: Order, new: Order) -> tuple[ExecutionReport, ExecutionReport]:
        """Alpaca's replace: the old order ends ``replaced`` and the new one works in its place."""
        self._sync(old.symbol)
        working = self.working.pop(old.order_id, None)
        if working is None:
            return self._report(old, old.status), self._report(new, "rejected", reason="the order is no longer working")
        bar = self.bar(new.symbol)
        reason = self._affordability(new, bar.close) if bar is not None and new.parent_order_id is None else None
        if reason is not None or bar is None:
            self.working[old.order_id] = working
            return self._report(old, old.status), self._report(new, "rejected", reason=reason or "no market data")
        fresh = Working(copy_order(new), working.session, working.placed, fresh=working.fresh)
        fresh.order.status = "accepted"
        fresh.order.broker_order_id = f"paper-{new.order_id}"
        self.working[new.order_id] = fresh
        for leg in self.working.values():  # the legs stay attached to the replacement
            if leg.order.parent_order_id == old.order_id:
                leg.order.parent_order_id = new.order_id
        old_report = self._report(working.order, "replaced", reason=f"replaced by {new.order_id}")
        reports = [self._report(fresh.order, "accepted")]
        if self.config.mode == "live" and new.time_in_force not in _AUCTIONS and self._active(fresh.order, set()):
            reports += self._work(fresh, bar, immediate=True)
        return old_report, merged(new.order_id, reports)

    def cancel(self, order: Order) -> ExecutionReport | None:
        self._sync(order.symbol)
        working = self.working.pop(order.order_id, None)
        if working is None:
            return self.lookup(order)
        report = self._report(working.order, "cancelled", reason="cancelled by request")
        related = self._end_related(working.order, "cancelled", f"cancelled with {order.order_id}")
        return replace(report, legs=tuple(related))

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

    def working_symbols(self) -> set[str]:
        """The symbols with working orders (one read of a persisted account): only their bars can fill."""
        if self.ledger is not None:
            return {order.symbol for order in self.ledger.working()}
        return {working.order.symbol for working in self.working.values()}

    def note_bar(self, symbol: str, bar: Bar) -> None:
        """A new bar for a symbol without working orders (``working_symbols``): only its last price."""
        self.last_bars[symbol] = bar
        position = self.book.positions.get(symbol)
        if position is not None:
            position.last_price = bar.close

    def on_bar(self, symbol: str, bar: Bar) -> None:
        """A new bar for ``symbol``: working orders may fill on it; then it becomes the last price."""
        self._sync(symbol)
        self.last_bars[symbol] = bar
        candidates = [w for w in self.working.values() if w.order.symbol == symbol]
        if len(candidates) > 1:
            # Stops first: when one bar reaches a stop-loss and a take-profit, the stop is taken first.
            candidates.sort(key=lambda w: w.order.order_type not in _STOPS)
        filled_now: set[str] = set()
        for working in candidates:
            order = working.order
            if order.order_id not in self.working or not self._active(order, filled_now):
                continue
            for report in self._work(working, bar, immediate=False):
                if report.order_id == order.order_id and report.status == "filled":
                    filled_now.add(order.order_id)
                if self._handler is not None:
                    self._handler(report)
        position = self.book.positions.get(symbol)
        if position is not None:
            position.last_price = bar.close

    # -- internals --
    def _reserved(self) -> Decimal:
        reserved = ZERO
        for working in self.working.values():
            order = working.order
            if order.side == "buy":
                price = order.limit_price or order.stop_price or self.last_price(order.symbol) or ZERO
                reserved += order.remaining * price
        return reserved

    def _buying_power(self) -> Decimal:
        return self.cash - self._reserved()

    def _affordability(self, order: Order, last: Decimal) -> str | None:
        if order.side == "buy":
            price = order.limit_price or order.stop_price or last
            slip = self.config.slippage_bps * BPS
            cost = order.quantity * price * (1 + slip) + self.config.commission(order.quantity, price)
            available = self._buying_power()
            if cost > available:
                return f"insufficient buying power: the order needs {cost:.2f}, {available:.2f} available"
            return None
        if self.config.allow_short:
            return None
        held = self.book.quantity(order.symbol)
        # An exit group (OCO, a bracket's legs) holds the shares once, not once per order.
        selling: dict[str, Decimal] = {}
        for w in self.working.values():
            other = w.order
            if other.symbol != order.symbol or other.side != "sell" or not self._active(other, set()):
                continue
            group = other.parent_order_id or other.order_id
            selling[group] = max(selling.get(group, ZERO), other.remaining)
        available = held - sum(selling.values(), ZERO)
        if order.quantity > available:
            return f"insufficient position: selling {order.quantity} {order.symbol} but {available} available"
        return None
