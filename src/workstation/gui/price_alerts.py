"""Price alerts fire here: every new last price of any symbol is checked against its armed alerts.

The chart's live bar publishes prices through ``WorkstationContext.publish_price`` today; a data
stream will publish through the same call, so alerts on symbols that are not on the chart fire too.
Each alert notifies once (the store stamps it fired and saves that); the chart redraws it as fired.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from workstation.dashboard.drawings import DrawingStore
from workstation.gui.price_format import format_price

if TYPE_CHECKING:
    from workstation.gui.context import WorkstationContext


class PriceAlertWatcher(QObject):
    fired = Signal(str, list)  # symbol, the alerts (Drawing) that fired

    def __init__(self, context: WorkstationContext, store: DrawingStore) -> None:
        super().__init__(context)
        self._context = context
        self._store = store
        context.priceUpdated.connect(self.check)

    def check(self, symbol: str, price: Decimal) -> None:
        fired = self._store.fire_alerts(symbol, float(price))
        for alert in fired:
            verb = "rose to" if alert.direction == "above" else "fell to"
            self._context.notify.emit(
                "warning",
                f"Price alert: {symbol} {verb} {format_price(alert.price)} (last {format_price(price)})",
            )
        if fired:
            self.fired.emit(symbol, fired)
