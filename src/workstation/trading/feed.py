"""Incremental readers of orders and fills for live views (the blotter, the account figures).

A view that refreshes every second must not re-read the whole history each time: after the first
read, ``OrderFeed.poll`` asks only for orders updated since the last poll and fills added since.
Rows are read with Core in small partitions, not as ORM objects in one go: loading a thousand ORM
objects holds the GIL for tens of milliseconds in one stretch, which a GUI thread would feel.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, select

from workstation.db.trading import Fill as FillRow
from workstation.db.trading import Order as OrderRow
from workstation.trading.domain import Fill, Order
from workstation.trading.rows import BadRowError, fill_from_row, order_from_row

log = logging.getLogger(__name__)
_PARTITION = 100
# Writers commit out of order (a fill id taken before another commits after it) and clocks differ a
# little between processes: each poll looks back this far, and duplicates merge by id.
_ORDER_OVERLAP = timedelta(seconds=2)
_FILL_ID_OVERLAP = 50


def _rows(engine: Engine, query: Select[Any]) -> Iterator[Any]:
    with engine.connect() as conn:
        for chunk in conn.execute(query).partitions(_PARTITION):
            yield from chunk


def read_fills(engine: Engine, broker: str | None = None, *, after_id: int = 0) -> list[tuple[int, str, Fill]]:
    """(row id, broker, fill) for fills with a row id above ``after_id``, oldest first."""
    query = (
        select(FillRow.__table__, OrderRow.side, OrderRow.broker)
        .join(OrderRow, OrderRow.order_id == FillRow.order_id)
        .where(FillRow.id > after_id)
        .order_by(FillRow.id)
    )
    if broker is not None:
        query = query.where(OrderRow.broker == broker)
    found = []
    for row in _rows(engine, query):
        fill = fill_from_row(row, row.side)
        if fill is not None:  # an unreadable row is reported (logged) and skipped
            found.append((int(row.id), str(row.broker), fill))
    return found


@dataclass
class OrderFeed:
    """The newest ``limit`` orders and every fill of one broker (or all), kept current poll by poll."""

    engine: Engine
    broker: str | None = None
    limit: int = 1000
    orders: dict[str, Order] = field(default_factory=dict)
    fills: dict[str, tuple[str, Fill]] = field(default_factory=dict)  # fill id -> (broker, fill)
    _loaded: bool = False
    _since: datetime | None = None
    _last_fill_id: int = 0

    def poll(self) -> bool:
        """Read what changed since the last poll; True when anything did."""
        changed = self._poll_orders()
        return self._poll_fills() or changed

    def _poll_orders(self) -> bool:
        query = select(OrderRow.__table__)
        if self.broker is not None:
            query = query.where(OrderRow.broker == self.broker)
        if not self._loaded:
            query = query.order_by(OrderRow.created_at.desc(), OrderRow.id.desc()).limit(self.limit)
        elif self._since is not None:  # (None: there were no orders at all, so every order is new)
            query = query.where(OrderRow.updated_at >= self._since - _ORDER_OVERLAP)
        self._loaded = True
        changed = False
        for row in _rows(self.engine, query):
            cached = self.orders.get(row.order_id)
            if cached is not None and cached.updated_at == row.updated_at:
                continue  # re-read only because of the look-back: unchanged
            try:
                order = order_from_row(row)
            except BadRowError as exc:
                log.warning("order %s skipped: %s", row.order_id, exc)
                continue
            if self.orders.get(order.order_id) != order:
                self.orders[order.order_id] = order
                changed = True
            if order.updated_at is not None and (self._since is None or order.updated_at > self._since):
                self._since = order.updated_at
        if len(self.orders) > self.limit:
            newest = sorted(self.orders.values(), key=lambda o: o.created_at, reverse=True)[: self.limit]
            self.orders = {o.order_id: o for o in newest}
        return changed

    def _poll_fills(self) -> bool:
        changed = False
        for row_id, broker, fill in read_fills(
            self.engine, self.broker, after_id=max(0, self._last_fill_id - _FILL_ID_OVERLAP)
        ):
            self._last_fill_id = max(self._last_fill_id, row_id)
            if fill.fill_id not in self.fills:
                self.fills[fill.fill_id] = (broker, fill)
                changed = True
        return changed

    def order_list(self) -> list[Order]:
        return sorted(self.orders.values(), key=lambda o: o.created_at)

    def fill_list(self, broker: str | None = None) -> list[Fill]:
        found = [f for b, f in self.fills.values() if broker is None or b == broker]
        return sorted(found, key=lambda f: f.timestamp)

    def brokers(self) -> list[str]:
        return sorted({b for b, _f in self.fills.values()} | {o.broker for o in self.orders.values()})
