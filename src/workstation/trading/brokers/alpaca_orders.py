"""Our orders → alpaca-py request objects, and a submit answer's legs → the book's leg ids.

Every type maps to its request class (MarketOrderRequest, LimitOrderRequest, StopOrderRequest,
StopLimitOrderRequest, TrailingStopOrderRequest); a bracket/OTO/OCO adds ``order_class`` with
``take_profit`` (TakeProfitRequest) and ``stop_loss`` (StopLossRequest, with a limit for a stop-limit
leg) taken from the order's legs. Alpaca answers with the legs nested in the order (each with its own
id and client id); they are matched to ours by role: the limit leg takes profit, the stop leg stops
the loss.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from alpaca.trading.enums import OrderClass, OrderSide, TimeInForce
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
    TrailingStopOrderRequest,
)

from workstation.trading.brokers.alpaca_parse import report_from_order
from workstation.trading.domain import STOP_LOSS, TAKE_PROFIT, ExecutionReport, Order
from workstation.trading.execution.legs import stop_loss_of, take_profit_of


def _f(value: Any) -> float | None:
    return float(value) if value is not None else None


def order_request(order: Order) -> Any:
    """The alpaca-py request for ``order`` (and its legs)."""
    common: dict[str, Any] = {
        "symbol": order.symbol,
        "qty": float(order.quantity),
        "side": OrderSide.BUY if order.side == "buy" else OrderSide.SELL,
        "time_in_force": TimeInForce(order.time_in_force),
        "client_order_id": order.order_id,
    }
    if order.extended_hours:
        common["extended_hours"] = True
    if order.order_class != "simple":
        common["order_class"] = OrderClass(order.order_class)
        take_profit, stop_loss = take_profit_of(order.legs), stop_loss_of(order.legs)
        if order.order_class == "oco":
            # Alpaca's OCO: the order is the take-profit limit; both prices go in the leg objects too.
            common["take_profit"] = TakeProfitRequest(limit_price=float(order.limit_price or 0))
        elif take_profit is not None:
            common["take_profit"] = TakeProfitRequest(limit_price=float(take_profit.limit_price or 0))
        if stop_loss is not None:
            common["stop_loss"] = StopLossRequest(
                stop_price=float(stop_loss.stop_price or 0), limit_price=_f(stop_loss.limit_price)
            )
    kind = order.order_type
    if kind == "limit":
        return LimitOrderRequest(limit_price=float(order.limit_price or 0), **common)
    if kind == "stop":
        return StopOrderRequest(stop_price=float(order.stop_price or 0), **common)
    if kind == "stop_limit":
        return StopLimitOrderRequest(
            stop_price=float(order.stop_price or 0), limit_price=float(order.limit_price or 0), **common
        )
    if kind == "trailing_stop":
        return TrailingStopOrderRequest(
            trail_price=_f(order.trail_price), trail_percent=_f(order.trail_percent), **common
        )
    return MarketOrderRequest(**common)


def replace_request(old: Order, new: Order) -> ReplaceOrderRequest:
    """What changes from ``old`` to ``new`` (Alpaca takes only the changed fields), under the new client id."""
    fields: dict[str, Any] = {"client_order_id": new.order_id}
    if new.quantity != old.quantity:
        fields["qty"] = int(new.quantity) if new.quantity == new.quantity.to_integral_value() else None
    if new.limit_price != old.limit_price:
        fields["limit_price"] = _f(new.limit_price)
    if new.stop_price != old.stop_price and old.order_type != "trailing_stop":
        fields["stop_price"] = _f(new.stop_price)
    trail = new.trail_price if new.trail_price is not None else new.trail_percent
    if trail != (old.trail_price if old.trail_price is not None else old.trail_percent):
        fields["trail"] = _f(trail)
    return ReplaceOrderRequest(**{k: v for k, v in fields.items() if v is not None})


def leg_role(body: dict[str, Any]) -> str:
    kind = str(body.get("order_type") or body.get("type") or "")
    return TAKE_PROFIT if kind == "limit" else STOP_LOSS


def with_legs(order: Order, body: dict[str, Any]) -> ExecutionReport:
    """The submit answer as a report, its nested legs as reports under our legs' ids."""
    report = report_from_order(body)
    ours = {leg.leg_role: leg for leg in order.legs}
    legs = []
    for leg_body in body.get("legs") or []:
        mine = ours.get(leg_role(leg_body))
        if mine is not None:
            legs.append(replace(report_from_order(leg_body), order_id=mine.order_id))
    return replace(report, legs=tuple(legs))
