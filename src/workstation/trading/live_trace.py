"""From an order back to its bar: the live loop places every order under the correlation id of the bar
that caused it and records that bar's ``signal_generated`` event under the same id, so one lookup tells
which bar, signal, confidence and prediction an order came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Table, select

from workstation.db.logs import TradingEvent
from workstation.trading.domain import TradingEventRecord
from workstation.trading.rows import event_from_row

_events: Table = TradingEvent.__table__  # type: ignore[assignment]


def signals_by_correlation(engine: Engine, correlation_ids: Iterable[str]) -> dict[str, TradingEventRecord]:
    """The signal_generated event of each correlation id that has one (its metadata holds ``bar``)."""
    wanted = sorted({c for c in correlation_ids if c})
    if not wanted:
        return {}
    query = (
        select(_events)
        .where(_events.c.event_type == "signal_generated", _events.c.correlation_id.in_(wanted))
        .order_by(_events.c.id)
    )
    with engine.connect() as conn:
        return {str(r.correlation_id): event_from_row(r) for r in conn.execute(query)}


def bar_of(event: TradingEventRecord) -> Any:
    """The bar timestamp a signal_generated event names (as stored: ISO text or a datetime)."""
    return (event.metadata or {}).get("bar")
