"""The one background writer every log row goes through.

Callers append to an in-memory queue (a deque: appending is atomic and takes well under a
microsecond) and return. A single thread wakes every ``flush_interval`` or as soon as
``batch_size`` items wait, turns them into cleaned rows and writes them in one transaction.

When the database cannot be reached the rows go to the spill file instead, and keep going there
while anything is spilled, so the order rows were produced in is the order they are stored in.
Every ``retry_interval`` the writer replays the spill, batch by batch, acknowledging each batch
after its commit; when the spill is empty, rows flow straight to the database again.

Queue full (the writer cannot keep up, or is stuck on a database that hangs): the caller waits up
to ``block_timeout`` for room, then writes its row to the spill file itself. Nothing is dropped.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workstation.monitoring.redaction import Redactor, redactor
from workstation.monitoring.rows import clean_row, decode_spill, encode_spill, log_record_rows
from workstation.monitoring.sinks import DatabaseSink, Row, is_data_error
from workstation.monitoring.spill import SpillStore

_log = logging.getLogger("workstation.monitoring.writer")

# Queue items are small tuples tagged by their first element, so emit() allocates almost nothing:
#   ("L", logger name, level, created, message, … )             a logging record (see rows.log_record_rows)
#   ("R", table, row)                                            a typed row (trading event, timing …)
#   ("F", threading.Event)                                       a flush marker
Item = tuple[Any, ...]


@dataclass
class WriterStats:
    written: int = 0
    spilled: int = 0
    replayed: int = 0
    rejected: int = 0
    overflowed: int = 0
    outages: int = 0


class LogWriter:
    def __init__(
        self,
        sink: DatabaseSink,
        spill: SpillStore,
        *,
        batch_size: int = 1000,
        flush_interval: float = 0.25,
        max_queue: int = 100_000,
        block_timeout: float = 0.5,
        retry_interval: float = 2.0,
        cleaner: Redactor | None = None,
    ) -> None:
        self.sink = sink
        self.spill = spill
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.block_timeout = block_timeout
        self.retry_interval = retry_interval
        self.stats = WriterStats()
        self._redactor = cleaner or redactor()
        self._queue: collections.deque[Item] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._in_outage = False
        self._next_retry = 0.0
        self._thread = threading.Thread(target=self._run, name="workstation-log-writer", daemon=True)
        self._thread_id: int | None = None

    # -- caller side -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Item) -> None:
        """Queue one item; the hot path is a length check and a deque append."""
        queue = self._queue
        if len(queue) >= self.max_queue:
            self._overflow(item)
            return
        queue.append(item)
        if len(queue) >= self.batch_size:
            self._wake.set()

    def _overflow(self, item: Item) -> None:
        self._wake.set()
        if threading.get_ident() != self._thread_id and not self._stopping:
            deadline = time.monotonic() + self.block_timeout
            while time.monotonic() < deadline:
                time.sleep(0.002)
                if len(self._queue) < self.max_queue:
                    self._queue.append(item)
                    return
        rows, markers = self._materialize([item])
        self.spill.append([encode_spill(t, r) for t, r in rows])
        self.stats.overflowed += len(rows)
        self.stats.spilled += len(rows)
        for marker in markers:
            marker.set()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything queued before this call is in the database or the spill file.

        Also makes one attempt to replay the spill. True when the writer confirmed in time.
        """
        if not self._thread.is_alive():
            return not self._queue
        done = threading.Event()
        self._queue.append(("F", done))
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Write everything, try the spill one last time, and stop the thread."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.spill.close()

    @property
    def in_outage(self) -> bool:
        return self._in_outage

    def pending(self) -> int:
        return len(self._queue)

    # -- writer thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        self._thread_id = threading.get_ident()
        try:
            self.spill.adopt_orphans()
        except OSError as exc:
            _log.warning("could not adopt earlier spill files: %s", exc)
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            stopping = self._stopping
            try:
                self._drain(force_replay=stopping)
            except Exception:  # the writer must survive anything a row can do to it
                _log.exception("log writer iteration failed")
            if stopping and not self._queue:
                break

    def _take(self, limit: int) -> list[Item]:
        items: list[Item] = []
        queue = self._queue
        while queue and len(items) < limit:
            items.append(queue.popleft())
        return items

    def _materialize(self, items: list[Item]) -> tuple[list[Row], list[threading.Event]]:
        rows: list[Row] = []
        markers: list[threading.Event] = []
        for item in items:
            tag = item[0]
            if tag == "L":
                rows.extend(log_record_rows(item))
            elif tag == "R":
                rows.append((item[1], item[2]))
            else:
                markers.append(item[1])
        cleaner = self._redactor
        return [(table, clean_row(table, row, cleaner)) for table, row in rows], markers

    def _drain(self, *, force_replay: bool = False) -> None:
        self._redactor.refresh()
        while self._queue:
            items = self._take(self.batch_size * 5)
            rows, markers = self._materialize(items)
            self._deliver(rows)
            if markers:
                self._replay()
                for marker in markers:
                    marker.set()
        if self.spill.has_pending() and (force_replay or time.monotonic() >= self._next_retry):
            self._replay()

    def _deliver(self, rows: list[Row]) -> None:
        if not rows:
            return
        if self.spill.has_pending():  # keep production order: join the end of the spill
            self._to_spill(rows)
            return
        try:
            self.sink.write(rows)
            self.stats.written += len(rows)
        except Exception as exc:
            if is_data_error(exc):
                self._write_individually(rows)
            else:
                self._enter_outage(exc)
                self._to_spill(rows)

    def _to_spill(self, rows: list[Row]) -> None:
        self.spill.append([encode_spill(t, r) for t, r in rows])
        self.stats.spilled += len(rows)

    def _enter_outage(self, exc: BaseException) -> None:
        self._next_retry = time.monotonic() + self.retry_interval
        if not self._in_outage:
            self._in_outage = True
            self.stats.outages += 1
            _log.warning(
                "log database unreachable (%s); keeping rows in %s until it is back",
                _first_line(exc),
                self.spill.directory,
            )

    def _replay(self) -> None:
        """Replay spilled rows in order; stops at the first failure (the next retry continues)."""
        while True:
            # Whatever arrived meanwhile joins the end of the spill, so order holds and the queue drains.
            if self._queue and not self._stopping:
                items = self._take(self.batch_size * 5)
                rows, markers = self._materialize(items)
                if rows:
                    self._to_spill(rows)
                for marker in markers:
                    marker.set()
            batch = self.spill.read_batch(self.batch_size * 5)
            if batch is None:
                break
            decoded: list[Row] = []
            for line in batch.lines:
                try:
                    decoded.append(decode_spill(line))
                except (ValueError, KeyError, TypeError) as exc:  # a damaged line: set aside, keep going
                    self._reject_text(line, exc)
            try:
                self.sink.write(decoded)
            except Exception as exc:
                if not is_data_error(exc):
                    self._enter_outage(exc)
                    return
                self._write_individually(decoded)
            self.spill.acknowledge(batch)
            self.stats.replayed += len(decoded)
        if self._in_outage:
            self._in_outage = False
            _log.warning("log database reachable again; spilled rows replayed")

    def _write_individually(self, rows: list[Row]) -> None:
        """A batch the database refused: keep every good row, set the bad ones aside with the reason."""
        for row in rows:
            try:
                self.sink.write([row])
                self.stats.written += 1
            except Exception as exc:
                if not is_data_error(exc):
                    self._enter_outage(exc)
                    self._to_spill([row])
                    continue
                self._reject_text(encode_spill(row[0], row[1]), exc)

    def _reject_text(self, line: str, exc: BaseException) -> None:
        self.stats.rejected += 1
        path: Path = self.spill.directory / "rejected.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"reason": _first_line(exc), "row": line}, ensure_ascii=False) + "\n")
        _log.error("a log row was refused by the database (%s); kept in %s", _first_line(exc), path)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
