"""When the order ticket may send an order, and how it says why not (no Qt here: unit-testable).

The ticket is valid only when every one of these holds, checked in this order so the user reads the
first thing to fix: a symbol that exists, a quantity above zero, a limit price above zero for a limit
order, trading not halted (unless the order only reduces a position, which the risk rules allow),
the pre-trade preview computed for exactly this form, a price to value the order, the risk rules
passing, and enough buying power for a buy. Every message is plain language: what is wrong and what
to do, never a command-line flag.

Prices are shown at tick precision (US equities: whole cents from $1, four decimals below) and
quantities without trailing zeros.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from workstation.gui.price_format import format_price, format_quantity, tick_size, to_tick
from workstation.trading.domain import OrderRequest
from workstation.trading.preview import RiskPreview

__all__ = ["format_price", "format_quantity", "tick_size", "to_tick"]  # re-exported for the ticket modules

_ZERO = Decimal(0)

# Risk rules by their core names, as a trader would call them.
_RULE_TITLES = {
    "symbol_allow_list": "Symbol not allowed",
    "max_order_quantity": "Order size limit",
    "max_order_notional": "Order value limit",
    "max_position": "Position limit",
    "max_gross_exposure": "Exposure limit",
    "daily_loss_limit": "Daily loss limit",
    "limit_price_collar": "Limit price too far from the last price",
    "order_rate_limit": "Too many orders",
    "halted": "Trading halted",
}
# The core's halt reason ends with the command that lifts it; the window has a Resume button instead.
_CLI_HINT = re.compile(r"\s*\((?:run|use|try)\s+'?workstation[^)]*\)", re.IGNORECASE)
_LONG_DECIMAL = re.compile(r"(?<![\w.])(\d+\.\d{3,})(?![\w.])")


def tidy_numbers(text: str) -> str:
    """Numbers at storage precision inside a core message (186.570723, 3.000000) shown as a trader reads them."""

    def tidy(match: re.Match[str]) -> str:
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:
            return match.group(1)
        if value == value.to_integral_value():
            return format_quantity(value)
        return format_price(value, thousands=False)

    return _LONG_DECIMAL.sub(tidy, text)


def plain_reason(text: str) -> str:
    """A core message without command-line hints and with tidy numbers, starting with a capital."""
    cleaned = tidy_numbers(_CLI_HINT.sub("", text)).strip()
    return cleaned[:1].upper() + cleaned[1:] if cleaned else cleaned


def halted_message(reason: str | None) -> str:
    why = plain_reason(reason or "")
    why = re.sub(r"^New orders are halted:\s*", "", why, flags=re.IGNORECASE)
    because = f" ({why})" if why else ""
    return f"Trading is halted{because}: new orders are refused until you press Resume trading."


def rule_message(rule: str, reason: str | None) -> str:
    if rule == "halted":
        return halted_message(reason)
    title = _RULE_TITLES.get(rule, rule.replace("_", " ").capitalize())
    return f"{title}: {plain_reason(reason or '')}" if reason else title


@dataclass(frozen=True, slots=True)
class TicketForm:
    """What the ticket shows right now; ``key`` identifies it so a late preview is never applied to a newer form."""

    broker: str
    symbol: str
    side: str
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    time_in_force: str
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    order_class: str = "simple"
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    extended_hours: bool = False

    @property
    def key(self) -> tuple[object, ...]:
        return (
            self.broker,
            self.symbol,
            self.side,
            self.quantity,
            self.order_type,
            self.limit_price,
            self.time_in_force,
            self.stop_price,
            self.trail_price,
            self.trail_percent,
            self.order_class,
            self.take_profit,
            self.stop_loss,
            self.extended_hours,
        )


def form_request(form: TicketForm) -> OrderRequest:
    """The order the form describes (not validated: the core's rules say what is wrong with it)."""
    return OrderRequest(
        symbol=form.symbol,
        side="sell" if form.side == "sell" else "buy",
        quantity=form.quantity,
        order_type=form.order_type,  # type: ignore[arg-type]
        limit_price=form.limit_price,
        time_in_force=form.time_in_force,
        strategy="manual",
        stop_price=form.stop_price,
        trail_price=form.trail_price,
        trail_percent=form.trail_percent,
        extended_hours=form.extended_hours,
        order_class=form.order_class,  # type: ignore[arg-type]
        take_profit=form.take_profit,
        stop_loss=form.stop_loss,
    )


def form_problem(form: TicketForm, known_symbols: Collection[str] | None) -> str | None:
    """What is wrong with the form itself (nothing asked of the broker); None when it is complete.

    ``known_symbols`` is None until the symbol list has loaded (the preview still catches a symbol
    without a price).
    """
    if not form.symbol:
        return "Enter a symbol."
    if known_symbols is not None and form.symbol not in known_symbols:
        return f"{form.symbol} is not a known symbol: choose one from the watchlist, or import its bars first."
    if form.quantity <= _ZERO:
        return "Enter a quantity above 0."
    if form.order_class == "oco":
        if form.take_profit is None or form.stop_loss is None:
            return "Enter a take-profit and a stop-loss price for the OCO exit pair."
        return None
    if form.order_type in ("limit", "stop_limit") and (form.limit_price is None or form.limit_price <= _ZERO):
        return "Enter a limit price above 0."
    if form.order_type in ("stop", "stop_limit") and (form.stop_price is None or form.stop_price <= _ZERO):
        return "Enter a stop price above 0."
    if form.order_type == "trailing_stop" and form.trail_price is None and form.trail_percent is None:
        return "Enter a trail above 0 (dollars or percent)."
    if form.order_class == "bracket" and (form.take_profit is None or form.stop_loss is None):
        return "Enter a take-profit and a stop-loss price for the bracket."
    if form.order_class == "oto" and form.take_profit is None and form.stop_loss is None:
        return "Enter a take-profit or a stop-loss price for the OTO exit."
    if form.order_class == "oto" and form.take_profit is not None and form.stop_loss is not None:
        return "An OTO order has one exit: clear the take-profit or the stop-loss (or choose bracket)."
    return None


def reduces_position(preview: RiskPreview) -> bool:
    """True when the order only shrinks a position (the risk rules let exits through a halt)."""
    before, after = preview.position_before, preview.position_after
    if abs(after) >= abs(before):
        return False
    return after == _ZERO or (after > _ZERO) == (before > _ZERO)


def preview_problem(
    preview: RiskPreview,
    halted: str | None,
    *,
    market_price: Decimal | None = None,
    short_selling: bool = True,
) -> str | None:
    """What stops the previewed order at the broker or the risk checks; None when it may be sent.

    ``halted`` is the halt recorded in the database (the kill switch of this or any other process).
    ``market_price`` (market orders only) is a price newer than the broker's, such as a live bar the
    core has not seen: the order is valued at it. ``short_selling`` False: the account cannot go short
    (the paper broker).
    """
    if halted is not None and not reduces_position(preview):
        return halted_message(halted)
    if preview.rule is not None:
        return rule_message(preview.rule, preview.reason)
    if preview.last_price is None and market_price is None:
        return f"No price for {preview.symbol}: it cannot be valued or traded here."
    if not short_selling and preview.side == "sell" and preview.position_after < _ZERO:
        held = format_quantity(max(preview.position_before, _ZERO))
        return f"This account cannot sell short: you hold {held} {preview.symbol}."
    notional = preview.quantity * market_price if market_price is not None else preview.notional
    if preview.side == "buy" and not reduces_position(preview):
        if preview.buying_power is None:
            return "Buying power unknown: the broker account could not be read. Check the connection."
        if notional is not None and notional > preview.buying_power:
            return (
                f"Not enough buying power: this order needs {format_price(notional)}, "
                f"buying power is {format_price(preview.buying_power)}."
            )
    return None


def preview_summary(preview: RiskPreview) -> str:
    """The passing preview in one line: position before → after and what the order costs."""
    parts = ["✓ Passes the risk checks", f"position {format_quantity(preview.position_before)} → "
             f"{format_quantity(preview.position_after)}"]  # fmt: skip
    if preview.buying_power is not None and preview.side == "buy" and preview.notional is not None:
        parts.append(f"buying power left {format_price(preview.buying_power - preview.notional)}")
    return " · ".join(parts)
