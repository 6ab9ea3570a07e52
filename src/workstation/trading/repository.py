"""Where the order manager keeps orders, fills and trading events.

``SqlOrderStore`` writes the orders/fills/trading_events tables, each state change together with
its events in one transaction. ``MemoryOrderStore`` keeps the same records in memory for
backtests (which persist a summary afterwards; writing every simulated order row by row would make
a 1,000-symbol backtest take minutes instead of seconds). Both honour the same contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import psycopg
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from workstation.db import partitions
from workstation.db.logs import TradingEvent
from workstation.db.trading import FINAL_ORDER_STATUSES
from workstation.db.trading import Fill as FillRow
from workstation.db.trading import Order as OrderRow
from workstation.db.types import json_safe
from workstation.db.upsert import conflict_insert
from workstation.trading.domain import Fill, Order, TradingEventRecord, plain, utcnow


class OrderStore(Protocol):
    def create_order(self, order: Order, events: Sequence[TradingEventRecord]) -> None: ...

    def save(self, order: Order, fills: Sequence[Fill], events: Sequence[TradingEventRecord]) -> None:
        """Persist the order's new state, its new fills and the events, atomically."""

    def record_events(self, events: Sequence[TradingEventRecord]) -> None: ...

    def get_order(self, order_id: str) -> Order | None: ...

    def open_orders(self, broker: str | None = None) -> list[Order]: ...

    def orders(
        self, *, broker: str | None = None, open_only: bool = False, limit: int | None = None
    ) -> list[Order]: ...

    def fills(self, *, broker: str | None = None, order_id: str | None = None) -> list[Fill]: ...

    def has_fill(self, fill_id: str) -> bool: ...


