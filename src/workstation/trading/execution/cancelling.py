"""Cancelling an order: at once in the book for a local broker, through the broker's answer for a remote one.

* local (paper): one locked transaction — a ``pending`` order never reached the broker and is cancelled
  in the book; any other asks the broker and applies its report in the same transaction;
* remote: an order whose outcome is unknown is looked up first (a cancel of an order the broker never
  got proves nothing) and settled if it is missing; a cancel that fails in transit leaves the order
  open, outcome unknown, until the broker says otherwise; otherwise the order is ``pending_cancel``
  until the broker's report ends it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from workstation.trading.domain import (
    BrokerUnavailableError,
    ExecutionReport,
    InvalidOrderError,
    Order,
    OrderOutcomeUnknownError,
    TradingError,
)
from workstation.trading.execution import transitions
from workstation.trading.repository import AccountTx

if TYPE_CHECKING:
    from workstation.trading.order_manager import OrderManager

log = logging.getLogger("workstation.trading.order_manager")


def cancel_order(manager: OrderManager, order_id: str) -> Order:
    order = manager.get(order_id)
    if order is None:
        raise InvalidOrderError(f"no order {order_id}")
    if order.is_final:
        raise TradingError(f"order {order_id} is already {order.status}")
    if manager.local:
        return _cancel_local(manager, order_id)
    broker = manager.broker
    if order.status == "pending" or order.outcome_unknown:
        found = broker.lookup(order)
        if found is None:
            settled = manager.settle_missing(order_id) or order
            if settled.is_final:
                return settled
            raise OrderOutcomeUnknownError(
                f"order {order_id} is not at {broker.name} yet (outcome unknown): it cannot be cancelled "
                "until the broker shows it or it is settled as never received",
                settled,
            )
        order = manager.apply_report(found) or order
        if order.is_final:
            return order
    try:
        report = broker.cancel(order)
    except BrokerUnavailableError as exc:
        raise OrderOutcomeUnknownError(
            f"the cancel of {order_id} may have reached {broker.name} ({exc}); the order stays open until "
            "the broker says otherwise",
            order,
        ) from None
    pending_cancel = ExecutionReport(order_id, "pending_cancel", reason="cancel requested")
    return manager.apply_report(report or pending_cancel) or order


def _cancel_local(manager: OrderManager, order_id: str) -> Order:
    def cancel(tx: AccountTx) -> Order:
        order = tx.order(order_id)
        assert order is not None
        if order.is_final:
            return order
        if order.status == "pending":
            change = transitions.cancel_unsent(order, "cancelled before it reached the broker", manager.clock())
            if change is not None:
                tx.save(order, change)
            return order
        report = manager.broker.cancel(order)
        if report is None:
            return order
        return manager._apply(tx, report, order) or order

    return manager._locked(cancel)


def cancel_all(manager: OrderManager) -> list[Order]:
    """Cancel every open order; one that fails is logged and the others go on."""
    cancelled: list[Order] = []
    for order in manager.open_orders():
        try:
            cancelled.append(manager.cancel(order.order_id))
        except TradingError as exc:
            log.warning("cancel of %s failed: %s", order.order_id, exc)
    return cancelled
