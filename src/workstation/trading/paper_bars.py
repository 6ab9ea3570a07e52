"""Live bars → the paper account's working orders, for a process that is not running ``trade run``.

The window relays the bars the live feed announces (``market.notify``: one-minute bars by default) to
its paper session, so a stop, a trailing stop or a bracket placed from the ticket works on the market
as it moves. Only bars announced after the relay started are applied (a bar is applied once per
relay; a second process applying the same bar changes nothing more: a price already traded through
has filled, a mark already moved stays), and only for symbols with working paper orders. A revised
bar (the same minute stored again) is not applied twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from workstation.market.notify import BarEvent, BarSubscriber
from workstation.trading.brokers.paper import Bar
from workstation.trading.domain import to_price

if TYPE_CHECKING:
    from workstation.trading.order_manager import OrderManager


def bar_from_event(event: BarEvent) -> Bar:
    return Bar(
        event.timestamp,
        to_price(event.open),
        to_price(event.high),
        to_price(event.low),
        to_price(event.close),
        Decimal(event.volume),
    )


class PaperBarRelay:
    """Reads the announced bars since the last call and applies them to ``manager`` (a paper manager).

    Not thread-safe: one caller at a time (the window runs it as one background call at a time).
    """

    def __init__(self, engine: Engine, interval: str = "1m") -> None:
        self.engine = engine
        self.interval = interval
        self._subscriber: BarSubscriber | None = None

    def apply(self, manager: OrderManager) -> int:
        """Apply the new bars to the working orders of their symbols; returns how many bars were applied."""
        if self._subscriber is None:
            # From now on: bars stored before the relay started were the market before these orders.
            self._subscriber = BarSubscriber(self.engine, intervals=(self.interval,), fallback_poll=1.0)
        events = self._subscriber.wait(0)
        if not events:
            return 0
        working = {o.symbol for o in manager.open_orders() if o.status != "pending"}
        applied = 0
        for event in events:
            if event.symbol in working and not event.revised:
                manager.on_bar(event.symbol, bar_from_event(event))
                applied += 1
        return applied

    def close(self) -> None:
        if self._subscriber is not None:
            self._subscriber.close()
            self._subscriber = None