class MemoryOrderStore:
    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._fills: dict[str, Fill] = {}
        self.events: list[TradingEventRecord] = []

    def create_order(self, order: Order, events: Sequence[TradingEventRecord]) -> None:
        self._orders[order.order_id] = order
        self.events.extend(events)

    def save(self, order: Order, fills: Sequence[Fill], events: Sequence[TradingEventRecord]) -> None:
        self._orders[order.order_id] = order
        for fill in fills:
            self._fills[fill.fill_id] = fill
        self.events.extend(events)

    def record_events(self, events: Sequence[TradingEventRecord]) -> None:
        self.events.extend(events)

    def get_order(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def open_orders(self, broker: str | None = None) -> list[Order]:
        return self.orders(broker=broker, open_only=True)

    def orders(self, *, broker: str | None = None, open_only: bool = False, limit: int | None = None) -> list[Order]:
        found = [
            o
            for o in self._orders.values()
            if (broker is None or o.broker == broker) and not (open_only and o.status in FINAL_ORDER_STATUSES)
        ]
        return found[-limit:] if limit else found

    def fills(self, *, broker: str | None = None, order_id: str | None = None) -> list[Fill]:
        result = list(self._fills.values())
        if order_id is not None:
            result = [f for f in result if f.order_id == order_id]
        if broker is not None:
            result = [f for f in result if self._orders[f.order_id].broker == broker]
        return result

    def has_fill(self, fill_id: str) -> bool:
        return fill_id in self._fills


def order_from_row(row: Any) -> Order:
    """An Order from an orders row (an ORM object or a Core row with the same columns)."""
    return Order(
        order_id=row.order_id,
        symbol=row.symbol,
        side=row.side,
        quantity=plain(Decimal(row.quantity)),
        order_type=row.order_type,
        limit_price=row.price,
        time_in_force=row.time_in_force,
        broker=row.broker,
        status=row.status,
        filled_quantity=plain(Decimal(row.filled_quantity)),
        average_fill_price=row.average_fill_price,
        broker_order_id=row.broker_order_id,
        status_reason=row.status_reason,
        strategy=row.strategy,
        model_id=row.model_id,
        correlation_id=row.correlation_id,
        created_at=row.created_at,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
    )


def fill_from_row(row: Any, side: str) -> Fill:
    """A Fill from a fills row; the side comes from its order."""
    return Fill(
        fill_id=row.fill_id,
        order_id=row.order_id,
        symbol=row.symbol,
        side=side,  # type: ignore[arg-type]  # the orders CHECK constraint guarantees buy|sell
        quantity=plain(Decimal(row.quantity)),
        price=row.price,
        commission=row.commission,
        timestamp=row.timestamp,
    )


@contextmanager
def _order_transaction(engine: Engine, order: Order) -> Iterator[Connection]:
    """One transaction for an order's state change: pipelined on PostgreSQL and, for paper orders,
    committed asynchronously.

    Pipelining sends BEGIN and the writes without waiting for each reply, so a state change costs
    one round trip to the server instead of one per statement (this is the signal-to-order path).

    Asynchronous commit: the "persist the client order id before sending" rule protects against
    the *application* dying; the committed row is in the server either way. What an asynchronous
    commit gives up is the last ~200 ms of commits if the *database server* loses power — and for
    the paper broker, whose whole state (orders, fills, account) lives in this same database, that
    loss is consistent: the simulated order and its simulated fills vanish together. Orders to a
    real broker keep the synchronous flush, because there the broker holds state we must not forget.
    """
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        if conn.dialect.name != "postgresql" or not isinstance(driver, psycopg.Connection):
            with conn.begin():
                yield conn
            return
        transaction = conn.begin()
        try:
            with driver.pipeline():
                if order.broker == "paper":
                    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                yield conn
                # COMMIT goes down the same pipeline; it waits for every reply, so a failed statement
                # surfaces here as the usual SQLAlchemy error.
                transaction.commit()
        except BaseException:
            # A pipeline that failed part-way leaves the session mid-transaction in a state a ROLLBACK
            # inside it reports as "pipeline aborted" (hiding the real error) and one outside it does
            # not always clear. Failed order writes are rare: drop the connection (the server rolls
            # the transaction back) and let the pool open a fresh one; the original error propagates.
            conn.invalidate()
            raise


class SqlOrderStore:
    """The durable store: orders, fills and trading_events tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Writes use Core statements, not the ORM unit of work: they sit on the signal-to-order path,
    # where every tenth of a millisecond counts.
    def create_order(self, order: Order, events: Sequence[TradingEventRecord]) -> None:
        now = utcnow()
        with _order_transaction(self.engine, order) as conn:
            # inline(): no RETURNING of the generated id, which a pipeline cannot hand back mid-way.
            conn.execute(
                insert(OrderRow).inline(),
                {
                    "order_id": order.order_id,
                    "symbol": order.symbol,
                    "side": order.side,
                    "quantity": order.quantity,
                    "order_type": order.order_type,
                    "price": order.limit_price,
                    "status": order.status,
                    "strategy": order.strategy,
                    "model_id": order.model_id,
                    "broker": order.broker,
                    "time_in_force": order.time_in_force,
                    "filled_quantity": order.filled_quantity,
                    "correlation_id": order.correlation_id,
                    "created_at": order.created_at,
                    "updated_at": now,
                },
            )
            self._insert_events(conn, events)

    def save(self, order: Order, fills: Sequence[Fill], events: Sequence[TradingEventRecord]) -> None:
        with _order_transaction(self.engine, order) as conn:
            conn.execute(
                update(OrderRow)
                .where(OrderRow.order_id == order.order_id)
                .values(
                    status=order.status,
                    filled_quantity=order.filled_quantity,
                    average_fill_price=order.average_fill_price,
                    broker_order_id=order.broker_order_id,
                    status_reason=order.status_reason,
                    submitted_at=order.submitted_at,
                    updated_at=utcnow(),
                )
            )
            if fills:
                # A fill reported twice (stream + reconciliation) is stored once: the fill_id is unique.
                conn.execute(
                    conflict_insert(conn, FillRow.__table__)
                    .on_conflict_do_nothing(index_elements=["fill_id"])
                    .inline(),
                    [
                        {
                            "fill_id": f.fill_id,
                            "order_id": f.order_id,
                            "symbol": f.symbol,
                            "quantity": f.quantity,
                            "price": f.price,
                            "commission": f.commission,
                            "timestamp": f.timestamp,
                            "created_at": utcnow(),
                        }
                        for f in fills
                    ],
                )
            self._insert_events(conn, events)

    @staticmethod
    def _insert_events(conn: Connection, events: Sequence[TradingEventRecord]) -> None:
        if not events:
            return
        if conn.dialect.name == "postgresql":
            # trading_events is partitioned by month (0011) and replays write events at bar time. A range is
            # made on another connection, which never waits for this transaction (the table has no FK).
            partitions.ensure_partitions(conn.engine, "trading_events", [e.timestamp for e in events])
        conn.execute(
            insert(TradingEvent).inline(),
            [
                {
                    "timestamp": e.timestamp,
                    "correlation_id": e.correlation_id,
                    "metadata": json_safe(e.metadata) if e.metadata else None,
                    "event_type": e.event_type,
                    "symbol": e.symbol,
                    "side": e.side,
                    "quantity": e.quantity,
                    "price": e.price,
                    "order_id": e.order_id,
                    "strategy": e.strategy,
                    "created_at": e.timestamp,
                }
                for e in events
            ],
        )

    def record_events(self, events: Sequence[TradingEventRecord]) -> None:
        with self.engine.begin() as conn:
            self._insert_events(conn, events)

    def get_order(self, order_id: str) -> Order | None:
        with Session(self.engine) as session:
            row = session.scalars(select(OrderRow).where(OrderRow.order_id == order_id)).one_or_none()
            return order_from_row(row) if row is not None else None

    def open_orders(self, broker: str | None = None) -> list[Order]:
        return self.orders(broker=broker, open_only=True)

    def orders(self, *, broker: str | None = None, open_only: bool = False, limit: int | None = None) -> list[Order]:
        query = select(OrderRow)
        if broker is not None:
            query = query.where(OrderRow.broker == broker)
        if open_only:
            query = query.where(OrderRow.status.not_in(FINAL_ORDER_STATUSES))
        query = query.order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
        if limit:
            query = query.limit(limit)
        with Session(self.engine) as session:
            return [order_from_row(r) for r in reversed(session.scalars(query).all())]

    def fills(self, *, broker: str | None = None, order_id: str | None = None) -> list[Fill]:
        query = select(FillRow, OrderRow.side).join(OrderRow, OrderRow.order_id == FillRow.order_id)
        if broker is not None:
            query = query.where(OrderRow.broker == broker)
        if order_id is not None:
            query = query.where(FillRow.order_id == order_id)
        query = query.order_by(FillRow.timestamp, FillRow.id)
        with Session(self.engine) as session:
            return [fill_from_row(row, side) for row, side in session.execute(query).all()]

    def has_fill(self, fill_id: str) -> bool:
        with Session(self.engine) as session:
            return session.scalar(select(FillRow.id).where(FillRow.fill_id == fill_id)) is not None

    def events(self, *, event_type: str | None = None, order_id: str | None = None) -> list[TradingEventRecord]:
        query = select(TradingEvent)
        if event_type is not None:
            query = query.where(TradingEvent.event_type == event_type)
        if order_id is not None:
            query = query.where(TradingEvent.order_id == order_id)
        with Session(self.engine) as session:
            rows = session.scalars(query.order_by(TradingEvent.id)).all()
            return [
                TradingEventRecord(
                    event_type=r.event_type,
                    symbol=r.symbol,
                    side=r.side,
                    quantity=r.quantity,
                    price=r.price,
                    order_id=r.order_id,
                    strategy=r.strategy,
                    correlation_id=r.correlation_id,
                    metadata=r.metadata_,
                    timestamp=r.timestamp,
                )
                for r in rows
            ]


def last_fill_time(fills: Iterable[Fill]) -> datetime | None:
    times = [f.timestamp for f in fills]
    return max(times) if times else None
