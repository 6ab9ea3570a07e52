"""The durable order store: orders, fills and trading_events, changed only under the account's lock.

``locked(account)`` opens one transaction that holds the account's lock — a PostgreSQL advisory
transaction lock on a key derived from the account name, or SQLite's write lock (``BEGIN
IMMEDIATE``) — and binds it to the calling thread, so everything the thread reads or writes until
the block ends happens in that transaction. Every order write goes through such a block:

* an order is read ``FOR UPDATE`` and written back with ``WHERE version = <the version read>``; a
  write that finds another version raises ``LostRaceError`` and the caller re-reads and re-decides;
* its fills and trading events are inserted in the same transaction; a fill whose identity
  (order, cumulative quantity) exists already is a lost race too, never a second booking.

Reads outside a block use a connection of their own (or the thread's locked one, if it holds one).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from workstation.db import partitions
from workstation.db.logs import TradingEvent
from workstation.db.trading import FINAL_ORDER_STATUSES
from workstation.db.trading import Fill as FillRow
from workstation.db.trading import Order as OrderRow
from workstation.trading import ledger
from workstation.trading.domain import Fill, Order, OrderRequest, TradingError, TradingEventRecord
from workstation.trading.execution.transitions import Change
from workstation.trading.positions import PositionBook
from workstation.trading.risk import RiskLimits, RiskSnapshot
from workstation.trading.rows import (
    event_from_row,
    event_values,
    fill_from_row,
    fill_values,
    new_order_values,
    order_values,
    readable_orders,
    refresh_secrets,
)

_orders: Table = OrderRow.__table__  # type: ignore[assignment]
_fills: Table = FillRow.__table__  # type: ignore[assignment]
_events: Table = TradingEvent.__table__  # type: ignore[assignment]


class LostRaceError(TradingError):
    """Another writer changed the order between our read and our write: re-read and decide again."""


def _unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def lock_key(account: str) -> int:
    """A stable signed 64-bit advisory-lock key per account name (the same in every process)."""
    digest = hashlib.blake2b(f"workstation-account:{account}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_ORDER = select(_orders).where(_orders.c.order_id == bindparam("order_id"))
_ORDER_FOR_UPDATE = _ORDER.with_for_update()
# The compare-and-set: the new values as parameters named after their columns.
_CAS = update(_orders).where(_orders.c.order_id == bindparam("b_order_id"), _orders.c.version == bindparam("b_version"))
_INSERT_ORDER = insert(_orders).inline()
_INSERT_FILLS = insert(_fills).inline()
_INSERT_EVENTS = insert(_events).inline()


def _ensure_event_ranges(engine: Engine, events: Sequence[TradingEventRecord]) -> None:
    """trading_events is partitioned by month on PostgreSQL (0011) and replays write events at bar time. A
    missing range is made on another connection, which never waits for a locked transaction (no FK)."""
    if engine.dialect.name == "postgresql":
        partitions.ensure_partitions(engine, "trading_events", [e.timestamp for e in events])


class SqlAccountTx:
    """One locked transaction on one account (see the module docstring)."""

    def __init__(self, conn: Connection, account: str) -> None:
        self.conn = conn
        self.account = account
        # Events are written together (one executemany) before the commit, or before a read of
        # trading_events in this transaction: a batch of 100 orders costs one insert of its events,
        # not 200 round trips. Nothing outside the transaction can see them earlier either way.
        self._pending_events: list[TradingEventRecord] = []

    def order(self, order_id: str) -> Order | None:
        query = _ORDER_FOR_UPDATE if self.conn.dialect.name == "postgresql" else _ORDER
        row = self.conn.execute(query, {"order_id": order_id}).first()
        found = readable_orders([row]) if row is not None else []
        return found[0] if found else None

    def insert_order(self, order: Order, events: Sequence[TradingEventRecord]) -> None:
        self.conn.execute(_INSERT_ORDER, new_order_values(order))
        self.record_events(events)

    def order_by_broker_id(self, broker_order_id: str) -> Order | None:
        """The account's order the broker knows by ``broker_order_id`` (a leg, whose client id is the broker's)."""
        query = select(_orders).where(_orders.c.broker_order_id == broker_order_id, _orders.c.broker == self.account)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found = readable_orders(list(self.conn.execute(query.limit(1))))
        return found[0] if found else None

    def legs(self, parent_order_id: str) -> list[Order]:
        """The legs ``parent_order_id`` carries (bracket, OTO, OCO), oldest first."""
        query = select(_orders).where(_orders.c.parent_order_id == parent_order_id).order_by(_orders.c.id)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return readable_orders(list(self.conn.execute(query)))

    def save(self, order: Order, change: Change) -> None:
        """Write ``order``'s new state if nobody changed it since it was read, with its fills and events."""
        values = {"b_order_id": order.order_id, "b_version": order.version, "version": order.version + 1}
        result = self.conn.execute(_CAS, values | order_values(order))
        if result.rowcount != 1:
            raise LostRaceError(f"order {order.order_id} changed under us")
        order.version += 1
        if change.fills:
            try:
                self.conn.execute(_INSERT_FILLS, [fill_values(f) for f in change.fills])
            except IntegrityError as exc:
                if not _unique_violation(exc):
                    raise
                raise LostRaceError(f"a fill of {order.order_id} is booked already: {exc.orig}") from None
        self.record_events(change.events)

    def record_events(self, events: Sequence[TradingEventRecord]) -> None:
        self._pending_events.extend(events)

    def flush_events(self) -> None:
        """Write the events recorded so far (the store calls this before committing)."""
        events, self._pending_events = self._pending_events, []
        if events:
            _ensure_event_ranges(self.conn.engine, events)
            self.conn.execute(_INSERT_EVENTS, [event_values(e) for e in events])

    def risk_snapshot(
        self,
        account: str,
        request: OrderRequest,
        limits: RiskLimits,
        now: datetime,
        last_price: Callable[[str], Decimal | None],
    ) -> RiskSnapshot:
        if any(e.event_type in ledger.HALT_EVENTS for e in self._pending_events):
            self.flush_events()  # the halt check reads trading_events
        since = None
        if limits.max_orders_per_window is not None:
            since = now - timedelta(seconds=limits.rate_window_seconds)
        inputs = ledger.risk_inputs(self.conn, account, request.symbol, since)
        gross = pnl = Decimal(0)
        if limits.needs_marks:
            book = ledger.position_book(self.conn, account)
            for position in book.open_positions():
                position.last_price = last_price(position.symbol) or ledger.reference_price(self.conn, position.symbol)
            gross = book.gross_exposure()
            if limits.daily_loss_limit is not None:
                from workstation.trading.daypnl import day_pnl

                pnl = day_pnl(self.conn.engine, account, now=now, last_price=last_price)
        needs_price = limits.max_order_notional is not None or limits.limit_collar is not None or limits.needs_marks
        price = last_price(request.symbol) if needs_price else None
        return RiskSnapshot(
            position_quantity=inputs.position,
            open_order_quantity=inputs.open_quantity,
            last_price=price,
            gross_exposure=gross,
            daily_pnl=pnl,
            now=now,
            orders_in_window=inputs.recent_orders,
            halted=inputs.halted,
        )

    def position_book(self, account: str) -> PositionBook:
        return ledger.position_book(self.conn, account)


