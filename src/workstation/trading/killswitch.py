"""The kill switch: halt new orders, cancel every open order and, if asked, flatten every position.

The halt is a ``kill_switch`` trading event: every process reads it inside the account lock before
its next order, so it stops the whole workstation, not just this process, until a resume.
Flattening goes through the normal order path (so every order is committed, sent, reconciled and
logged) but bypasses the risk limits: nothing may stop an exit. Open orders and positions are the
database's, so orders placed by other processes are cancelled and flattened too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from workstation.monitoring.correlation import correlation_scope, current_correlation_id
from workstation.trading.domain import Order, OrderRequest, Side, TradingError, TradingEventRecord
from workstation.trading.order_manager import OrderManager

log = logging.getLogger(__name__)


@dataclass
class KillSwitchResult:
    cancelled: list[Order] = field(default_factory=list)
    flatten_orders: list[Order] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "cancelled": [o.order_id for o in self.cancelled],
            "flatten_orders": [o.as_dict() for o in self.flatten_orders],
            "errors": self.errors,
        }


def kill_switch(manager: OrderManager, *, flatten: bool = False, reason: str = "kill switch") -> KillSwitchResult:
    result = KillSwitchResult()
    with correlation_scope(prefix="kill"):
        if manager.risk is not None:
            manager.risk.halt(reason)
        open_orders = manager.open_orders()
        manager.store.record_events(
            [
                TradingEventRecord(
                    "kill_switch",
                    correlation_id=current_correlation_id(),
                    metadata={"flatten": flatten, "reason": reason, "open_orders": len(open_orders)},
                    timestamp=manager.clock(),
                )
            ]
        )
        for order in open_orders:
            try:
                result.cancelled.append(manager.cancel(order.order_id))
            except TradingError as exc:
                result.errors.append(f"cancel {order.order_id}: {exc}")
        if flatten:
            for position in manager.positions().open_positions():
                side: Side = "sell" if position.quantity > 0 else "buy"
                request = OrderRequest(
                    position.symbol, side, abs(position.quantity), strategy="kill_switch", bypass_risk=True
                )
                try:
                    result.flatten_orders.append(manager.submit(request))
                except TradingError as exc:
                    result.errors.append(f"flatten {position.symbol}: {exc}")
    for error in result.errors:
        log.error("kill switch: %s", error)
    return result
