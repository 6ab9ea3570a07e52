"""Changing what is working: replace an open order, close a position, close every position.

**Replace** works as at Alpaca: the broker cancels the order and creates a new one with a new id,
so the book gets a new order (``replaces`` → the old one) and the old one ends ``replaced``
(``replaced_by`` → the new one); a leg follows its parent to the replacement. The new order is
committed (pending) under the account lock before the broker is asked, like any order; for the paper
broker the whole change is one locked transaction. A replace the broker refuses leaves the old order
as it was and the new one rejected with the reason; one whose outcome is unknown leaves the new one
open with its outcome unknown (reconciliation settles it).

**Close** cancels the symbol's open orders (they may hold the shares) and then sells a long / buys
back a short at market through the normal order path; at Alpaca its close-position endpoint places
that order and the book adopts it.
"""

from __future__ import annotations

import logging
from dataclasses import replace as copy_with
from decimal import Decimal
from typing import TYPE_CHECKING

from workstation.monitoring.correlation import current_correlation_id
from workstation.trading.bounds import check_alpaca_rules
from workstation.trading.domain import (
    BrokerOrder,
    BrokerRejectedError,
    BrokerUnavailableError,
    ExecutionReport,
    InvalidOrderError,
    Order,
    OrderOutcomeUnknownError,
    OrderRequest,
    TradingError,
)
from workstation.trading.execution import transitions

if TYPE_CHECKING:
    from workstation.trading.order_manager import OrderManager
    from workstation.trading.repository import AccountTx

log = logging.getLogger("workstation.trading.order_manager")


def replacement_request(
    order: Order,
    quantity: Decimal | None,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    trail: Decimal | None = None,
) -> OrderRequest:
    """The order as it would be after the replace, validated by the same rules as a new order."""
    if quantity is None and limit_price is None and stop_price is None and trail is None:
        raise InvalidOrderError("a replace needs a new quantity, limit price, stop price or trail")
    kind = order.order_type
    if limit_price is not None and kind not in ("limit", "stop_limit"):
        raise InvalidOrderError(f"a {kind.replace('_', '-')} order has no limit price to change")
    if stop_price is not None and kind not in ("stop", "stop_limit"):
        raise InvalidOrderError(f"a {kind.replace('_', '-')} order has no stop price to change")
    if trail is not None and kind != "trailing_stop":
        raise InvalidOrderError("only a trailing stop has a trail to change")
    if quantity is not None and quantity <= order.filled_quantity:
        raise InvalidOrderError(f"the new quantity {quantity} must be above the {order.filled_quantity} filled")
    percent = order.trail_percent is not None
    request = OrderRequest(
        symbol=order.symbol,
        side=order.side,
        quantity=quantity if quantity is not None else order.quantity,
        order_type=order.order_type,
        limit_price=limit_price if limit_price is not None else order.limit_price,
        time_in_force=order.time_in_force,
        stop_price=stop_price if stop_price is not None else order.stop_price,
        trail_price=(trail if not percent and trail is not None else order.trail_price),
        trail_percent=(trail if percent and trail is not None else order.trail_percent),
        extended_hours=order.extended_hours,
        strategy=order.strategy,
    )
    if kind == "trailing_stop":
        # A working trailing stop's stop price is the broker's (it follows the mark): not the user's.
        request = copy_with(request, stop_price=None)
    request.validate()
    check_alpaca_rules(request)
    return request


def _new_order(manager: OrderManager, old: Order, request: OrderRequest) -> Order:
    now = manager.clock()
    return Order(
        order_id=manager._new_id(),
        symbol=old.symbol,
        side=old.side,
        quantity=request.quantity,
        order_type=old.order_type,
        limit_price=request.limit_price,
        time_in_force=old.time_in_force,
        broker=old.broker,
        strategy=old.strategy,
        model_id=old.model_id,
        correlation_id=current_correlation_id() or old.correlation_id,
        created_at=now,
        stop_price=request.stop_price if old.order_type != "trailing_stop" else old.stop_price,
        trail_price=request.trail_price,
        trail_percent=request.trail_percent,
        hwm=old.hwm,
        extended_hours=old.extended_hours,
        order_class=old.order_class,
        parent_order_id=old.parent_order_id,
        replaces=old.order_id,
        triggered_at=old.triggered_at,
    )


def _check_replaceable(old: Order | None, order_id: str) -> Order:
    if old is None:
        raise InvalidOrderError(f"no order {order_id}")
    if old.is_final:
        raise TradingError(f"order {order_id} is already {old.status}: nothing to replace")
    if old.status == "pending" or old.outcome_unknown:
        raise TradingError(f"order {order_id} is not confirmed by the broker yet: replace it once it is")
    if old.status == "pending_cancel":
        raise TradingError(f"order {order_id} is being cancelled")
    return old


