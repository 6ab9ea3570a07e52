"""A LiveFeed in a child process: the window's data connection, off the window's interpreter.

The owner of the data connection does a lot of Python per message — alpaca-py's event loop, msgpack,
its models, our events, the bar writer and its notifications. In the window's own process all of that
competes with the GUI thread for the interpreter lock: at 5,000 messages/s the window stalled for
hundreds of milliseconds while painting (the GUI thread waiting for the lock on every call into the
Python item models). So the window runs its LiveFeed here, in a ``spawn`` child (no inherited Qt
state) with its own database engine, and gets only the events, in batches, through a pipe.

``RemoteFeed`` has the part of LiveFeed's interface the window uses — listeners registered before
``start()``, ``subscribe``/``unsubscribe`` on the open connection, ``symbols``, ``is_owner``,
``status()``, ``flush()``, ``summary()``, ``stop()`` — so the window's service does not know which it
holds.

* **Child → parent**: one sender thread ships whatever accumulated since its previous send (events,
  stored bars, the newest status) as one pickled message: a quiet feed sends each message at once, a
  busy one sends batches, and the parent does a few unpickles per flush instead of the stream's work.
  The status also goes every ``STATUS_EVERY`` seconds, so ``status()`` is never older than that.
* **Parent → child**: subscribe, unsubscribe, stop, and the calls ``flush``/``summary`` (answered
  through the same pipe). The child also stops (closing the connection and
  releasing the lease) when the pipe closes — the window exited or was killed — so a dead window never
  keeps an account's only data connection.
* Start-up failures (another feed run holds the connection, a database that is not there) are raised by
  ``start()`` in the parent as the child raised them.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from dataclasses import replace
from typing import Any

from workstation.market.notify import BarEvent
from workstation.market.stream.events import FeedStatus, MarketEvent
from workstation.market.stream.lease import describe_process
from workstation.market.stream.listeners import FeedListeners

log = logging.getLogger(__name__)

STATUS_EVERY = 0.25  # seconds between status messages while nothing else is sent
_CALLS = ("flush", "summary")  # LiveFeed methods the parent may call and wait for
_GATHER_S = 0.002  # the sender waits this long after the first event so a burst goes as one message


class _Outbox:
    """The child's side: events, stored bars and the newest status gathered for the sender thread."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self.events: list[MarketEvent] = []
        self.bars: list[BarEvent] = []
        self.status: FeedStatus | None = None

    def event(self, event: MarketEvent) -> None:
        with self._ready:
            self.events.append(event)
            if len(self.events) == 1:
                self._ready.notify()

    def bar(self, event: BarEvent) -> None:
        with self._ready:
            self.bars.append(event)
            self._ready.notify()

    def changed(self, status: FeedStatus) -> None:
        with self._ready:
            self.status = status
            self._ready.notify()

    def take(self, timeout: float) -> tuple[list[MarketEvent], list[BarEvent], FeedStatus | None]:
        with self._ready:
            if not (self.events or self.bars or self.status):
                self._ready.wait(timeout)
        if self.events and _GATHER_S:
            time.sleep(_GATHER_S)
        with self._ready:
            taken = (self.events, self.bars, self.status)
            self.events, self.bars, self.status = [], [], None
        return taken


def _run_child(pipe: Any, database_url: str, config: Any) -> None:
    from workstation.db.engine import create_db_engine
    from workstation.market.stream.service import LiveFeed

    engine = create_db_engine(database_url)
    feed = LiveFeed(engine, config)
    outbox = _Outbox()
    feed.add_listener(outbox.event)
    feed.add_bar_listener(outbox.bar)
    feed.add_status_listener(outbox.changed)
    try:
        feed.start()
    except Exception as exc:  # the parent raises it from start()
        _send_failure(pipe, exc)
        engine.dispose()
        return
    sending = threading.Event()
    sending.set()
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> bool:
        with send_lock:
            try:
                pipe.send(message)
                return True
            except (OSError, EOFError, BrokenPipeError):
                return False  # the window is gone: the control loop sees the pipe close and stops

    def sender() -> None:
        last_status = 0.0
        while sending.is_set():
            events, bars, _changed = outbox.take(STATUS_EVERY)
            now = time.monotonic()
            status = None
            if _changed is not None or now - last_status >= STATUS_EVERY:
                status, last_status = (feed.status(), feed.is_owner), now
            if (events or bars or status) and not send(("data", events, bars, status)):
                return

    send(("started", feed.is_owner, feed.status()))
    thread = threading.Thread(target=sender, name="feed-process-sender", daemon=True)
    thread.start()
    try:
        while True:
            try:
                command, *args = pipe.recv()
            except (EOFError, OSError):
                break  # the window exited (or was killed): give the connection back
            if command == "subscribe":
                feed.subscribe(args[0])
            elif command == "unsubscribe":
                feed.unsubscribe(args[0])
            elif command == "call" and args[1] in _CALLS:  # (request id, method, arguments)
                send(("reply", args[0], getattr(feed, args[1])(*args[2])))
            elif command == "stop":
                break
    finally:
        feed.stop(30.0)
        sending.clear()
        thread.join(2.0)
        events, bars, _ = outbox.take(0.0)
        send(("data", events, bars, (feed.status(), feed.is_owner)))
        send(("stopped",))
        engine.dispose()


