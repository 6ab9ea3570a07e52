"""The bar writer: streamed and back-filled bars into market_data, in batches, on its own thread.

* ``put`` never blocks the caller (the stream thread): bars go on a queue.
* The writer thread takes what arrived within ``max_delay`` (0.2 s) of the first waiting bar and
  writes it as one batch through the bar store (market.store: COPY on PostgreSQL, executemany on
  SQLite; idempotent on symbol, interval, timestamp and source), so a bar is stored well within a
  second of its arrival. Within a batch the last version of a bar wins: an updated bar revises it.
* Inserted and revised bars are announced in the same transaction (market.notify).
* Bars are validated first (market.validation); a bad bar is counted, logged and dropped, the rest
  are stored. When the database refuses a batch (down, locked), its bars stay queued and the write is
  retried with back-off, merged with newer bars: nothing streamed is dropped while the process lives.
* ``flush`` waits until everything put so far is stored; ``stop`` flushes and ends the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine

from workstation.market.frame import normalise_bars
from workstation.market.notify import announce, prune_events
from workstation.market.store import store_bars
from workstation.market.stream.events import StreamBar
from workstation.market.validation import validate_bars

log = logging.getLogger(__name__)

_Key = tuple[str, str, datetime]
_Values = tuple[float, float, float, float, int]
_PRUNE_EVERY = 600.0
_MAX_TAKE = 100_000  # queue items merged into one write at most


@dataclass
class WriterCounts:
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    batches: int = 0
    failed_writes: int = 0
    max_delay_seconds: float = 0.0  # longest wait of a bar between put() and its commit
    delays: list[float] = field(default_factory=list, repr=False)  # recent per-batch delays

    def as_dict(self) -> dict[str, float | int]:
        recent = sorted(self.delays[-1000:])
        median = recent[len(recent) // 2] if recent else 0.0
        return {
            "received": self.received,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "batches": self.batches,
            "failed_writes": self.failed_writes,
            "median_delay_seconds": round(median, 4),
            "max_delay_seconds": round(self.max_delay_seconds, 4),
        }


def checked_frame(pending: dict[_Key, _Values], source: str) -> tuple[pd.DataFrame, int]:
    """The bars waiting to be written as a bar frame, validated: a bad bar is logged and left out
    (the second value counts those)."""
    frame = pd.DataFrame(
        {
            "row": range(1, len(pending) + 1),
            "symbol": [k[0] for k in pending],
            "interval": [k[1] for k in pending],
            "timestamp": pd.to_datetime([k[2] for k in pending], utc=True),
            "open": [v[0] for v in pending.values()],
            "high": [v[1] for v in pending.values()],
            "low": [v[2] for v in pending.values()],
            "close": [v[3] for v in pending.values()],
            "volume": [v[4] for v in pending.values()],
            "source": source,
        }
    )
    good, rejects = validate_bars(normalise_bars(frame))
    for reject in rejects:
        log.warning("streamed bar of %s not stored: %s", reject.symbol, reject.reason)
    return good, len(rejects)


class BarWriter:
    def __init__(
        self, engine: Engine, *, source: str = "alpaca", max_delay: float = 0.2, retry_max: float = 30.0
    ) -> None:
        self.engine = engine
        self.source = source
        self.max_delay = max_delay
        self.retry_max = retry_max
        self.counts = WriterCounts()
        # (arrival time, bars) per put; None asks the thread to finish.
        self._queue: queue.SimpleQueue[tuple[float, list[tuple[_Key, _Values]]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._put_seq = 0
        self._done_seq = 0
        self._progress = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._run, name="bar-writer", daemon=True)
        self._last_prune = time.monotonic()

    # ------------------------------------------------------------------ producer side (any thread)
    def put(self, bar: StreamBar) -> None:
        values = (bar.open, bar.high, bar.low, bar.close, int(bar.volume))
        self._enqueue([((bar.symbol, bar.interval, bar.timestamp), values)])

    def put_frame(self, bars: pd.DataFrame) -> None:
        """Bars in the bar-frame layout (a back-fill): stored with the writer's source."""
        if bars.empty:
            return
        items = [
            ((str(s), str(i), pd.Timestamp(t).to_pydatetime()), (float(o), float(h), float(lo), float(c), int(v)))
            for s, i, t, o, h, lo, c, v in zip(
                bars["symbol"],
                bars["interval"],
                bars["timestamp"],
                bars["open"],
                bars["high"],
                bars["low"],
                bars["close"],
                bars["volume"],
                strict=True,
            )
        ]
        self._enqueue(items)

    def _enqueue(self, items: list[tuple[_Key, _Values]]) -> None:
        with self._lock:
            self._put_seq += 1
            self.counts.received += len(items)
        self._queue.put((time.monotonic(), items))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything put before this call is stored (or ``timeout``); True when it is."""
        deadline = time.monotonic() + timeout
        with self._progress:
            target = self._put_seq
            while self._done_seq < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return self._done_seq >= target
                self._progress.wait(min(remaining, 0.1))
        return True

    def start(self) -> BarWriter:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> bool:
        """Store what is queued (up to ``timeout``), then end the thread; True when nothing was left."""
        flushed = self.flush(timeout)
        self._queue.put(None)
        self._thread.join(timeout=5.0)
        return flushed

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        pending: dict[_Key, _Values] = {}
        oldest = 0.0  # arrival of the oldest pending bar (monotonic)
        taken = 0  # queue items merged into ``pending``
        retry_delay, next_attempt = 0.5, 0.0
        stopping = False
        while True:
            now = time.monotonic()
            if stopping:
                timeout = max(0.0, next_attempt - now) if pending else 0.0
            elif pending:
                timeout = max(0.0, max(oldest + self.max_delay, next_attempt) - now)
            else:
                timeout = 0.5
            for item in self._take(timeout):
                if item is None:
                    stopping = True
                    continue
                arrived, items = item
                oldest = arrived if not pending else min(oldest, arrived)
                pending.update(items)  # a later version of a bar replaces an earlier one
                taken += 1
            now = time.monotonic()
            if pending and (stopping or now >= oldest + self.max_delay) and now >= next_attempt:
                if self._write(pending, oldest):
                    pending, retry_delay, next_attempt = {}, 0.5, 0.0
                    self._finished(taken)
                    taken = 0
                elif stopping and retry_delay >= self.retry_max:
                    log.error("giving up on %d unstored bars at shutdown: the database keeps refusing", len(pending))
                    self._finished(taken)
                    return
                else:
                    next_attempt = now + retry_delay
                    retry_delay = min(retry_delay * 2, self.retry_max)
            elif not pending and taken:
                self._finished(taken)  # empty puts
                taken = 0
            if stopping and not pending and self._queue.empty():
                return
            self._maybe_prune()

    def _take(self, timeout: float) -> list[tuple[float, list[tuple[_Key, _Values]]] | None]:
        """Everything waiting on the queue, after waiting up to ``timeout`` for the first item: behind a
        burst, one write carries all of it instead of one bar per transaction."""
        try:
            taken = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(taken) < _MAX_TAKE:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return taken

    def _finished(self, taken: int) -> None:
        with self._progress:
            self._done_seq += taken
            self._progress.notify_all()

    def _write(self, pending: dict[_Key, _Values], oldest: float | None) -> bool:
        good, rejected = checked_frame(pending, self.source)
        try:
            result = store_bars(self.engine, good, workers=1, on_written=announce)
        except Exception as exc:  # the database is unreachable: keep the bars, retry
            log.error("storing %d streamed bars failed: %s", len(good), exc)
            result = None
        if result is None or result.failures:
            if result is not None:
                log.error("storing streamed bars failed: %s", next(iter(result.failures.values())))
            with self._lock:
                self.counts.failed_writes += 1
            return False
        delay = time.monotonic() - oldest if oldest is not None else 0.0
        with self._lock:
            c = self.counts
            c.rejected += rejected
            c.batches += 1
            for counts in result.counts.values():
                c.inserted += counts.inserted
                c.updated += counts.updated
                c.unchanged += counts.unchanged
            c.max_delay_seconds = max(c.max_delay_seconds, delay)
            c.delays.append(delay)
            del c.delays[:-2000]
        return True

    def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < _PRUNE_EVERY:
            return
        self._last_prune = time.monotonic()
        try:
            removed = prune_events(self.engine)
            if removed:
                log.info("pruned %d bar announcements older than a day", removed)
        except Exception as exc:
            log.warning("pruning bar announcements failed: %s", exc)


def bars_to_frame(bars: Iterable[StreamBar], source: str) -> pd.DataFrame:
    """Stream bars in the bar-frame layout (for tests and tools that store bars directly)."""
    rows = list(bars)
    return normalise_bars(
        pd.DataFrame(
            {
                "row": range(1, len(rows) + 1),
                "symbol": [b.symbol for b in rows],
                "interval": [b.interval for b in rows],
                "timestamp": [b.timestamp for b in rows],
                "open": [b.open for b in rows],
                "high": [b.high for b in rows],
                "low": [b.low for b in rows],
                "close": [b.close for b in rows],
                "volume": [b.volume for b in rows],
                "source": source,
            }
        )
    )
