"""What makes an order request valid: its type's prices, its class's legs, its time in force.

Alpaca's rules, which the paper broker applies too (it simulates Alpaca):

* **market** takes no price; **limit** a limit price; **stop** a stop price; **stop_limit** both;
  **trailing_stop** exactly one of trail_price (dollars) or trail_percent (0–100), nothing else.
* **time in force** day/gtc/opg/cls/ioc/fok. opg and cls (the opening/closing auction) and ioc/fok
  take market or limit orders only; a trailing stop is day or gtc.
* **extended_hours** only on a simple limit order that is day or gtc.
* **bracket**: an entry (market, limit, stop or stop-limit; day or gtc) with a take-profit limit and a
  stop-loss stop on the far side: for a buy, take-profit above the entry and stop-loss below it (a
  sell the other way round); the stop-loss may carry a limit price, on the worse side of its stop.
* **oto**: an entry with exactly one of the two legs.
* **oco**: an exit pair for a position held: a take-profit limit and a stop-loss, one filling cancels
  the other (selling a long: take-profit above the stop-loss; buying back a short: below).
* a simple order takes no legs.

A violation is an ``InvalidOrderError``: one line, exit code 2, nothing recorded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from workstation.db.trading import TIME_IN_FORCE
from workstation.trading import bounds
from workstation.trading.domain import ORDER_CLASSES, SIDES, SUPPORTED_ORDER_TYPES, InvalidOrderError, plain

if TYPE_CHECKING:
    from workstation.trading.domain import OrderRequest

_HUNDRED = Decimal(100)
_AUCTION_OR_IMMEDIATE = ("opg", "cls", "ioc", "fok")


def _price(value: Decimal | None, name: str) -> None:
    if value is not None:
        if not isinstance(value, Decimal):
            raise InvalidOrderError(f"{name} must be a Decimal, got {type(value).__name__}")
        bounds.check_price(value, name)


def _forbid(request: OrderRequest, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(request, name) is not None:
            raise InvalidOrderError(f"a {request.order_type.replace('_', '-')} order takes no {name.replace('_', ' ')}")


def validate(request: OrderRequest) -> None:
    bounds.normalise_symbol(request.symbol)
    if request.side not in SIDES:
        raise InvalidOrderError(f"side must be buy or sell, not {request.side!r}")
    if request.order_type not in SUPPORTED_ORDER_TYPES:
        raise InvalidOrderError(
            f"order type must be one of {', '.join(SUPPORTED_ORDER_TYPES)}, not {request.order_type!r}"
        )
    if request.order_class not in ORDER_CLASSES:
        raise InvalidOrderError(f"order class must be one of {', '.join(ORDER_CLASSES)}, not {request.order_class!r}")
    if not isinstance(request.quantity, Decimal):
        raise InvalidOrderError(f"quantity must be a Decimal, got {type(request.quantity).__name__}")
    bounds.check_quantity(request.quantity)
    if request.time_in_force not in TIME_IN_FORCE:
        raise InvalidOrderError(f"time in force must be one of {', '.join(TIME_IN_FORCE)}")
    for name in ("limit_price", "stop_price", "trail_price", "take_profit", "stop_loss", "stop_loss_limit"):
        _price(getattr(request, name), name.replace("_", " "))
    _check_type(request)
    _check_time_in_force(request)
    _check_class(request)


def _check_type(request: OrderRequest) -> None:
    kind = request.order_type
    if kind in ("limit", "stop_limit") and request.limit_price is None:
        raise InvalidOrderError(f"a {kind.replace('_', '-')} order needs a positive limit price")
    if kind in ("stop", "stop_limit") and request.stop_price is None:
        raise InvalidOrderError(f"a {kind.replace('_', '-')} order needs a positive stop price")
    if kind == "market":
        _forbid(request, ("limit_price", "stop_price", "trail_price", "trail_percent"))
    elif kind == "limit":
        _forbid(request, ("stop_price", "trail_price", "trail_percent"))
    elif kind == "stop":
        _forbid(request, ("limit_price", "trail_price", "trail_percent"))
    elif kind == "stop_limit":
        _forbid(request, ("trail_price", "trail_percent"))
    else:  # trailing_stop
        _forbid(request, ("limit_price", "stop_price"))
        if (request.trail_price is None) == (request.trail_percent is None):
            raise InvalidOrderError("a trailing stop needs exactly one of trail price or trail percent")
        percent = request.trail_percent
        if percent is not None and (not isinstance(percent, Decimal) or not 0 < percent < _HUNDRED):
            raise InvalidOrderError(f"trail percent must be between 0 and 100, got {percent}")


def _check_time_in_force(request: OrderRequest) -> None:
    tif = request.time_in_force
    if tif in _AUCTION_OR_IMMEDIATE and request.order_type not in ("market", "limit"):
        raise InvalidOrderError(f"time in force {tif} takes market or limit orders only, not {request.order_type}")
    if tif in _AUCTION_OR_IMMEDIATE and request.order_class != "simple":
        raise InvalidOrderError(f"a {request.order_class} order is day or gtc, not {tif}")
    if request.extended_hours and not (
        request.order_type == "limit" and tif in ("day", "gtc") and request.order_class == "simple"
    ):
        raise InvalidOrderError("extended hours are for simple limit orders that are day or gtc")


def _check_class(request: OrderRequest) -> None:
    order_class = request.order_class
    tp, sl, sl_limit = request.take_profit, request.stop_loss, request.stop_loss_limit
    if order_class == "simple":
        if tp is not None or sl is not None or sl_limit is not None:
            raise InvalidOrderError("take-profit and stop-loss need an order class (bracket, oto or oco)")
        return
    if sl_limit is not None and sl is None:
        raise InvalidOrderError("a stop-loss limit price needs a stop-loss stop price")
    if request.order_type == "trailing_stop":
        raise InvalidOrderError(f"a {order_class} order cannot be a trailing stop")
    buying = request.side == "buy"
    if order_class == "bracket" and (tp is None or sl is None):
        raise InvalidOrderError("a bracket order needs both a take-profit and a stop-loss")
    if order_class == "oto" and (tp is None) == (sl is None):
        raise InvalidOrderError("an OTO order needs exactly one of take-profit or stop-loss")
    if order_class == "oco":
        if tp is None or sl is None:
            raise InvalidOrderError("an OCO order needs both a take-profit and a stop-loss")
        if request.order_type != "limit" or request.limit_price != tp:
            raise InvalidOrderError("an OCO order is the take-profit limit order: its limit price is the take-profit")
        # An exit: selling a long takes profit above and stops below; buying back a short the reverse.
        if (tp <= sl) if not buying else (tp >= sl):
            side = "above" if not buying else "below"
            raise InvalidOrderError(f"an OCO {request.side}'s take-profit must be {side} its stop-loss")
    else:
        entry = request.limit_price if request.order_type in ("limit", "stop_limit") else request.stop_price
        if tp is not None and sl is not None and ((tp <= sl) if buying else (tp >= sl)):
            raise InvalidOrderError(
                f"a {request.side} {order_class}'s take-profit must be {'above' if buying else 'below'} its stop-loss"
            )
        if entry is not None:
            if tp is not None and ((tp <= entry) if buying else (tp >= entry)):
                where = "above" if buying else "below"
                raise InvalidOrderError(f"the take-profit {tp} must be {where} the {request.side} entry at {entry}")
            if sl is not None and ((sl >= entry) if buying else (sl <= entry)):
                where = "below" if buying else "above"
                raise InvalidOrderError(f"the stop-loss {sl} must be {where} the {request.side} entry at {entry}")
    if sl is not None and sl_limit is not None:
        # The stop-loss leg exits on the other side: selling (after a buy) its limit is at or below the stop.
        exit_sells = buying if order_class != "oco" else not buying
        if (sl_limit > sl) if exit_sells else (sl_limit < sl):
            where = "at or below" if exit_sells else "at or above"
            raise InvalidOrderError(f"the stop-loss limit {sl_limit} must be {where} its stop {sl}")


def check_against_price(request: OrderRequest, last: Decimal | None) -> None:
    """A bracket/OTO with a market entry is judged against the last price (Alpaca's base price)."""
    if last is None or request.order_class in ("simple", "oco") or request.order_type != "market":
        return
    buying = request.side == "buy"
    tp, sl = request.take_profit, request.stop_loss
    last = plain(last)
    if tp is not None and ((tp <= last) if buying else (tp >= last)):
        where = "above" if buying else "below"
        raise InvalidOrderError(f"the take-profit {tp} must be {where} the last price {last}")
    if sl is not None and ((sl >= last) if buying else (sl <= last)):
        where = "below" if buying else "above"
        raise InvalidOrderError(f"the stop-loss {sl} must be {where} the last price {last}")
