"""The window's trading sessions: one ``TradingSession`` per broker kind, opened lazily off the GUI thread.

The ticket, the blotter and the status bar share these sessions (one order manager per broker, so
the in-memory open orders, positions and risk state are never split between panels). Every use of
a session holds that session's lock: the paper broker simulates fills in plain Python state, and
two workers must not place orders into it at the same moment. Sessions are closed on quit and
when the database changes (they belong to the old engine).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from workstation.errors import ConfigurationError
from workstation.gui.background import BackgroundCalls, Callback
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.trading import credentials as trading_credentials
from workstation.trading.session import TradingSession, open_session

if TYPE_CHECKING:
    from workstation.gui.context import WorkstationContext

logger = logging.getLogger(__name__)
R = TypeVar("R")
SessionJob = Callable[[TradingSession, ProgressCallback, CancelToken], Any]


@dataclass(frozen=True, slots=True)
class BrokerChoice:
    key: str  # "paper", "alpaca" (Alpaca's paper account) or "alpaca-live"
    broker: str  # the broker name stored with orders: "paper" or "alpaca"
    live: bool
    label: str


PAPER = BrokerChoice("paper", "paper", False, "Paper (simulated)")
ALPACA_PAPER = BrokerChoice("alpaca", "alpaca", False, "Alpaca paper")
ALPACA_LIVE = BrokerChoice("alpaca-live", "alpaca", True, "Alpaca LIVE (real money)")
_ALL = {c.key: c for c in (PAPER, ALPACA_PAPER, ALPACA_LIVE)}


def _settings_credentials() -> tuple[str, str, bool] | None:
    """Keys saved by the settings dialog (environment, keyring or its 0600 file): (key, secret, paper)."""
    from workstation import credentials

    try:
        found = credentials.load_alpaca_credentials()
    except ConfigurationError as exc:
        logger.warning("cannot read the saved Alpaca keys: %s", exc)
        return None
    if found is None:
        return None
    creds, _location = found
    return creds.key_id, creds.secret_key, creds.paper


def available_choices() -> list[BrokerChoice]:
    """Paper always; Alpaca when keys are configured, live only when the keys are marked for live trading."""
    choices = [PAPER]
    saved = _settings_credentials()
    if saved is not None:
        choices.append(ALPACA_PAPER if saved[2] else ALPACA_LIVE)
        return choices
    try:
        trading_credentials.load_credentials(live=False)
    except ConfigurationError:
        return choices
    choices.append(ALPACA_PAPER)
    return choices


def open_broker_session(context_engine: Any, choice: BrokerChoice) -> TradingSession:
    if choice.broker == "paper":
        return open_session(context_engine, "paper")
    from workstation.trading.brokers.alpaca import AlpacaBroker

    broker = AlpacaBroker(trading_credentials.load_credentials(live=choice.live))
    session = open_session(context_engine, "alpaca", live=choice.live, broker=broker)
    try:  # fills arrive on the trade_updates stream; without it they show at the next reconciliation
        broker.start_stream()
    except Exception as exc:
        logger.warning("Alpaca trade stream not started: %s", exc)
    return session


class TradingService(QObject):
    choicesChanged = Signal()
    currentChanged = Signal(str)
    ordersChanged = Signal(str)  # broker name ("paper"/"alpaca") whose orders changed
    stateChanged = Signal(str, str)  # broker key, state text

    def __init__(self, context: WorkstationContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.calls = BackgroundCalls(2, self)
        self.session_factory: Callable[[Any, BrokerChoice], TradingSession] = open_broker_session
        self._sessions: dict[str, TradingSession] = {}
        self._locks = {key: threading.RLock() for key in _ALL}
        self._guard = threading.Lock()
        self._choices: list[BrokerChoice] = [PAPER]
        self._current = PAPER.key
        self.states: dict[str, str] = {}
        self.stateChanged.connect(self._remember_state)
        context.engineChanged.connect(self.reset)

    # -- brokers -----------------------------------------------------------------------------------------
    def choices(self) -> list[BrokerChoice]:
        return list(self._choices)

    def choice(self, key: str) -> BrokerChoice:
        return _ALL[key]

    def key_for_broker(self, broker: str) -> str:
        """The session key that handles orders stored with broker name ``broker``."""
        if broker == "paper":
            return PAPER.key
        for choice in self._choices:
            if choice.broker == broker:
                return choice.key
        with self._guard:
            opened = [key for key in self._sessions if _ALL[key].broker == broker]
        return opened[0] if opened else ALPACA_PAPER.key

    def refresh_choices(self) -> None:
        """Look for Alpaca keys in the background (a keyring may take a moment to answer)."""
        self.calls.run(available_choices, self._set_choices)

    def _set_choices(self, choices: Any, error: str | None) -> None:
        if error is not None or not choices:
            return
        self._choices = list(choices)
        if self._current not in {c.key for c in self._choices}:
            self.set_current(PAPER.key)
        self.choicesChanged.emit()

    @property
    def current(self) -> str:
        return self._current

    def set_current(self, key: str) -> None:
        if key in _ALL and key != self._current:
            self._current = key
            self.currentChanged.emit(key)

    # -- sessions (call ``use`` only off the GUI thread) ---------------------------------------------------
    def use(self, key: str, fn: Callable[[TradingSession], R]) -> R:
        with self._locks[key]:
            with self._guard:
                session = self._sessions.get(key)
            if session is None:
                session = self._open(key)
            return fn(session)

    def _open(self, key: str) -> TradingSession:
        choice = _ALL[key]
        self.stateChanged.emit(key, "connecting…")
        try:
            session = self.session_factory(self._context.engine, choice)
        except Exception as exc:
            self.stateChanged.emit(key, f"unavailable: {exc}")
            raise
        with self._guard:
            self._sessions[key] = session
        self.stateChanged.emit(key, "connected" if choice.broker != "paper" else "ready")
        return session

    def open_keys(self) -> list[str]:
        with self._guard:
            return list(self._sessions)

    def submit_job(
        self,
        key: str,
        label: str,
        fn: SessionJob,
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
        correlation_id: str | None = None,
    ) -> JobHandle:
        """A user action on a session (order, cancel, kill switch) as a job: status bar, failure toast."""

        def job(progress: ProgressCallback, cancel: CancelToken) -> Any:
            return self.use(key, lambda session: fn(session, progress, cancel))

        return self._context.jobs.submit(
            label, job, on_success=on_success, on_failure=on_failure, correlation_id=correlation_id
        )

    def quietly(self, key: str, fn: Callable[[TradingSession], Any], callback: Callback | None = None) -> None:
        """A background read on a session (preview, account figures): no status-bar job."""
        self.calls.run(lambda: self.use(key, fn), callback)

    def _remember_state(self, key: str, state: str) -> None:
        self.states[key] = state

    def reset(self) -> None:
        """Forget the sessions (the database changed): close them in the background."""
        with self._guard:
            sessions, self._sessions = list(self._sessions.items()), {}
        for key, session in sessions:
            self.calls.run(functools.partial(self._close_one, key, session))

    def _close_one(self, key: str, session: TradingSession) -> None:
        with self._locks[key]:
            try:
                session.close()
            except Exception:
                logger.warning("closing the %s session failed", key, exc_info=True)
        self.stateChanged.emit(key, "closed")

    def close(self, timeout_ms: int = 5000) -> None:
        """On quit: wait for background reads, then close every session."""
        self.calls.shutdown(timeout_ms)
        with self._guard:
            sessions, self._sessions = list(self._sessions.items()), {}
        for key, session in sessions:
            self._close_one(key, session)
