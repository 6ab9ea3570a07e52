"""One strategy running from the strategies panel: the same TradingLoop, signal sources and order
manager as ``workstation trade run --strategy``, in a job thread of the window.

The job opens its own trading session for the chosen broker (like ``trade run``: the database is the
single source of truth for orders, so this session and the window's ticket may trade side by side),
runs ``TradingLoop.run_live`` on the feed's announced bars until stopped, and reports every bar's
outcome and a fresh ``RunSnapshot`` through queued Qt signals. Stopping leaves positions alone unless
``flatten`` was asked for; then the job closes them with market orders before it ends.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QObject, Signal

from workstation.jobs import CancelToken, ProgressCallback
from workstation.trading.live import TradingLoop
from workstation.trading.live_book import RunBook, RunSnapshot, flatten
from workstation.trading.live_decide import BarOutcome
from workstation.trading.live_signals import OnlineModelSignals, SignalSource, SmaCrossSignals
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig, Sizing
from workstation.trading.strategies.sma_cross import SmaCross

if TYPE_CHECKING:
    from workstation.gui.context import WorkstationContext
    from workstation.gui.workers import JobHandle

logger = logging.getLogger(__name__)
_run_ids = itertools.count(1)

Kind = Literal["sma_cross", "model"]
IDLE_REFRESH_S = 1.0  # between bars, the strategy's orders and positions are re-read at most this often


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    kind: Kind
    symbols: tuple[str, ...]
    broker_key: str = "paper"  # a TradingService choice: paper, alpaca, alpaca-live
    interval: str = "1d"
    fast: int = 15
    slow: int = 30
    quantity: Decimal = Decimal(100)
    model_id: str = ""
    threshold: Decimal = Decimal("0.55")
    exit_threshold: Decimal = Decimal("0.5")
    sizing: Sizing = "fixed_shares"
    notional: Decimal = Decimal(10_000)
    poll_seconds: float = 5.0

    @property
    def label(self) -> str:
        what = f"sma_cross {self.fast}/{self.slow}" if self.kind == "sma_cross" else f"model {self.model_id}"
        return f"{what} on {', '.join(self.symbols)}"

    def strategy(self) -> ModelStrategy | SmaCross:
        if self.kind == "sma_cross":
            return SmaCross(fast=self.fast, slow=self.slow, quantity=self.quantity)
        return ModelStrategy(
            ModelStrategyConfig(
                model_id=self.model_id,
                entry_threshold=self.threshold,
                exit_threshold=self.exit_threshold,
                sizing=self.sizing,
                shares=self.quantity,
                notional=self.notional,
            )
        )

    def signals(self, engine: Any, strategy: ModelStrategy | SmaCross) -> SignalSource:
        if isinstance(strategy, SmaCross):
            return SmaCrossSignals(strategy.fast, strategy.slow)
        return OnlineModelSignals(engine, strategy.config.model_id, self.interval)


class StrategyRun(QObject):
    """The GUI-side face of one running strategy; its signals arrive on the GUI thread (queued)."""

    outcome = Signal(object)  # BarOutcome
    snapshot = Signal(object)  # RunSnapshot
    notice = Signal(str, str)  # kind, message
    stateChanged = Signal(str)
    # Emitted on the GUI thread once ``state``/``latest`` hold the new values: views read the run's
    # attributes from this one, never from the worker's queued signals (whose slots may run in between).
    changed = Signal()

    def __init__(self, context: WorkstationContext, config: StrategyConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_id = next(_run_ids)
        self.context = context
        self.config = config
        self.state = "starting"
        self.error: str | None = None
        self.flatten_on_stop = False
        self.latest: RunSnapshot | None = None
        self.outcomes: list[BarOutcome] = []
        self.flattened: list[str] = []  # order ids placed by "flatten"
        self.handle: JobHandle | None = None
        self.stateChanged.connect(self._remember_state)
        self.snapshot.connect(self._remember_snapshot)
        self.outcome.connect(self.outcomes.append)

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running", "stopping")

    def start(self) -> None:
        self.handle = self.context.jobs.submit(
            f"Strategy {self.config.label}", self._job, on_success=self._ended, on_failure=self._failed
        )
        self.handle.cancelled.connect(lambda: self._ended(None))

    def stop(self, *, flatten_positions: bool = False) -> None:
        """Stop after the bar being decided (if any); with ``flatten_positions`` close its symbols' positions."""
        if not self.running or self.handle is None:
            return
        self.flatten_on_stop = flatten_positions
        self.stateChanged.emit("stopping")
        self.handle.cancel()

    # -- the job (its own thread) --------------------------------------------------------------------
    def _job(self, _progress: ProgressCallback, cancel: CancelToken) -> list[str]:
        from workstation.gui.trading_service import open_broker_session

        engine = self.context.engine
        choice = self.context.trading.choice(self.config.broker_key)
        strategy = self.config.strategy()
        signals = self.config.signals(engine, strategy)
        session = open_broker_session(engine, choice)
        book = RunBook(strategy.name)
        manager = session.manager
        try:
            loop = TradingLoop(engine, manager, strategy, interval=self.config.interval, signals=signals)

            def on_outcome(outcome: BarOutcome) -> None:
                book.record(outcome, outcome.close)
                self.outcome.emit(outcome)
                self.snapshot.emit(book.snapshot(manager))

            refreshed = [time.monotonic()]

            def on_idle() -> None:
                # Fills may be booked after the order returned (a remote broker's always are): re-read.
                if book.orders and time.monotonic() - refreshed[0] >= IDLE_REFRESH_S:
                    refreshed[0] = time.monotonic()
                    self.snapshot.emit(book.snapshot(manager))

            def on_notice(kind: str, message: str) -> None:
                if kind == "ready":
                    self.stateChanged.emit("running")
                self.notice.emit(kind, message)

            loop.run_live(
                list(self.config.symbols),
                poll_seconds=self.config.poll_seconds,
                cancel=cancel,
                on_outcome=on_outcome,
                on_notice=on_notice,
                on_idle=on_idle,
            )
            placed: list[str] = []
            if self.flatten_on_stop:
                orders, refused = flatten(manager, list(self.config.symbols), strategy.name)
                book.add_closing(orders)
                placed = [o.order_id for o in orders]
                for reason in refused:
                    self.notice.emit("flatten_refused", reason)
            self.snapshot.emit(book.snapshot(manager))
            return placed
        finally:
            session.close()

    # -- GUI thread ----------------------------------------------------------------------------------
    def _remember_state(self, state: str) -> None:
        self.state = state
        self.changed.emit()

    def _remember_snapshot(self, snapshot: RunSnapshot) -> None:
        self.latest = snapshot
        self.changed.emit()

    def _ended(self, result: object) -> None:
        if isinstance(result, list):
            self.flattened = [str(x) for x in result]
        self.stateChanged.emit("stopped")

    def _failed(self, message: str) -> None:
        self.error = message
        self.stateChanged.emit("failed")
