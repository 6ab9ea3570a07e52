"""Pre-trade preview: what would happen to an order, without placing it.

The order ticket shows the estimated notional, the position before and after, the buying power
left and the first risk rule the order would break — the same rules, on the same account
snapshot, that ``OrderManager.submit`` applies: the account as the database has it, read under the
account lock. Nothing is written; the risk engine is stateless, so a preview uses up nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select

from workstation.db.market import MarketData
from workstation.trading.domain import ZERO, Account, OrderRequest, TradingError, to_price
from workstation.trading.session import TradingSession


@dataclass(frozen=True, slots=True)
class RiskPreview:
    symbol: str
    side: str
    quantity: Decimal
    last_price: Decimal | None
    notional: Decimal | None
    position_before: Decimal
    position_after: Decimal
    buying_power: Decimal | None = None
    rule: str | None = None  # the first risk rule the order breaks (None: it passes)
    reason: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passes(self) -> bool:
        return self.rule is None

    def summary(self) -> str:
        if self.rule is not None:
            return f"✗ {self.rule}: {self.reason}"
        text = "✓ passes the risk checks"
        return f"{text} · {'; '.join(self.warnings)}" if self.warnings else text


def latest_close(engine: Engine, symbol: str, interval: str | None = None) -> Decimal | None:
    """The newest stored close of ``symbol`` (any interval unless one is given); None without bars."""
    query = select(MarketData.close).where(MarketData.symbol == symbol.strip().upper())
    if interval is not None:
        query = query.where(MarketData.interval == interval)
    query = query.order_by(MarketData.timestamp.desc()).limit(1)
    with engine.connect() as conn:
        value = conn.execute(query).scalar()
    return to_price(value) if value is not None else None


def preview_order(session: TradingSession, request: OrderRequest, *, account: Account | None = None) -> RiskPreview:
    """Run the session's pre-trade risk checks on ``request`` without submitting it.

    ``account`` may be passed from a recent read (a remote broker's account is a network call, and a
    ticket previews on every keystroke). Raises TradingError when the request itself is invalid.
    """
    request = request.normalised()
    check = getattr(session.broker, "check_request", None)
    if check is not None:
        check(request)
    manager = session.manager
    symbol = request.symbol
    last = session.broker.last_price(symbol)
    if last is None:
        last = latest_close(session.engine, symbol)
    price = request.limit_price or request.stop_price or last
    notional = to_price(request.quantity * price) if price is not None else None
    snapshot = manager.risk_snapshot(request) if manager.risk is not None else None
    before = snapshot.position_quantity if snapshot is not None else manager.position_quantity(symbol)
    after = before + (request.quantity if request.side == "buy" else -request.quantity)
    warnings: list[str] = []
    buying_power: Decimal | None = None
    try:
        buying_power = (account or session.broker.account()).buying_power
    except TradingError as exc:
        warnings.append(f"account unavailable: {exc}")
    if buying_power is not None and request.side == "buy" and notional is not None and notional > buying_power:
        warnings.append(f"needs {notional:,.2f}, buying power {buying_power:,.2f}")
    if price is None:
        warnings.append(f"no last price for {symbol}")
    rule = reason = None
    if manager.risk is not None and snapshot is not None and not request.bypass_risk:
        # The manager's own account snapshot (position, open orders, exposure, day P&L, order rate,
        # halt) so the preview and the real check can never disagree about the inputs.
        verdict = manager.risk.check(request, snapshot)
        if verdict is not None:
            rule, reason = verdict.rule, verdict.reason
    return RiskPreview(
        symbol=symbol,
        side=request.side,
        quantity=request.quantity,
        last_price=last,
        notional=notional,
        position_before=before,
        position_after=after if after != ZERO else ZERO,
        buying_power=buying_power,
        rule=rule,
        reason=reason,
        warnings=tuple(warnings),
    )
