"""Sending an order to a remote broker: one intent, one order, whatever the network does.

* the order is sent under its committed client order id; a failure whose outcome is unknown (timeout,
  dropped connection, 5xx) is followed by a look-up before anything is resent;
* "client_order_id must be unique" means the broker has it: look it up, with retries (a broker may
  show an order some time after booking it), and adopt it — never resend;
* a refusal (4xx) of the *first* attempt rejects the order at once with the reason (401/403 raise
  BrokerAuthError: exit code 2); a refusal of a resend proves nothing about the earlier attempt, which
  the broker may have booked, so it is looked up instead;
* when nothing settles it, the order stays open with its outcome unknown (OrderOutcomeUnknownError,
  exit code 3) and reconciliation looks it up again with backoff;
* no attempt starts after the send deadline (a third of the unknown window after the order was
  placed): a process that stalled between committing and sending (a busy machine, a laptop that
  slept) must not place an order that another process has meanwhile declared never received.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from workstation.trading.domain import (
    BrokerAuthError,
    BrokerRejectedError,
    BrokerUnavailableError,
    ExecutionReport,
    Order,
    OrderExistsError,
    OrderOutcomeUnknownError,
    TradingError,
)

if TYPE_CHECKING:
    from workstation.trading.order_manager import OrderManager

log = logging.getLogger("workstation.trading.order_manager")


def send_remote(manager: OrderManager, order: Order) -> Order:
    timings = manager.timings
    last_error: TradingError | None = None
    for attempt in range(1, timings.submit_attempts + 1):
        age = (manager.clock() - order.created_at).total_seconds()
        if age > timings.send_deadline:
            last_error = TradingError(
                f"not sent{' again' if attempt > 1 else ''}: {age:.1f} s after it was placed, past the send "
                f"deadline of {timings.send_deadline:g} s"
            )
            break
        try:
            report = manager.broker.submit(order)
        except BrokerRejectedError as exc:
            if attempt > 1:
                # A refusal of a resend proves nothing about the earlier attempt, which the broker may
                # have booked (a 403 for the buying power that very order now uses): look, don't decide.
                last_error = exc
                found = find(manager, order, timings.lookup_attempts)
                if found is not None:
                    return manager.apply_report(found) or order
                break
            # Definitive: nothing was accepted. Rejected now, with the reason (401/403: exit code 2).
            rejected = manager.apply_report(ExecutionReport(order.order_id, "rejected", reason=str(exc)))
            if isinstance(exc, BrokerAuthError):
                raise
            return rejected or order
        except OrderExistsError as exc:
            # The broker has the order (maybe booked late and not visible yet): find it, never resend.
            last_error = exc
            found = find(manager, order, timings.lookup_attempts)
            if found is not None:
                return manager.apply_report(found) or order
            break
        except BrokerUnavailableError as exc:
            last_error = exc
            log.warning("submit of %s failed ambiguously (attempt %d): %s", order.order_id, attempt, exc)
            try:
                found = manager.broker.lookup(order)  # the broker may have it although we saw an error
            except TradingError as lookup_error:
                last_error = lookup_error
                break
            if found is not None:
                return manager.apply_report(found) or order
            if attempt < timings.submit_attempts:
                time.sleep(timings.retry_wait * attempt)
            continue
        manager.crash_hook("after_send")
        return manager.apply_report(report) or order
    marked = manager.mark_unknown(order.order_id, str(last_error))
    raise OrderOutcomeUnknownError(
        f"order {order.order_id} may have reached {manager.broker.name} ({last_error}); it stays open with its "
        "outcome unknown and is looked up again until settled (see 'workstation orders list --unknown')",
        marked,
    )


def find(manager: OrderManager, order: Order, attempts: int) -> ExecutionReport | None:
    """Look ``order`` up, retrying with backoff: a broker may show an order some time after booking it."""
    for attempt in range(attempts):
        try:
            found = manager.broker.lookup(order)
        except BrokerUnavailableError:
            found = None
        if found is not None:
            return found
        if attempt < attempts - 1:
            time.sleep(manager.timings.retry_wait * 2**attempt)
    return None