class SqlOrderStore:
    """The durable store: orders, fills and trading_events tables (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        # Rows that could not be read (reported and skipped, never fatal); commands print them.
        self.skipped: list[str] = []
        refresh_secrets()

    # -- the account lock --
    @contextmanager
    def locked(self, account: str, *, durable: bool = True) -> Iterator[SqlAccountTx]:
        bound: SqlAccountTx | None = getattr(self._local, "tx", None)
        if bound is not None:
            if bound.account != account:
                raise RuntimeError(f"already holding account {bound.account!r}; one account lock at a time")
            yield bound
            return
        refresh_secrets()
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # The write lock now, not at the first write: reads that decide must see the final state.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.begin()
                # A local (paper) account lives wholly in this database: losing the last commits in a
                # server crash loses order and fills together, consistently. One round trip for both
                # (the key is an integer we computed, so it is inlined).
                relaxed = "SET LOCAL synchronous_commit = off; " if not durable else ""
                conn.exec_driver_sql(f"{relaxed}SELECT pg_advisory_xact_lock({lock_key(account)})")
            tx = SqlAccountTx(conn, account)
            self._local.tx = tx
            try:
                yield tx
                tx.flush_events()
            except BaseException:
                self._local.tx = None
                # A connection lost mid-transaction cannot roll back; the server does. Keep the real error.
                with contextlib.suppress(Exception):
                    conn.rollback()
                raise
            self._local.tx = None
            conn.commit()

    @contextmanager
    def _reading(self, *, events: bool = False) -> Iterator[Connection]:
        """The thread's locked connection if it holds one (``events``: a read of trading_events, which
        must see the transaction's own events, so they are written first), else a fresh one."""
        bound: SqlAccountTx | None = getattr(self._local, "tx", None)
        if bound is not None:
            if events:
                bound.flush_events()
            yield bound.conn
            return
        with self.engine.connect() as conn:
            yield conn

    # -- conveniences over one locked transaction each --
    def create_order(self, order: Order, events: Sequence[TradingEventRecord]) -> None:
        with self.locked(order.broker, durable=order.broker != "paper") as tx:
            tx.insert_order(order, events)

    def save(self, order: Order, fills: Sequence[Fill], events: Sequence[TradingEventRecord]) -> None:
        """Write ``order`` (conditionally on its version) with new fills and events."""
        with self.locked(order.broker, durable=order.broker != "paper") as tx:
            tx.save(order, Change(list(fills), list(events)))

    def record_events(self, events: Sequence[TradingEventRecord]) -> None:
        """Events that change no order (signals, kill switch, reconciliation summaries)."""
        if not events:
            return
        bound: SqlAccountTx | None = getattr(self._local, "tx", None)
        if bound is not None:
            bound.record_events(events)
            return
        refresh_secrets()
        _ensure_event_ranges(self.engine, events)
        with self.engine.begin() as conn:
            conn.execute(_INSERT_EVENTS, [event_values(e) for e in events])

    # -- reads --
    def get_order(self, order_id: str) -> Order | None:
        with self._reading() as conn:
            row = conn.execute(_ORDER, {"order_id": order_id}).first()
        found = readable_orders([row], self.skipped) if row is not None else []
        return found[0] if found else None

    def open_orders(self, broker: str | None = None) -> list[Order]:
        return self.orders(broker=broker, open_only=True)

    def orders(
        self,
        *,
        broker: str | None = None,
        open_only: bool = False,
        limit: int | None = None,
        unknown_only: bool = False,
    ) -> list[Order]:
        query = select(_orders)
        if broker is not None:
            query = query.where(_orders.c.broker == broker)
        if open_only or unknown_only:
            query = query.where(_orders.c.status.not_in(FINAL_ORDER_STATUSES))
        if unknown_only:
            query = query.where((_orders.c.status == "pending") | _orders.c.unknown_since.is_not(None))
        query = query.order_by(_orders.c.created_at.desc(), _orders.c.id.desc())
        if limit:
            query = query.limit(limit)
        with self._reading() as conn:
            rows = list(conn.execute(query))
        return readable_orders(list(reversed(rows)), self.skipped)

    def fills(self, *, broker: str | None = None, order_id: str | None = None) -> list[Fill]:
        query = select(_fills, _orders.c.side).join(_orders, _orders.c.order_id == _fills.c.order_id)
        if broker is not None:
            query = query.where(_orders.c.broker == broker)
        if order_id is not None:
            query = query.where(_fills.c.order_id == order_id)
        query = query.order_by(_fills.c.timestamp, _fills.c.id)
        with self._reading() as conn:
            rows = list(conn.execute(query))
        return [fill for fill in (fill_from_row(row, row.side) for row in rows) if fill is not None]

    def legs(self, parent_order_id: str) -> list[Order]:
        query = select(_orders).where(_orders.c.parent_order_id == parent_order_id).order_by(_orders.c.id)
        with self._reading() as conn:
            return readable_orders(list(conn.execute(query)), self.skipped)

    def has_fill(self, fill_id: str) -> bool:
        with self._reading() as conn:
            return conn.execute(select(_fills.c.id).where(_fills.c.fill_id == fill_id)).first() is not None

    def position_book(self, account: str) -> PositionBook:
        with self._reading() as conn:
            return ledger.position_book(conn, account)

    def halted_reason(self) -> str | None:
        with self._reading(events=True) as conn:
            return ledger.halted_reason(conn)

    def events(self, *, event_type: str | None = None, order_id: str | None = None) -> list[TradingEventRecord]:
        query = select(_events)
        if event_type is not None:
            query = query.where(_events.c.event_type == event_type)
        if order_id is not None:
            query = query.where(_events.c.order_id == order_id)
        with self._reading(events=True) as conn:
            return [event_from_row(r) for r in conn.execute(query.order_by(_events.c.id))]

    def last_reconciled(self, broker: str) -> datetime | None:
        """When ``broker`` was last reconciled completely (the newest such orders_reconciled event)."""
        query = (
            select(_events.c.timestamp, _events.c.metadata)
            .where(_events.c.event_type == "orders_reconciled")
            .order_by(_events.c.id.desc())
            .limit(200)
        )
        with self._reading(events=True) as conn:
            for when, metadata in conn.execute(query):
                if isinstance(metadata, dict) and metadata.get("broker") == broker and metadata.get("complete"):
                    return when  # type: ignore[no-any-return]
        return None

    def query(self, fn: Callable[[Connection], Any]) -> Any:
        """Run a read on the thread's locked connection if it holds one, else on a fresh connection."""
        with self._reading() as conn:
            return fn(conn)
