"""How the paper broker decides whether, and at what price, an order trades on a bar.

Hand-checkable rules (bars are OHLC; within a bar the order of the high and the low is unknown, so
every ambiguity is settled the way that is worse for the trader):

* **market**: the bar's open (backtest: the bar after the order) or, placed live, the last price.
* **limit**: a buy fills when the low reaches the limit, at the better of the open and the limit (a
  gap down through a buy limit fills at the open); a sell mirrors it with the high.
* **stop**: a buy triggers when the high reaches the stop, a sell when the low does; it then fills
  as a market order at the stop, or at the open when the bar gaps through the stop.
* **stop-limit**: triggers like a stop; on the triggering bar it fills only if the trigger price (the
  stop, or the open on a gap) is within the limit, at that price; otherwise it works as a limit order
  from the next bar on.
* **trailing stop**: the stop follows the high-water mark (a buy's low-water mark) by the trail
  (dollars or percent). Each bar is first checked against the stop set by the previous bars (the
  bar's own high may have come after its low), then the mark moves with the bar's high (low).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from workstation.trading.domain import Order, to_price

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Trade:
    """A price the order trades at, and whether it reached its stop (a stop-limit's trigger) on the way."""

    price: Decimal | None
    triggered: bool = False
    market_like: bool = False  # slippage applies (market, and stops once triggered)


def trail_stop(order: Order, mark: Decimal) -> Decimal:
    """The trailing stop's stop price for the high-water (sell) / low-water (buy) mark."""
    selling = order.side == "sell"
    if order.trail_percent is not None:
        offset = mark * order.trail_percent / _HUNDRED
    else:
        assert order.trail_price is not None
        offset = order.trail_price
    return to_price(mark - offset if selling else mark + offset)


def moved_mark(order: Order, high: Decimal, low: Decimal) -> Decimal:
    mark = order.hwm
    if order.side == "sell":
        return high if mark is None else max(mark, high)
    return low if mark is None else min(mark, low)


def _limit_on_bar(side: str, limit: Decimal, open_: Decimal, high: Decimal, low: Decimal) -> Decimal | None:
    if side == "buy":
        return min(open_, limit) if low <= limit else None
    return max(open_, limit) if high >= limit else None


def _stop_on_bar(side: str, stop: Decimal, open_: Decimal, high: Decimal, low: Decimal) -> Decimal | None:
    if side == "buy":
        return max(open_, stop) if high >= stop else None
    return min(open_, stop) if low <= stop else None


def _within(side: str, price: Decimal, limit: Decimal) -> bool:
    return price <= limit if side == "buy" else price >= limit


def on_bar(order: Order, open_: Decimal, high: Decimal, low: Decimal) -> Trade:
    """Where ``order`` trades on a bar (None: it does not)."""
    kind, side = order.order_type, order.side
    if kind == "market":
        return Trade(open_, market_like=True)
    if kind == "limit" or (kind == "stop_limit" and order.triggered_at is not None):
        assert order.limit_price is not None
        return Trade(_limit_on_bar(side, order.limit_price, open_, high, low))
    stop = order.stop_price
    if kind == "trailing_stop" and stop is None:
        return Trade(None)  # no mark yet: the first bar sets it
    assert stop is not None
    reached = _stop_on_bar(side, stop, open_, high, low)
    if reached is None:
        return Trade(None)
    if kind in ("stop", "trailing_stop"):
        return Trade(reached, triggered=True, market_like=True)
    assert order.limit_price is not None  # stop_limit, triggered on this bar
    return Trade(reached if _within(side, reached, order.limit_price) else None, triggered=True)


def at_last(order: Order, last: Decimal) -> Trade:
    """Where ``order`` trades at once when placed live at the last price (None: it starts working)."""
    kind, side = order.order_type, order.side
    if kind == "market":
        return Trade(last, market_like=True)
    if kind == "limit" or (kind == "stop_limit" and order.triggered_at is not None):
        assert order.limit_price is not None
        return Trade(last if _within(side, last, order.limit_price) else None)
    if kind == "trailing_stop":
        return Trade(None)  # its stop is set from this very price: it cannot be through it
    stop = order.stop_price
    assert stop is not None
    through = last >= stop if side == "buy" else last <= stop
    if not through:
        return Trade(None)
    if kind == "stop":
        return Trade(last, triggered=True, market_like=True)
    assert order.limit_price is not None
    return Trade(last if _within(side, last, order.limit_price) else None, triggered=True)


def auction_price(order: Order, price: Decimal) -> Decimal | None:
    """An opening/closing-auction order (opg/cls) at the auction ``price``: market takes it, a limit if within."""
    if order.order_type == "market":
        return price
    assert order.limit_price is not None
    return price if _within(order.side, price, order.limit_price) else None
