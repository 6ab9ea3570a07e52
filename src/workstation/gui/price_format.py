"""Prices and quantities as a trader reads them (no Qt here).

US equities trade in whole cents from $1 and in 0.0001 below, so prices are shown at that tick
precision (186.570723 → 186.57, 0.123456 → 0.1235); quantities lose their storage zeros
(3.000000 → 3, 0.500000 → 0.5).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
SUB_PENNY = Decimal("0.0001")


def tick_size(price: Decimal) -> Decimal:
    """The minimum price increment of a US equity at ``price``: a cent from $1, 0.0001 below."""
    return CENT if abs(price) >= 1 else SUB_PENNY


def to_tick(price: Decimal) -> Decimal:
    """``price`` rounded to its tick (half up, as a trader reads 186.575 → 186.58)."""
    rounded = price.quantize(SUB_PENNY, rounding=ROUND_HALF_UP)
    return rounded.quantize(tick_size(rounded), rounding=ROUND_HALF_UP)


def format_price(price: Decimal | float | None, *, thousands: bool = True) -> str:
    """186.570723 → '186.57'; 0.123456 → '0.1235'; None → '—'."""
    if price is None:
        return "—"
    value = to_tick(Decimal(str(price)) if isinstance(price, float) else price)
    places = 2 if tick_size(value) == CENT else 4
    return f"{value:,.{places}f}" if thousands else f"{value:.{places}f}"


def format_quantity(quantity: Decimal | float | int | None) -> str:
    """3.000000 → '3'; 0.500 → '0.5'; 1234 → '1,234'."""
    if quantity is None:
        return "—"
    value = Decimal(str(quantity)) if isinstance(quantity, float) else Decimal(quantity)
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
