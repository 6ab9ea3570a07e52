"""The window's trading sessions: one ``TradingSession`` per broker kind, opened lazily off the GUI thread.

The ticket, the blotter and the status bar share these sessions (one order manager per broker, so
the in-memory open orders, positions and risk state are never split between panels). Every use of
a session holds that session's lock: the paper broker simulates fills in plain Python state, and
two workers must not place orders into it at the same moment. Sessions are closed on quit and
when the database changes (they belong to the old engine).

The service also holds what every trading panel must agree on: whether trading is halted (the
database is the truth: the kill switch of any process halts, read every few seconds and right after
a kill switch or a resume here), the latest account read per broker (so a ticket previewing on
every keystroke does not call a remote API each time), and the one way to resume trading. Its calls
into the trading core are few and narrow (``preview_order``, ``halted_reason``, ``resume_trading``,
the order store's open orders) so that the core can change underneath without the panels noticing.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from workstation.errors import ConfigurationError
from workstation.gui.background import BackgroundCalls, Callback
from workstation.gui.workers import JobHandle
from workstation.jobs import CancelToken, ProgressCallback
from workstation.trading import credentials as trading_credentials
from workstation.trading.domain import Account, OrderRequest, TradingError
from workstation.trading.preview import RiskPreview, preview_order
from workstation.trading.repository import SqlOrderStore
from workstation.trading.session import TradingSession, halted_reason, open_session, resume_trading

if TYPE_CHECKING:
    from workstation.gui.context import WorkstationContext

logger = logging.getLogger(__name__)
R = TypeVar("R")
SessionJob = Callable[[TradingSession, ProgressCallback, CancelToken], Any]
HALT_POLL_MS = 3000
ACCOUNT_TTL_S = 5.0  # a remote account is read at most this often for previews (API rate limits)


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
    haltChanged = Signal(object)  # the halt reason (str), or None once trading is resumed
    accountChanged = Signal(str)  # broker key whose account figures were read anew and differ
    fillsChanged = Signal()  # fills arrived (positions may have moved): previews are recomputed

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
        self._halted: str | None = None
        self._halt_reading = False
        self._schema_ready = False  # set when the window announces a database with the schema
        self._accounts: dict[str, tuple[float, Account]] = {}
        self._account_guard = threading.Lock()
        self.stateChanged.connect(self._remember_state)
        context.engineChanged.connect(self.reset)
        context.databaseChanged.connect(self._database_ready)
        self._halt_timer = QTimer(self, interval=HALT_POLL_MS)
        self._halt_timer.timeout.connect(self.refresh_halt)
        self._halt_timer.start()

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

    # -- halt ----------------------------------------------------------------------------------------------
    @property
    def halted(self) -> str | None:
        """The kill switch's reason while trading is halted (in any process), else None."""
        return self._halted

    def set_halted(self, reason: str | None) -> None:
        if reason != self._halted:
            self._halted = reason
            self.haltChanged.emit(reason)

    def _database_ready(self) -> None:
        self._schema_ready = True
        self.refresh_halt()

    def refresh_halt(self) -> None:
        """Read the halt from the database in the background (only once it is known to have the schema)."""
        if self._halt_reading or not self._schema_ready:
            return
        self._halt_reading = True
        engine = self._context.engine

        def done(result: Any, error: str | None) -> None:
            self._halt_reading = False
            if error is None:
                self.set_halted(result)

        self.calls.run(lambda: halted_reason(engine), done)

    def resume(self) -> JobHandle:
        """Lift the halt: recorded in the database, and every open session's risk engine resumes."""
        engine = self._context.engine

        def job(progress: ProgressCallback, cancel: CancelToken) -> str:
            resume_trading(engine)
            for key in self.open_keys():
                self.use(key, lambda s: s.manager.risk.resume() if s.manager.risk is not None else None)
            return "Trading resumed: new orders are accepted again"

        handle = self._context.jobs.submit(
            "Resume trading", job, on_success=lambda message: self._context.notify.emit("info", message)
        )
        handle.ended.connect(self.refresh_halt)
        return handle

    # -- account and preview ------------------------------------------------------------------------------
    def remember_account(self, key: str, account: Account) -> None:
        """An account read elsewhere (the status bar): previews reuse it, and panels hear when it changed."""
        with self._account_guard:
            previous = self._accounts.get(key)
            self._accounts[key] = (time.monotonic(), account)
        if previous is None or previous[1] != account:
            self.accountChanged.emit(key)

    def recent_account(self, key: str, session: TradingSession) -> Account | None:
        """The broker account read at most a few seconds ago (runs in a worker, under the session lock)."""
        if session.broker.name == "paper":
            return None  # local and instant: always current
        with self._account_guard:
            cached = self._accounts.get(key)
        if cached is not None and time.monotonic() - cached[0] < ACCOUNT_TTL_S:
            return cached[1]
        try:
            account = session.broker.account()
        except TradingError:
            return None  # preview_order reports it
        with self._account_guard:
            self._accounts[key] = (time.monotonic(), account)
        return account

    def preview(self, key: str, request: OrderRequest, callback: Callback) -> None:
        """The pre-trade preview of ``request`` on broker ``key``; ``callback(RiskPreview | None, error)``."""

        def run(session: TradingSession) -> RiskPreview:
            return preview_order(session, request, account=self.recent_account(key, session))

        self.quietly(key, run, callback)

    # -- quit guard ---------------------------------------------------------------------------------------
    def open_orders_warning(self, timeout_s: float = 3.0) -> str | None:
        """A sentence naming the open orders (every broker, from the database), or None when there are none.

        Blocks for at most ``timeout_s`` (it runs when the user quits); a database that does not answer
        in time is reported rather than taken as "no orders".
        """
        engine = self._context.engine
        future: Future[list[Any]] = Future()

        def read() -> None:
            try:
                future.set_result(SqlOrderStore(engine).open_orders())
            except Exception as exc:  # reported below as "could not check"
                future.set_exception(exc)

        threading.Thread(target=read, name="quit-guard-orders", daemon=True).start()
        try:
            orders = future.result(timeout=timeout_s)
        except FutureTimeout:
            return "Open orders could not be checked: the database did not answer."
        except Exception as exc:
            if "no such table" in str(exc).lower() or "does not exist" in str(exc).lower():
                return None  # a database without the trading schema has no orders
            return f"Open orders could not be checked: {exc}"
        if not orders:
            return None
        symbols = sorted({o.symbol for o in orders})
        shown = ", ".join(symbols[:5]) + (" …" if len(symbols) > 5 else "")
        return f"{len(orders)} open order(s) ({shown}) stay working at the broker after you quit."

    def _remember_state(self, key: str, state: str) -> None:
        self.states[key] = state

    def reset(self) -> None:
        """Forget the sessions (the database changed): close them in the background."""
        self._schema_ready = False
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
