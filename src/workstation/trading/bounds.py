"""Bounds on what an order may say, checked before anything is written or sent.

* **Symbols** match ``[A-Z][A-Z0-9]*`` with optional ``.``/``/``/``-``/``_`` separated parts (BRK.B,
  BTC/USD, and Quandl/zipline's BRK_A, which ingest stores as the file names it), at most 32 characters
  (the column's width).
* **Quantities** are finite, > 0, at most 6 decimals (the storage precision: a seventh decimal would be
  stored rounded while the broker got the exact value) and at most 100,000,000 shares — no US-equity
  order comes near it, and SQLite stores NUMERIC as a double, exact to 15 significant digits.
* **Prices** are finite, > 0, at most 10,000,000 and 6 decimals.
* **Alpaca's rules** (the paper broker simulates Alpaca, so it applies them too): limit/stop prices of
  $1 or more take at most 2 decimals, below $1 at most 4; fractional quantities only on day orders.

A violation is an ``InvalidOrderError``: one line, exit code 2, nothing recorded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from workstation.trading.domain import InvalidOrderError

if TYPE_CHECKING:
    from workstation.trading.domain import OrderRequest

MAX_SYMBOL_LENGTH = 32
MAX_QUANTITY = Decimal(100_000_000)
MAX_PRICE = Decimal(10_000_000)
DECIMALS = 6
_SYMBOL = re.compile(r"[A-Z][A-Z0-9]*(?:[./_-][A-Z0-9]+)*\Z")
_ONE = Decimal(1)
# Symbols repeat (a backtest checks the same few thousand again and again): remember the good ones.
_known_symbols: set[str] = set()


def normalise_symbol(raw: str) -> str:
    """``raw`` stripped and upper-cased, or InvalidOrderError when it is not a plausible ticker."""
    if raw in _known_symbols:
        return raw
    symbol = (raw or "").strip().upper()
    if symbol in _known_symbols:
        return symbol
    if not symbol:
        raise InvalidOrderError("an order needs a symbol")
    if len(symbol) > MAX_SYMBOL_LENGTH:
        raise InvalidOrderError(f"symbol {symbol[:40]!r}… is longer than {MAX_SYMBOL_LENGTH} characters")
    if not _SYMBOL.match(symbol):
        raise InvalidOrderError(f"symbol {symbol!r} is not a ticker (letters and digits, e.g. AAPL or BRK.B)")
    if len(_known_symbols) < 100_000:
        _known_symbols.add(symbol)
    return symbol


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# Quantities and prices that passed (a strategy sends the same few again and again).
_good_quantities: set[Decimal] = set()
_good_prices: set[Decimal] = set()


def check_quantity(value: Decimal, name: str = "quantity") -> Decimal:
    if value in _good_quantities:
        return value
    if not value.is_finite() or value <= 0:
        raise InvalidOrderError(f"{name} must be a positive number, got {value}")
    if value > MAX_QUANTITY:
        raise InvalidOrderError(f"{name} {value} is more than the {MAX_QUANTITY:,} shares an order may hold")
    if _decimals(value) > DECIMALS and value != value.quantize(Decimal(1).scaleb(-DECIMALS)):
        raise InvalidOrderError(f"{name} {value} has more than {DECIMALS} decimals")
    if len(_good_quantities) < 10_000:
        _good_quantities.add(value)
    return value


def check_price(value: Decimal, name: str = "price") -> Decimal:
    if value in _good_prices:
        return value
    if not value.is_finite() or value <= 0:
        raise InvalidOrderError(f"{name} must be a positive number, got {value}")
    if value > MAX_PRICE:
        raise InvalidOrderError(f"{name} {value} is above the {MAX_PRICE:,} a price may be")
    if _decimals(value) > DECIMALS and value != value.quantize(Decimal(1).scaleb(-DECIMALS)):
        raise InvalidOrderError(f"{name} {value} has more than {DECIMALS} decimals")
    if len(_good_prices) < 10_000:
        _good_prices.add(value)
    return value


def parse_number(text: str, name: str) -> Decimal:
    """A number typed by a user (CLI option, ticket field): finite, or InvalidOrderError."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise InvalidOrderError(f"{name} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise InvalidOrderError(f"{name} must be a finite number, got {text!r}")
    return value


def parse_quantity(text: str, name: str = "--qty") -> Decimal:
    return check_quantity(parse_number(text, name), name)


def parse_price(text: str, name: str = "--limit-price") -> Decimal:
    return check_price(parse_number(text, name), name)


def tick_decimals(price: Decimal) -> int:
    """Alpaca's sub-penny rule: prices of $1 or more in cents, below $1 in hundredths of a cent."""
    return 2 if price >= _ONE else 4


def check_alpaca_rules(request: OrderRequest) -> None:
    """Alpaca's tick sizes and fractional-share rule (the paper broker simulates the same broker)."""
    prices = (
        ("limit price", request.limit_price),
        ("stop price", request.stop_price),
        ("trail price", request.trail_price),
        ("take-profit", request.take_profit),
        ("stop-loss", request.stop_loss),
        ("stop-loss limit", request.stop_loss_limit),
    )
    for name, price in prices:
        if price is not None and _decimals(price) > tick_decimals(price):
            allowed = tick_decimals(price)
            if price != price.quantize(Decimal(1).scaleb(-allowed)):
                raise InvalidOrderError(
                    f"{name} {price} has more than {allowed} decimals (Alpaca's tick for prices "
                    f"{'of $1 or more' if allowed == 2 else 'below $1'})"
                )
    quantity = request.quantity
    if quantity != quantity.to_integral_value():
        if request.time_in_force != "day":
            raise InvalidOrderError(
                f"fractional quantity {quantity} is only allowed on day orders (time in force {request.time_in_force})"
            )
        if request.order_class != "simple" or request.order_type == "trailing_stop":
            raise InvalidOrderError(f"fractional quantity {quantity} is only allowed on simple, non-trailing orders")
