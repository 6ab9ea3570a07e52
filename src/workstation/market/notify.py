"""New bars, announced to every process: what the feed stored, without anyone scanning market_data.

* **Announce** (the writer, inside the transaction that stores the bars): one ``market_data_events`` row
  per inserted or revised bar, and on PostgreSQL a ``NOTIFY workstation_bars`` whose payload names the
  newest event id and the intervals. The rows and the notification commit with the bars or not at all.
* **Subscribe** (``BarSubscriber``, any process): remembers the last event id it delivered and reads
  the rows after it — an index range on the primary key. On PostgreSQL it LISTENs on its own connection
  and reads when notified (and every ``fallback_poll`` seconds, so a notification lost with a dropped
  connection delays nothing for long). SQLite has no notifications: the subscriber keeps one connection
  open and looks at ``PRAGMA data_version`` every ``change_poll`` (10 ms) — it changes when any other
  connection commits, costs microseconds and takes no lock — and reads when it moved, plus every
  ``poll_interval`` (0.25 s) regardless. Callers see one API either way: ``wait(timeout)`` returns the
  new ``BarEvent`` s.
* Events are kept for ``RETENTION`` (one day) and pruned by the writer; a subscriber that fell further
  behind reads market_data itself (``BarSubscriber.gap`` tells it so).
* Ids grow in commit order because one process writes them: the owner of the data connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select, text

from workstation.market.stream.events import StreamBar
from workstation.market.tables import market_data_events

log = logging.getLogger(__name__)

CHANNEL = "workstation_bars"
RETENTION = timedelta(days=1)
_EVENT_COLUMNS = ("symbol", "interval", "source", "timestamp", "open", "high", "low", "close", "volume", "revised")


@dataclass(frozen=True, slots=True)
class BarEvent:
    """A bar the feed stored (``revised``: it replaced a stored bar with the same key)."""

    event_id: int
    symbol: str
    interval: str
    source: str
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    revised: bool

    def as_stream_bar(self) -> StreamBar:
        return StreamBar(
            symbol=self.symbol,
            timestamp=self.timestamp,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
            kind="stored",
            interval=self.interval,
        )


# --------------------------------------------------------------------------- announcing


def announce(conn: Connection, bars: pd.DataFrame) -> None:
    """Record the stored bars (bar-frame columns plus bool ``revised``) for subscribers, in ``conn``'s
    transaction; on PostgreSQL also NOTIFY (delivered at commit)."""
    if bars.empty:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "symbol": s,
            "interval": i,
            "source": src,
            "timestamp": ts.to_pydatetime(),
            "open": float(o),
            "high": float(h),
            "low": float(lo),
            "close": float(c),
            "volume": int(v),
            "revised": bool(r),
            "created_at": now,
        }
        for s, i, src, ts, o, h, lo, c, v, r in zip(
            bars["symbol"],
            bars["interval"],
            bars["source"],
            bars["timestamp"],
            bars["open"],
            bars["high"],
            bars["low"],
            bars["close"],
            bars["volume"],
            bars["revised"],
            strict=True,
        )
    ]
    conn.execute(insert(market_data_events), rows)
    if conn.dialect.name == "postgresql":
        newest = conn.execute(select(func.max(market_data_events.c.id))).scalar_one()
        payload = json.dumps({"id": int(newest), "intervals": sorted(set(bars["interval"]))})
        conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})


def prune_events(engine: Engine, *, older_than: timedelta = RETENTION) -> int:
    """Delete announcements older than ``older_than``; returns how many."""
    cutoff = datetime.now(UTC) - older_than
    with engine.begin() as conn:
        result = conn.execute(delete(market_data_events).where(market_data_events.c.created_at < cutoff))
    return int(result.rowcount or 0)


def newest_event_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(market_data_events.c.id), 0))).scalar_one())


# --------------------------------------------------------------------------- subscribing


class BarSubscriber:
    """New stored bars for this process, as ``BarEvent`` s in id order (see the module docstring).

    ``symbols`` / ``intervals`` / ``sources`` filter (None: all). ``from_id``: deliver events after this
    id (default: only bars announced from now on). Not thread-safe: one thread calls ``wait``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        symbols: Iterable[str] | None = None,
        intervals: Iterable[str] | None = ("1m",),
        sources: Iterable[str] | None = None,
        from_id: int | None = None,
        poll_interval: float = 0.25,
        fallback_poll: float = 5.0,
        change_poll: float = 0.01,
        batch_limit: int = 10_000,
    ) -> None:
        self.engine = engine
        self.symbols = {s.upper() for s in symbols} if symbols is not None else None
        self.intervals = set(intervals) if intervals is not None else None
        self.sources = set(sources) if sources is not None else None
        self.poll_interval = poll_interval
        self.fallback_poll = fallback_poll
        self.change_poll = change_poll
        self.batch_limit = batch_limit
        self.last_id = newest_event_id(engine) if from_id is None else from_id
        self.gap = False  # set when events after last_id were pruned before they were read
        self.postgres = engine.dialect.name == "postgresql"
        self._listener: Any = None
        self._watch: Any = None  # SQLite: the connection whose data_version tells of others' commits
        self._data_version: int | None = None
        self._next_read = 0.0
        self._pending = True  # read once at the start: bars may have been announced since from_id

    # ------------------------------------------------------------------ public
    def set_symbols(self, symbols: Iterable[str] | None) -> None:
        self.symbols = {s.upper() for s in symbols} if symbols is not None else None

    def wait(self, timeout: float) -> list[BarEvent]:
        """Block up to ``timeout`` seconds for new bars; returns them (empty on timeout)."""
        deadline = time.monotonic() + timeout
        if self.postgres and self._listener is None:
            # LISTEN before reading: a bar announced between the read and a later LISTEN would wait for
            # the fallback poll (seconds), while one announced before LISTEN is found by the read.
            self._listen(0.0)
            self._pending = True
        while True:
            now = time.monotonic()
            if self._pending or now >= self._next_read:
                self._pending = False
                self._next_read = now + (self.fallback_poll if self.postgres else self.poll_interval)
                if not self.postgres:
                    self._sqlite_changed()  # the baseline first: a commit after it wakes the next wait
                events = self._read()
                if events:
                    return events
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            pause = min(remaining, max(0.0, self._next_read - time.monotonic()))
            woken = self._listen(pause) if self.postgres else self._sqlite_wait(pause)
            if woken:
                self._pending = True

    def close(self) -> None:
        if self._watch is not None:
            watch, self._watch, self._data_version = self._watch, None, None
            with contextlib.suppress(Exception):
                watch.close()
        if self._listener is not None:
            try:
                self._listener.close()
            finally:
                self._listener = None

    def __enter__(self) -> BarSubscriber:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _read(self) -> list[BarEvent]:
        t = market_data_events.c
        query = select(t.id, *(t[c] for c in _EVENT_COLUMNS)).where(t.id > self.last_id)
        if self.symbols is not None:
            query = query.where(t.symbol.in_(sorted(self.symbols)))
        if self.intervals is not None:
            query = query.where(t.interval.in_(sorted(self.intervals)))
        if self.sources is not None:
            query = query.where(t.source.in_(sorted(self.sources)))
        query = query.order_by(t.id).limit(self.batch_limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            if not rows:
                # Filtered out or nothing new: move past what exists so the next read stays short.
                newest = conn.execute(select(func.max(t.id))).scalar()
                oldest = conn.execute(select(func.min(t.id))).scalar()
                if oldest is not None and oldest > self.last_id + 1 and self.last_id > 0:
                    self.gap = True
                if newest is not None and newest > self.last_id:
                    self.last_id = int(newest)
                return []
            if self.last_id > 0:
                oldest = conn.execute(select(func.min(t.id))).scalar()
                if oldest is not None and oldest > self.last_id + 1:
                    self.gap = True
        events = [
            BarEvent(
                int(r[0]),
                str(r[1]),
                str(r[2]),
                str(r[3]),
                r[4],
                float(r[5]),
                float(r[6]),
                float(r[7]),
                float(r[8]),
                int(r[9]),
                bool(r[10]),
            )
            for r in rows
        ]
        self.last_id = events[-1].event_id
        if len(rows) == self.batch_limit:
            self._pending = True  # more to read right away
        return events

    def _listen(self, timeout: float) -> bool:
        """Wait on LISTEN up to ``timeout``; True when a notification for our intervals arrived."""
        try:
            if self._listener is None:
                self._listener = _connect_listener(self.engine)
            wanted = False
            for notification in self._listener.notifies(timeout=timeout, stop_after=1):
                wanted = wanted or self._relevant(notification.payload)
            # Drain what else is queued without waiting, so a burst costs one read.
            for notification in self._listener.notifies(timeout=0.0):
                wanted = wanted or self._relevant(notification.payload)
            return wanted
        except Exception as exc:  # the listening connection dropped: read, reconnect next time
            log.warning("LISTEN %s failed (%s); reconnecting", CHANNEL, exc)
            self.close()
            time.sleep(min(timeout, 1.0))
            return True

    def _sqlite_wait(self, pause: float) -> bool:
        """Sleep up to ``pause`` seconds in ``change_poll`` steps; True as soon as another connection
        committed (a new bar may be announced), False when the time is up."""
        end = time.monotonic() + pause
        while True:
            if self._sqlite_changed():
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.change_poll, left))

    def _sqlite_changed(self) -> bool:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return False  # one connection's own database: nothing to watch, the poll reads it
        try:
            if self._watch is None:
                # Its own connection, outside the engine's pool (not one of its connections held for
                # good, and untouched by engine.dispose()); autocommit: it never holds a transaction.
                self._watch = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            version = int(self._watch.execute("PRAGMA data_version").fetchone()[0])
        except Exception as exc:  # the file went away or is unreadable: let the read report it
            log.debug("PRAGMA data_version failed: %s", exc)
            self.close()
            return True
        changed = self._data_version is not None and version != self._data_version
        self._data_version = version
        return changed

    def _relevant(self, payload: str) -> bool:
        try:
            intervals = set(json.loads(payload).get("intervals", []))
        except ValueError:
            return True
        return self.intervals is None or not intervals or bool(intervals & self.intervals)


def _connect_listener(engine: Engine) -> Any:
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg.connect(url, autocommit=True, application_name="workstation-listen")
    connection.execute(f"LISTEN {CHANNEL}")
    return connection


class BarSubscription:
    """A ``BarSubscriber`` on its own thread, handing each new bar to ``callback`` (for GUIs and services)."""

    def __init__(self, subscriber: BarSubscriber, callback: Callable[[BarEvent], None]) -> None:
        self.subscriber = subscriber
        self.callback = callback
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bar-subscription", daemon=True)

    def start(self) -> BarSubscription:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self.subscriber.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                events = self.subscriber.wait(0.5)
            except Exception:
                log.exception("reading announced bars failed; retrying")
                self._stop.wait(1.0)
                continue
            for event in events:
                try:
                    self.callback(event)
                except Exception:
                    log.exception("bar subscriber callback failed on %s %s", event.symbol, event.timestamp)