def _send_failure(pipe: Any, exc: Exception) -> None:
    try:
        pipe.send(("failed", exc))
    except Exception:  # an exception that does not pickle: its text is enough
        pipe.send(("failed", RuntimeError(f"{type(exc).__name__}: {exc}")))


class RemoteFeed(FeedListeners):
    def __init__(self, database_url: str, config: Any, *, start_timeout: float = 60.0) -> None:
        super().__init__(config.symbols)
        self._url = database_url
        # The lease names the window (this process), which users know, not its feed process.
        self.config = config if config.description else replace(config, description=describe_process(config.role))
        self.start_timeout = start_timeout
        self._status = FeedStatus(state="starting", feed=config.feed)
        self._owner = False
        self._pipe: Any = None
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._stopped = threading.Event()
        self._stopping = threading.Event()
        self._send_lock = threading.Lock()
        self._replies: dict[int, Any] = {}
        self._replied = threading.Condition()
        self._next_request = 0

    # ------------------------------------------------------------------ LiveFeed's interface
    def start(self) -> RemoteFeed:
        """Start the child and wait until its LiveFeed started (raises what the child's ``start()`` raised)."""
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe(duplex=True)
        process = context.Process(
            target=_run_child, args=(there, self._url, self.config), name="workstation-live-feed", daemon=True
        )
        process.start()
        there.close()
        self._pipe, self._process = here, process
        if not here.poll(self.start_timeout):
            self._kill()
            raise TimeoutError(f"the live feed process did not start within {self.start_timeout:g} s")
        try:
            kind, *payload = here.recv()
        except (EOFError, OSError) as exc:
            self._kill()
            raise RuntimeError(f"the live feed process ended while starting (exit code {process.exitcode})") from exc
        if kind == "failed":
            process.join(5.0)
            self._kill()
            raise payload[0]
        self._owner, self._status = bool(payload[0]), payload[1]
        self._reader = threading.Thread(target=self._read, name="feed-process-reader", daemon=True)
        self._reader.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the child to close the connection and release the lease; wait for it (bounded)."""
        if self._process is None or self._stopped.is_set():
            return
        self._stopping.set()
        self._command("stop")
        if self._reader is not None:
            self._reader.join(timeout)
        self._process.join(max(1.0, timeout / 3))
        self._kill()
        self._stopped.set()

    def _symbols_changed(self, symbols: set[str], *, add: bool) -> None:
        self._command("subscribe" if add else "unsubscribe", sorted(symbols))

    @property
    def is_owner(self) -> bool:
        return self._owner

    def status(self) -> FeedStatus:
        return self._status

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the child stored every bar received so far (LiveFeed.flush, run in the child)."""
        return bool(self._call("flush", (timeout,), timeout + 5.0))

    def summary(self) -> dict[str, Any]:
        """The child's LiveFeed.summary() (what ``feed run`` prints)."""
        found = self._call("summary", (), 10.0)
        return dict(found) if isinstance(found, dict) else {}

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # ------------------------------------------------------------------ the pipe
    def _command(self, *message: Any) -> None:
        with self._send_lock, contextlib.suppress(OSError, EOFError, BrokenPipeError, AttributeError):
            self._pipe.send(message)

    def _call(self, method: str, args: tuple[Any, ...], timeout: float) -> Any:
        with self._replied:
            self._next_request += 1
            request = self._next_request
        self._command("call", request, method, args)
        with self._replied:
            if not self._replied.wait_for(lambda: request in self._replies, timeout):
                raise TimeoutError(f"the live feed process did not answer {method}() within {timeout:g} s")
            return self._replies.pop(request)

    def _read(self) -> None:
        ended = False  # the child said it stopped (asked to, or the pipe closing on its side)
        while True:
            try:
                kind, *payload = self._pipe.recv()
            except (EOFError, OSError):
                break
            if kind == "stopped":
                ended = True
                break
            if kind == "reply":
                with self._replied:
                    self._replies[payload[0]] = payload[1]
                    self._replied.notify_all()
                continue
            events, bars, status = payload
            for event in events:
                for listener in self._listeners:
                    listener(event)
            for bar in bars:
                for callback in self._bar_listeners:
                    callback(bar)
            if status is not None:
                changed = status[0].state != self._status.state
                self._status, self._owner = status
                if changed:
                    for notify in self._status_listeners:
                        notify(self._status)
        # The pipe closed without a word: the child died (its descriptors close before it can be reaped, so
        # is_alive() may still say yes for a moment — the silence is what tells).
        if not ended and not self._stopping.is_set() and self._process is not None:
            self._process.join(1.0)
            log.warning("the live feed process ended (exit code %s)", self._process.exitcode)
            self._status = self._status.with_changes(state="failed", last_error="the live feed process ended")
            for notify in self._status_listeners:
                notify(self._status)

    def _kill(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(5.0)
        with contextlib.suppress(OSError):
            self._pipe.close()
