"""One trading session: the store, a broker, risk and the order manager, wired the same way for the
CLI, the GUI and the live loop. Created once, handed to whoever needs it, closed at the end.

Start-up reconciles the book with the broker (open orders looked up, orders with an unknown outcome
re-checked, orders carrying our id prefix that the book lacks adopted). It is bounded: after
``startup_reconcile`` seconds (15 by default) the session carries on and says so in
``reconcile_note``, while the reconciliation finishes in the background — every write it makes is a
compare-and-set under the account lock, so it cannot trip over the work that follows.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from workstation.errors import ConfigurationError
from workstation.paths import user_data_dir
from workstation.trading import ledger
from workstation.trading.brokers.base import Broker
from workstation.trading.execution.timings import ExecutionTimings
from workstation.trading.order_manager import OrderManager, ReconcileResult
from workstation.trading.risk import RiskEngine, RiskLimits
from workstation.trading.store_sql import SqlOrderStore

log = logging.getLogger(__name__)

RISK_LIMITS_ENV = "WORKSTATION_RISK_LIMITS"
RISK_LIMITS_FILE = "risk_limits.json"
BROKERS = ("paper", "alpaca")


def load_risk_limits() -> RiskLimits:
    """Limits from WORKSTATION_RISK_LIMITS (JSON) or <data dir>/risk_limits.json; none configured = no limits."""
    raw = os.environ.get(RISK_LIMITS_ENV)
    source = RISK_LIMITS_ENV
    if raw is None:
        path = user_data_dir() / RISK_LIMITS_FILE
        if not path.is_file():
            return RiskLimits()
        raw, source = path.read_text(encoding="utf-8"), str(path)
    try:
        values: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(values, dict):
        raise ConfigurationError(f"{source} must hold a JSON object of limits")
    try:
        return RiskLimits.from_mapping(values)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ConfigurationError(f"{source}: invalid risk limits ({type(exc).__name__})") from None


def halted_reason(engine: Engine) -> str | None:
    """The kill switch's halt survives restarts: halted when its latest event is newer than any resume."""
    with engine.connect() as conn:
        return ledger.halted_reason(conn)


def resume_trading(engine: Engine, *, broker: str | None = None) -> None:
    """Lift the kill switch's halt (recorded as a trading_resumed event, like the halt itself)."""
    from workstation.monitoring.correlation import current_correlation_id
    from workstation.trading.domain import TradingEventRecord

    SqlOrderStore(engine).record_events(
        [TradingEventRecord("trading_resumed", correlation_id=current_correlation_id(), metadata={"broker": broker})]
    )


@dataclass
class TradingSession:
    engine: Engine
    broker: Broker
    manager: OrderManager
    reconciled: ReconcileResult | None = None
    # Set when the start-up reconciliation did not finish in time (or failed): what the user should know.
    reconcile_note: str | None = None

    def close(self) -> None:
        self.broker.close()


def reconcile_bounded(manager: OrderManager, timeout: float) -> tuple[ReconcileResult | None, str | None]:
    """Reconcile in the background, waiting at most ``timeout`` seconds: (result, note for the user)."""
    box: dict[str, Any] = {}
    context = contextvars.copy_context()  # the correlation id of the command that started it

    def run() -> None:
        try:
            box["result"] = manager.reconcile()
        except Exception as exc:  # reported below; the command goes on and meets the cause itself
            box["error"] = exc

    thread = threading.Thread(target=lambda: context.run(run), name="startup-reconcile", daemon=True)
    thread.start()
    thread.join(timeout)
    name = manager.broker.name
    if thread.is_alive():
        note = f"reconciliation with {name} did not finish within {timeout:g} s; it goes on in the background"
        log.warning("%s", note)
        return None, note
    if "error" in box:
        note = f"reconciliation with {name} failed: {box['error']}"
        log.warning("%s", note)
        return None, note
    result: ReconcileResult = box["result"]
    return result, None if result.complete else f"reconciliation with {name} was incomplete: {result.errors[:1]}"


def open_session(
    engine: Engine,
    broker_name: str = "paper",
    *,
    live: bool = False,
    reconcile: bool = True,
    risk_limits: RiskLimits | None = None,
    broker: Broker | None = None,
    timings: ExecutionTimings | None = None,
) -> TradingSession:
    timings = timings or ExecutionTimings.from_env()
    store = SqlOrderStore(engine)
    if broker is None:
        broker = make_broker(engine, broker_name, live=live, store=store, timings=timings)
    risk = RiskEngine(risk_limits if risk_limits is not None else load_risk_limits())
    manager = OrderManager(store, broker, risk=risk, timings=timings)
    session = TradingSession(engine, broker, manager)
    if reconcile:
        session.reconciled, session.reconcile_note = reconcile_bounded(manager, timings.startup_reconcile)
    return session


def make_broker(
    engine: Engine,
    name: str,
    *,
    live: bool = False,
    store: SqlOrderStore | None = None,
    timings: ExecutionTimings | None = None,
) -> Broker:
    if name == "paper":
        from workstation.trading.paper_account import load_paper_broker

        return load_paper_broker(engine, store=store)
    if name == "alpaca":
        from workstation.trading.brokers.alpaca import AlpacaBroker
        from workstation.trading.credentials import load_credentials

        return AlpacaBroker(load_credentials(live=live), timings=timings)
    raise ConfigurationError(f"unknown broker {name!r}: paper or alpaca")


def configured_brokers(*, live: bool = False) -> list[str]:
    """The brokers this installation can reach: paper always, Alpaca when keys are configured."""
    from workstation.trading.credentials import load_credentials

    found = ["paper"]
    try:
        load_credentials(live=live)
    except ConfigurationError:
        return found
    return [*found, "alpaca"]
