"""An order request → the order rows it creates: the order itself and, for a bracket/OTO/OCO, its legs.

A leg is an order of its own (its own row, status and fills) that names its parent. Its id is the
parent's with ``-tp`` (take-profit) or ``-sl`` (stop-loss): a leg is committed with its parent, before
anything is sent. At Alpaca a leg has the broker's own client id; the book finds it by its broker id.

* bracket / OTO: the legs exit what the entry opens (the other side), working once the entry fills;
* OCO: the order is the take-profit limit and its one leg the stop-loss, both on the same (exit) side,
  both working at once; one filling cancels the other.
"""

from __future__ import annotations

from datetime import datetime

from workstation.trading.domain import STOP_LOSS, TAKE_PROFIT, Order, OrderRequest

LEG_SUFFIX = {TAKE_PROFIT: "tp", STOP_LOSS: "sl"}


def order_from_request(
    request: OrderRequest, order_id: str, broker: str, correlation_id: str | None, now: datetime
) -> Order:
    return Order(
        order_id=order_id,
        symbol=request.symbol,
        side=request.side,
        quantity=request.quantity,
        order_type=request.order_type,
        limit_price=request.limit_price,
        time_in_force=request.time_in_force,
        broker=broker,
        strategy=request.strategy,
        model_id=request.model_id,
        correlation_id=correlation_id,
        created_at=now,
        stop_price=request.stop_price,
        trail_price=request.trail_price,
        trail_percent=request.trail_percent,
        extended_hours=request.extended_hours,
        order_class=request.order_class,
    )


def legs_for(request: OrderRequest, parent: Order) -> list[Order]:
    legs = []
    exit_side = parent.side if request.order_class == "oco" else ("sell" if parent.side == "buy" else "buy")
    for role in request.legs:
        if role == TAKE_PROFIT:
            kind, limit, stop = "limit", request.take_profit, None
        else:
            kind = "stop_limit" if request.stop_loss_limit is not None else "stop"
            limit, stop = request.stop_loss_limit, request.stop_loss
        legs.append(
            Order(
                order_id=f"{parent.order_id}-{LEG_SUFFIX[role]}",
                symbol=parent.symbol,
                side=exit_side,
                quantity=parent.quantity,
                order_type=kind,  # type: ignore[arg-type]
                limit_price=limit,
                time_in_force=parent.time_in_force,
                broker=parent.broker,
                strategy=parent.strategy,
                model_id=parent.model_id,
                correlation_id=parent.correlation_id,
                created_at=parent.created_at,
                stop_price=stop,
                order_class=parent.order_class,
                parent_order_id=parent.order_id,
            )
        )
    return legs


def take_profit_of(legs: tuple[Order, ...] | list[Order]) -> Order | None:
    return next((leg for leg in legs if leg.leg_role == TAKE_PROFIT), None)


def stop_loss_of(legs: tuple[Order, ...] | list[Order]) -> Order | None:
    return next((leg for leg in legs if leg.leg_role == STOP_LOSS), None)
