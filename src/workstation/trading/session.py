"""One trading session: the store, a broker, risk and the order manager, wired the same way for the
CLI, the GUI and the live loop. Created once, handed to whoever needs it, closed at the end.

Start-up reconciles every order not in a final state with the broker (by client order id).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from workstation.db.logs import TradingEvent
from workstation.errors import ConfigurationError
from workstation.paths import user_data_dir
from workstation.trading.brokers.base import Broker
from workstation.trading.order_manager import OrderManager, ReconcileResult
from workstation.trading.repository import SqlOrderStore
from workstation.trading.risk import RiskEngine, RiskLimits

RISK_LIMITS_ENV = "WORKSTATION_RISK_LIMITS"
RISK_LIMITS_FILE = "risk_limits.json"


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
    except (ValueError, ArithmeticError) as exc:
        raise ConfigurationError(f"{source}: {exc}") from None


def halted_reason(engine: Engine) -> str | None:
    """The kill switch's halt survives restarts: halted when its latest event is newer than any resume."""
    query = (
        select(TradingEvent.event_type, TradingEvent.metadata_)
        .where(TradingEvent.event_type.in_(("kill_switch", "trading_resumed")))
        .order_by(TradingEvent.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row[0] != "kill_switch":
        return None
    reason = (row[1] or {}).get("reason", "kill switch")
    return f"{reason} (run 'workstation kill-switch --resume' to trade again)"


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

    def close(self) -> None:
        self.broker.close()


def open_session(
    engine: Engine,
    broker_name: str = "paper",
    *,
    live: bool = False,
    reconcile: bool = True,
    risk_limits: RiskLimits | None = None,
    broker: Broker | None = None,
) -> TradingSession:
    if broker is None:
        broker = make_broker(engine, broker_name, live=live)
    store = SqlOrderStore(engine)
    risk = RiskEngine(risk_limits if risk_limits is not None else load_risk_limits())
    halted = halted_reason(engine)
    if halted:
        risk.halt(halted)
    manager = OrderManager(store, broker, risk=risk)
    session = TradingSession(engine, broker, manager)
    if reconcile:
        session.reconciled = manager.reconcile()
    return session


def make_broker(engine: Engine, name: str, *, live: bool = False) -> Broker:
    if name == "paper":
        from workstation.trading.paper_account import load_paper_broker

        return load_paper_broker(engine)
    if name == "alpaca":
        from workstation.trading.brokers.alpaca import AlpacaBroker
        from workstation.trading.credentials import load_credentials

        return AlpacaBroker(load_credentials(live=live))
    raise ConfigurationError(f"unknown broker {name!r}: paper or alpaca")
