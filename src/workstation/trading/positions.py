"""Positions derived from fills: quantity, average cost, realised and unrealised P&L, commission.

Average-cost accounting: adding to a position moves the average price; reducing it realises
(exit − average) × quantity; crossing through zero closes the old side and opens the new one at
the fill price. Everything is Decimal so the figures add up to the cent with the fills.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from workstation.trading.domain import ZERO, Fill, to_price


@dataclass(slots=True)
class Position:
    symbol: str
    quantity: Decimal = ZERO
    average_price: Decimal = ZERO
    realised_pnl: Decimal = ZERO
    commission: Decimal = ZERO
    last_price: Decimal | None = None

    def apply(self, side: str, quantity: Decimal, price: Decimal, commission: Decimal = ZERO) -> Decimal:
        """Book one fill; returns the P&L it realised (before commission)."""
        signed = quantity if side == "buy" else -quantity
        self.commission += commission
        realised = ZERO
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            total = self.quantity + signed
            self.average_price = to_price((self.average_price * abs(self.quantity) + price * quantity) / abs(total))
            self.quantity = total
            return realised
        closing = min(quantity, abs(self.quantity))
        direction = Decimal(1) if self.quantity > 0 else Decimal(-1)
        realised = (price - self.average_price) * closing * direction
        self.realised_pnl += realised
        self.quantity += signed
        if self.quantity == 0:
            self.average_price = ZERO
        elif (self.quantity > 0) != (direction > 0):
            # Went through zero: the remainder is a new position opened at this fill's price.
            self.average_price = price
        return realised

    @property
    def market_value(self) -> Decimal:
        price = self.last_price if self.last_price is not None else self.average_price
        return self.quantity * price

    @property
    def unrealised_pnl(self) -> Decimal:
        if self.last_price is None or self.quantity == 0:
            return ZERO
        return (self.last_price - self.average_price) * self.quantity

    @property
    def total_pnl(self) -> Decimal:
        """Realised + unrealised, net of all commission paid on this symbol."""
        return self.realised_pnl + self.unrealised_pnl - self.commission

    def as_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "quantity": self.quantity,
            "average_price": self.average_price,
            "last_price": self.last_price,
            "market_value": self.market_value,
            "unrealised_pnl": self.unrealised_pnl,
            "realised_pnl": self.realised_pnl,
            "commission": self.commission,
        }


class PositionBook:
    """All positions of one account, updated fill by fill."""

    def __init__(self) -> None:
        self.positions: dict[str, Position] = {}

    def get(self, symbol: str) -> Position:
        position = self.positions.get(symbol)
        if position is None:
            position = self.positions[symbol] = Position(symbol)
        return position

    def quantity(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.quantity if position is not None else ZERO

    def apply_fill(self, fill: Fill) -> Decimal:
        return self.get(fill.symbol).apply(fill.side, fill.quantity, fill.price, fill.commission)

    def mark(self, prices: Mapping[str, Decimal]) -> None:
        for symbol, price in prices.items():
            if symbol in self.positions:
                self.positions[symbol].last_price = price

    def open_positions(self) -> list[Position]:
        return [p for p in sorted(self.positions.values(), key=lambda p: p.symbol) if p.quantity != 0]

    def gross_exposure(self, prices: Mapping[str, Decimal] | None = None) -> Decimal:
        total = ZERO
        for position in self.positions.values():
            if position.quantity == 0:
                continue
            price = (prices or {}).get(position.symbol) or position.last_price or position.average_price
            total += abs(position.quantity * price)
        return total

    @property
    def realised_pnl(self) -> Decimal:
        return sum((p.realised_pnl for p in self.positions.values()), ZERO)

    @property
    def commission(self) -> Decimal:
        return sum((p.commission for p in self.positions.values()), ZERO)


def positions_from_fills(fills: Iterable[Fill], last_prices: Mapping[str, Decimal] | None = None) -> PositionBook:
    """Replay fills (oldest first) into a book, then mark it to ``last_prices``."""
    book = PositionBook()
    for fill in sorted(fills, key=lambda f: f.timestamp):
        book.apply_fill(fill)
    if last_prices:
        book.mark(last_prices)
    return book


def cash_from_fills(starting_cash: Decimal, fills: Iterable[Fill]) -> Decimal:
    cash = starting_cash
    for fill in fills:
        value = fill.quantity * fill.price
        cash += -value if fill.side == "buy" else value
        cash -= fill.commission
    return cash
