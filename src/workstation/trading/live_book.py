"""What one running strategy has done: per symbol its last signal, position and price; its orders, each
with the bar that caused it; its P&L marked to the last bar. Fed by the live loop's outcomes, read
back from the order store (the single source of truth for order state and fills), so a snapshot is
right whatever other process filled or cancelled an order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from workstation.trading.domain import ZERO, Order, OrderRequest, Side, TradingError
from workstation.trading.live_decide import BarOutcome
from workstation.trading.order_manager import OrderManager


@dataclass(frozen=True, slots=True)
class SymbolState:
    symbol: str
    signal: Decimal | None = None  # the last signal's value (sma_cross: +1 / −1; a model: its prediction)
    confidence: Decimal | None = None
    signal_bar: datetime | None = None
    last_bar: datetime | None = None
    last_price: Decimal | None = None
    position: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One of the strategy's orders and the bar it was placed on."""

    order_id: str
    bar: datetime
    symbol: str
    side: str
    quantity: Decimal
    status: str
    filled_quantity: Decimal
    filled_avg_price: Decimal | None
    correlation_id: str | None


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    symbols: dict[str, SymbolState]
    orders: list[OrderLine]
    pnl: Decimal  # cash flows of its fills plus its positions at the last price
    bars: int  # bars decided on so far
    last_signal: SymbolState | None  # the symbol whose signal came last


@dataclass
class RunBook:
    strategy: str
    symbols: dict[str, SymbolState] = field(default_factory=dict)
    orders: dict[str, OrderLine] = field(default_factory=dict)
    bars: int = 0
    last_signal_symbol: str | None = None

    def record(self, outcome: BarOutcome, price: Decimal | None) -> None:
        state = self.symbols.get(outcome.symbol) or SymbolState(outcome.symbol)
        state = replace(state, last_bar=outcome.timestamp, last_price=price)
        if outcome.signal is not None:
            state = replace(
                state,
                signal=outcome.signal.value,
                confidence=outcome.signal.confidence,
                signal_bar=outcome.timestamp,
            )
            self.last_signal_symbol = outcome.symbol
        self.symbols[outcome.symbol] = state
        self.bars += 1
        for order in outcome.orders:
            self.orders[order.order_id] = _line(order, outcome.timestamp)

    def add_closing(self, orders: list[Order]) -> None:
        """Orders that closed its positions when it stopped ("flatten"), listed at the symbol's last bar."""
        for order in orders:
            state = self.symbols.get(order.symbol)
            at = state.last_bar if state is not None and state.last_bar is not None else order.created_at
            self.orders[order.order_id] = _line(order, at)

    def snapshot(self, manager: OrderManager) -> RunSnapshot:
        """Order states and fills re-read from the store; positions from the order manager."""
        pnl = ZERO
        for order_id, line in list(self.orders.items()):
            stored = manager.store.get_order(order_id)
            if stored is not None:
                line = self.orders[order_id] = _line(stored, line.bar)
            for fill in manager.store.fills(order_id=order_id):
                sign = Decimal(1) if fill.side == "buy" else Decimal(-1)
                pnl -= sign * fill.quantity * fill.price + fill.commission
        held: dict[str, Decimal] = {}
        for line in self.orders.values():
            sign = Decimal(1) if line.side == "buy" else Decimal(-1)
            held[line.symbol] = held.get(line.symbol, ZERO) + sign * line.filled_quantity
        for symbol, state in list(self.symbols.items()):
            self.symbols[symbol] = replace(state, position=manager.position_quantity(symbol))
            if state.last_price is not None:
                pnl += held.get(symbol, ZERO) * state.last_price
        last = self.symbols.get(self.last_signal_symbol) if self.last_signal_symbol else None
        ordered = sorted(self.orders.values(), key=lambda o: (o.bar, o.order_id))
        return RunSnapshot(dict(self.symbols), ordered, pnl, self.bars, last)


def _line(order: Order, bar: datetime) -> OrderLine:
    return OrderLine(
        order.order_id,
        bar,
        order.symbol,
        order.side,
        order.quantity,
        order.status,
        order.filled_quantity,
        order.average_fill_price,
        order.correlation_id,
    )


def flatten(manager: OrderManager, symbols: list[str], strategy: str) -> tuple[list[Order], list[str]]:
    """Market orders that close the account's position in each of ``symbols`` (through risk and the
    order manager like every order); returns the orders and the reasons of those refused."""
    placed: list[Order] = []
    refused: list[str] = []
    for symbol in symbols:
        quantity = manager.position_quantity(symbol)
        if quantity == 0:
            continue
        side: Side = "sell" if quantity > 0 else "buy"
        try:
            placed.append(manager.submit(OrderRequest(symbol, side, abs(quantity), strategy=strategy)))
        except TradingError as exc:
            refused.append(f"{symbol}: {exc}")
    return placed, refused
