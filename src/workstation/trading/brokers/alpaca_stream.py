"""Alpaca trade_updates in its own thread with its own event loop.

alpaca-py's TradingStream reconnects with exponential backoff; this subclass also calls
``on_connected`` after every (re)connection, off the event loop, so the order manager reconciles
whatever happened while the stream was down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from alpaca.trading.stream import TradingStream

from workstation.trading.brokers.alpaca_parse import report_from_trade_update
from workstation.trading.credentials import AlpacaCredentials
from workstation.trading.domain import ExecutionReport

log = logging.getLogger(__name__)


class ReconcilingTradingStream(TradingStream):
    def __init__(self, *args: Any, on_connected: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_connected = on_connected
        self.connections = 0
        self.connected = threading.Event()

    async def _start_ws(self) -> None:
        await super()._start_ws()  # type: ignore[no-untyped-call]
        self.connections += 1
        if self.on_connected is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.on_connected)
            except Exception:
                log.exception("reconciliation after (re)connecting the trade stream failed")
        self.connected.set()


class TradeUpdatesThread:
    def __init__(
        self,
        credentials: AlpacaCredentials,
        on_report: Callable[[ExecutionReport], None],
        *,
        on_connected: Callable[[], None] | None = None,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.on_report = on_report
        self.stream = ReconcilingTradingStream(
            credentials.key_id,
            credentials.secret_key,
            paper=credentials.paper,
            raw_data=True,
            url_override=credentials.stream_url,
            on_connected=on_connected,
        )
        self.stream._reconnect_min_backoff = min_backoff
        self.stream._reconnect_max_backoff = max_backoff
        self.stream.subscribe_trade_updates(self._on_message)
        self.thread = threading.Thread(target=self.stream.run, name="alpaca-trade-updates", daemon=True)

    async def _on_message(self, message: dict[str, Any]) -> None:
        try:
            report = report_from_trade_update(message["data"])
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            log.warning("unreadable trade update skipped: %s", exc)
            return
        # Database writes happen off the event loop so pings keep flowing.
        await asyncio.get_running_loop().run_in_executor(None, self.on_report, report)

    def start(self) -> None:
        self.thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self.stream.connected.wait(timeout)

    @property
    def connections(self) -> int:
        return int(self.stream.connections)

    def stop(self) -> None:
        loop = self.stream._loop
        if loop is not None and loop.is_running():
            try:
                self.stream.stop()
                # Closing the socket wakes the consumer now instead of after its 5 s receive timeout.
                asyncio.run_coroutine_threadsafe(self.stream.close(), loop).result(5)
            except (RuntimeError, TimeoutError, OSError):
                pass
        self.thread.join(timeout=10)
