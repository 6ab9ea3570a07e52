"""A ReplayServer in a child process: the window's demo replay, off the window's interpreter.

A replay server in the window's own process competes with the GUI thread for the interpreter lock
(building each minute's messages, packing frames); measured on the window, the GUI stalled several
times longer than with the same server in another process. So the window starts it here, in a
``spawn`` child (no inherited Qt state), and talks to it through its websocket like any client.

``ReplayProcess(url, ...).start()`` returns once the child listens (``url`` is its websocket base);
``connections`` counts the clients it served (shared memory, read any time); ``stop()`` ends it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import time
from datetime import datetime
from typing import Any

from workstation.errors import RefusedError


def _serve(database_url: str, options: dict[str, Any], ready: Any, stop: Any, connections: Any) -> None:
    from workstation.db.engine import create_db_engine
    from workstation.market.replay.server import ReplayServer

    engine = create_db_engine(database_url)
    try:
        server = ReplayServer(engine, **options).start()
    except Exception as exc:  # e.g. nothing stored to replay: the parent shows why
        ready.put(("error", f"{type(exc).__name__}: {exc}"))
        return
    ready.put(("url", server.url))
    try:
        while not stop.wait(0.2):
            connections.value = server.connections
    finally:
        server.stop()
        engine.dispose()


class ReplayProcess:
    def __init__(
        self,
        database_url: str,
        *,
        symbols: list[str] | None = None,
        interval: str = "1m",
        start: datetime | None = None,
        speed: float = 60.0,
        source: str | None = None,
        loop: bool = False,
    ) -> None:
        self.options: dict[str, Any] = {"symbols": symbols, "interval": interval, "start": start, "speed": speed,
                                        "source": source, "loop": loop}  # fmt: skip
        context = multiprocessing.get_context("spawn")
        self._ready: Any = context.Queue()
        self._stop = context.Event()
        self._connections: Any = context.Value("i", 0)
        self._process = context.Process(
            target=_serve,
            args=(database_url, self.options, self._ready, self._stop, self._connections),
            name="workstation-replay",
            daemon=True,
        )
        self.url = ""

    @property
    def connections(self) -> int:
        return int(self._connections.value)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1]) if self.url else 0

    def start(self, timeout: float = 60.0) -> ReplayProcess:
        self._process.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                kind, value = self._ready.get(timeout=0.2)
                break
            except queue.Empty:
                if not self._process.is_alive():
                    raise RefusedError("the replay process ended before it listened") from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise RefusedError(f"the replay process did not listen within {timeout:g} s") from None
        if kind == "error":
            self._process.join(5)
            raise RefusedError(f"the replay could not start: {value}")
        self.url = str(value)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout)
        with contextlib.suppress(Exception):
            self._ready.close()
