"""What is still held at the end of a series of fills, for the trades and positions tables of the reports.

A round trip runs from flat to flat, so its quantity column is the largest size it reached; a trip that
was partly closed (10 bought, 5 sold) is still open for only the rest. The open quantity, average cost
and the exits since the position was last flat come from replaying the fills through the one position
arithmetic (trading.positions.Position), so the tables agree with the positions the account shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from workstation.trading.domain import ZERO, to_price
from workstation.trading.positions import Position


@dataclass(slots=True)
class Holding:
    """One symbol after the last fill: the position, plus the exits booked since it was last flat."""

    position: Position
    exit_quantity: Decimal = ZERO
    exit_value: Decimal = ZERO

    @property
    def open_quantity(self) -> Decimal:
        return abs(self.position.quantity)

    def implied_mark(self, blended_exit_price: Decimal) -> Decimal | None:
        """The price the rest was marked at, from a trip's blended exit price.

        A stored open trip keeps one exit price: the average over its real exits and the open rest valued
        at the last close. Taking the real exits back out leaves the close (to the storage precision)."""
        if not self.open_quantity:
            return None
        total = self.exit_quantity + self.open_quantity
        return to_price((blended_exit_price * total - self.exit_value) / self.open_quantity)


def replay(fills: Iterable[Mapping[str, Any]]) -> dict[str, Holding]:
    """Holdings per symbol from fills (mappings with symbol, side, quantity, price, commission), oldest first."""
    holdings: dict[str, Holding] = {}
    for fill in fills:
        symbol = str(fill["symbol"])
        holding = holdings.get(symbol)
        if holding is None:
            holding = holdings[symbol] = Holding(Position(symbol))
        side, quantity, price = str(fill["side"]), Decimal(fill["quantity"]), Decimal(fill["price"])
        before = holding.position.quantity
        holding.position.apply(side, quantity, price, Decimal(fill.get("commission") or 0))
        after = holding.position.quantity
        if before == 0:
            holding.exit_quantity = holding.exit_value = ZERO
        elif (before > 0) != (side == "buy"):  # reduces the position
            holding.exit_quantity += quantity
            holding.exit_value += quantity * price
        if after == 0 or (before != 0 and (after > 0) != (before > 0)):  # flat, or through zero into a new trip
            holding.exit_quantity = holding.exit_value = ZERO
    return holdings


def trade_rows(trades: Iterable[Mapping[str, Any]], holdings: Mapping[str, Holding]) -> list[dict[str, Any]]:
    """Round trips for the trades table: the quantity still open and a status that says what it is."""
    rows = []
    for trade in trades:
        row = dict(trade)
        if trade["is_open"]:
            holding = holdings.get(str(trade["symbol"]))
            still_open = holding.open_quantity if holding is not None else Decimal(trade["quantity"])
            row["open_quantity"] = still_open
            partly = still_open < Decimal(trade["quantity"])
            row["status"] = "partly closed, rest open (marked)" if partly else "open (marked)"
        else:
            row["open_quantity"] = None  # shown blank: nothing of a closed trip is open
            row["status"] = "closed"
        rows.append(row)
    return rows