def _relink_legs(tx: AccountTx, old: Order, new_id: str, manager: OrderManager) -> None:
    for leg in tx.legs(old.order_id):
        change = transitions.relink(leg, new_id, manager.clock())
        if change is not None:
            tx.save(leg, change)


def _finish_old(tx: AccountTx, manager: OrderManager, old_id: str, report: ExecutionReport, new_id: str) -> None:
    old = tx.order(old_id)
    if old is None:
        return
    manager._apply(tx, copy_with(report, replaced_by=new_id), old)
    _relink_legs(tx, old, new_id, manager)


def replace_order(
    manager: OrderManager,
    order_id: str,
    *,
    quantity: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    trail: Decimal | None = None,
) -> Order:
    """Replace an open order (see the module docstring); returns the new order."""
    old = _check_replaceable(manager.get(order_id), order_id)
    request = replacement_request(old, quantity, limit_price, stop_price, trail)
    if manager.local:
        return _replace_local(manager, order_id, request)
    new = _new_order(manager, old, request)
    placed = transitions.event("order_placed", new, new.created_at, metadata={"replaces": old.order_id})
    manager._locked(lambda tx: tx.insert_order(new, [placed]))
    try:
        report = manager.broker.replace(old, new)  # type: ignore[attr-defined]
    except BrokerRejectedError as exc:
        manager.apply_report(ExecutionReport(new.order_id, "rejected", reason=str(exc)))
        raise
    except BrokerUnavailableError as exc:
        marked = manager.mark_unknown(new.order_id, str(exc))
        raise OrderOutcomeUnknownError(
            f"the replace of {order_id} may have reached {manager.broker.name} ({exc}); the new order "
            f"{new.order_id} stays open with its outcome unknown until reconciliation settles it",
            marked,
        ) from None

    def settle(tx: AccountTx) -> Order:
        placed_new = manager._apply(tx, report) or new
        replaced = ExecutionReport(old.order_id, "replaced", reason=f"replaced by {new.order_id}")
        _finish_old(tx, manager, old.order_id, replaced, new.order_id)
        return placed_new

    return manager._locked(settle)


def _replace_local(manager: OrderManager, order_id: str, request: OrderRequest) -> Order:
    def run(tx: AccountTx) -> Order:
        old = _check_replaceable(tx.order(order_id), order_id)
        if old.filled_quantity > 0:
            raise TradingError(f"order {order_id} is partially filled: cancel the rest and place a new order instead")
        new = _new_order(manager, old, request)
        tx.insert_order(new, [transitions.event("order_placed", new, new.created_at, metadata={"replaces": order_id})])
        old_report, new_report = manager.broker.replace(old, new)  # type: ignore[attr-defined]
        if new_report.status == "rejected":
            manager._apply(tx, new_report, new)
            return new
        _finish_old(tx, manager, order_id, old_report, new.order_id)
        return manager._apply(tx, new_report, new) or new

    return manager._locked(run)


# ---------------------------------------------------------------------------------------------- closing
def close_position(manager: OrderManager, symbol: str) -> Order:
    """Cancel the symbol's open orders, then flatten it at market (see the module docstring)."""
    from workstation.trading.bounds import normalise_symbol

    symbol = normalise_symbol(symbol)
    for order in manager.open_orders():
        current = manager.get(order.order_id) if order.symbol == symbol else None
        if current is not None and not current.is_final:  # a leg may have gone with its parent
            try:
                manager.cancel(order.order_id)
            except TradingError as exc:
                log.warning("cancel of %s before closing %s failed: %s", order.order_id, symbol, exc)
    close_remote = getattr(manager.broker, "close_position", None)
    if not manager.local and close_remote is not None:
        found: BrokerOrder = close_remote(symbol)
        adopted = manager.adopt(found, strategy="close")
        if adopted is None:
            raise TradingError(f"{manager.broker.name} closed {symbol} but the order could not be recorded")
        return adopted
    held = manager.position_quantity(symbol)
    if held == 0:
        raise TradingError(f"no open position in {symbol} to close")
    request = OrderRequest(
        symbol=symbol,
        side="sell" if held > 0 else "buy",
        quantity=abs(held),
        order_type="market",
        strategy="close",
    )
    return manager.submit(request)


def close_all_positions(manager: OrderManager) -> tuple[list[Order], list[str]]:
    """Close every open position; returns the closing orders and what failed (one symbol must not stop the rest)."""
    closed: list[Order] = []
    errors: list[str] = []
    symbols = [p.symbol for p in manager.positions().open_positions()]
    if not manager.local:
        try:
            symbols = sorted({p.symbol for p in manager.broker.positions() if p.quantity != 0} | set(symbols))
        except TradingError as exc:
            errors.append(f"positions: {exc}")
    for symbol in symbols:
        try:
            closed.append(close_position(manager, symbol))
        except TradingError as exc:
            errors.append(f"{symbol}: {exc}")
    return closed, errors
