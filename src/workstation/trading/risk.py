"""Pre-trade risk checks: every order passes here before it is committed and sent.

A rejection names its rule and reason; the order manager turns it into a ``risk_rejected`` trading
event. Orders that only reduce a position (exits, the kill switch's flattening) are never blocked
by the exposure limits or the daily-loss halt: blocking an exit would *increase* risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from workstation.errors import ConfigurationError
from workstation.trading.domain import OrderRequest

# No limit is meaningful beyond this (and a Decimal this size still compares exactly).
_LIMIT_CEILING = Decimal(10) ** 15


def _positive(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ConfigurationError(f"risk limit {name} must be a positive number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConfigurationError(f"risk limit {name} must be a positive number, got {value!r}") from None
    if not number.is_finite() or number <= 0 or number > _LIMIT_CEILING:
        raise ConfigurationError(f"risk limit {name} must be a positive number, got {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Every limit is optional (None = no limit). Amounts are in account currency."""

    max_order_quantity: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_position_quantity: Decimal | None = None
    max_gross_exposure: Decimal | None = None
    daily_loss_limit: Decimal | None = None
    allowed_symbols: frozenset[str] | None = None
    # A limit price further than this fraction from the last price is refused (fat-finger guard).
    limit_collar: Decimal | None = None
    max_orders_per_window: int | None = None
    rate_window_seconds: float = 60.0

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> RiskLimits:
        """Limits from JSON: every value checked (finite, positive, symbols that are tickers); one clear line."""
        from workstation.trading.bounds import normalise_symbol
        from workstation.trading.domain import InvalidOrderError

        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigurationError(f"unknown risk limit(s): {', '.join(sorted(unknown))}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                converted[name] = None
            elif name == "allowed_symbols":
                if not isinstance(value, str | list):
                    raise ConfigurationError("risk limit allowed_symbols must be a list of symbols")
                items = value.split(",") if isinstance(value, str) else value
                try:
                    converted[name] = frozenset(normalise_symbol(str(s)) for s in items if str(s).strip())
                except InvalidOrderError as exc:
                    raise ConfigurationError(f"risk limit allowed_symbols: {exc}") from None
            elif name == "max_orders_per_window":
                number = _positive(name, value)
                if number != number.to_integral_value():
                    raise ConfigurationError(f"risk limit {name} must be a whole number, got {value!r}")
                converted[name] = int(number)
            elif name == "rate_window_seconds":
                seconds = float(_positive(name, value))
                if not math.isfinite(seconds) or seconds > 366 * 86_400:
                    raise ConfigurationError(f"risk limit {name} must be at most a year, got {value!r}")
                converted[name] = seconds
            else:
                converted[name] = _positive(name, value)
        return replace(cls(), **converted)

    @property
    def needs_marks(self) -> bool:
        return self.max_gross_exposure is not None or self.daily_loss_limit is not None


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """What the risk checks need to know about the account at the moment of the order.

    Read from the database under the account's lock, so every process sees the same account.
    """

    position_quantity: Decimal
    # Signed remaining quantity of this symbol's open orders (buys positive), pending ones included.
    open_order_quantity: Decimal
    last_price: Decimal | None
    gross_exposure: Decimal
    daily_pnl: Decimal
    now: datetime
    # Orders the account placed within the rate window (every process's), and the kill switch's halt.
    orders_in_window: int = 0
    halted: str | None = None


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    rule: str
    reason: str


@dataclass
class RiskEngine:
    """The rules, applied to a snapshot. Stateless: everything that must hold across processes is in
    the snapshot (the database); ``halted_reason`` only adds this process's own halt on top."""

    limits: RiskLimits = field(default_factory=RiskLimits)
    halted_reason: str | None = None

    def halt(self, reason: str) -> None:
        """Stop new risk-increasing orders in this process at once (the kill switch also records it)."""
        self.halted_reason = reason

    def resume(self) -> None:
        self.halted_reason = None

    def check(self, request: OrderRequest, snapshot: RiskSnapshot) -> RiskVerdict | None:
        """None when the order may go; else the first rule it breaks."""
        return self._evaluate(request, snapshot)

    def record(self, request: OrderRequest, snapshot: RiskSnapshot, verdict: RiskVerdict | None) -> dict[str, Any]:
        """The verdict as stored with the order's first event: the rules that ran, their inputs and limits.

        An order that only reduces its position skips the exposure rules (see the module docstring)."""
        limits = self.limits
        signed = request.quantity if request.side == "buy" else -request.quantity
        after = snapshot.position_quantity + signed
        reduces = abs(after) < abs(snapshot.position_quantity) and (
            after == 0 or (after > 0) == (snapshot.position_quantity > 0)
        )
        order_rules = [
            ("symbol_allow_list", limits.allowed_symbols),
            ("max_order_quantity", limits.max_order_quantity),
            ("max_order_notional", limits.max_order_notional),
            ("limit_price_collar", limits.limit_collar if request.order_type == "limit" else None),
            ("order_rate_limit", limits.max_orders_per_window),
        ]
        exposure_rules = [
            ("halted", True),
            ("daily_loss_limit", limits.daily_loss_limit),
            ("max_position", limits.max_position_quantity),
            ("max_gross_exposure", limits.max_gross_exposure),
        ]
        rules = [name for name, limit in order_rules if limit is not None]
        if not reduces:
            rules += [name for name, limit in exposure_rules if limit is not None]
        if verdict is not None and verdict.rule in rules:
            rules = rules[: rules.index(verdict.rule) + 1]  # the first broken rule stops the checks
        return {
            "outcome": "rejected" if verdict is not None else "passed",
            "rule": None if verdict is None else verdict.rule,
            "reason": None if verdict is None else verdict.reason,
            "rules_checked": rules,
            "reduces_position": reduces,
            "inputs": {
                "position_quantity": snapshot.position_quantity,
                "open_order_quantity": snapshot.open_order_quantity,
                "last_price": snapshot.last_price,
                "gross_exposure": snapshot.gross_exposure,
                "daily_pnl": snapshot.daily_pnl,
                "orders_in_window": snapshot.orders_in_window,
                "halted": snapshot.halted or self.halted_reason,
                "at": snapshot.now,
            },
            "limits": {
                f.name: sorted(value) if isinstance(value, frozenset) else value
                for f in fields(limits)
                if (value := getattr(limits, f.name)) is not None and f.name != "rate_window_seconds"
            },
        }

    def _evaluate(self, request: OrderRequest, snap: RiskSnapshot) -> RiskVerdict | None:
        limits = self.limits
        signed = request.quantity if request.side == "buy" else -request.quantity
        after = snap.position_quantity + signed
        reduces = abs(after) < abs(snap.position_quantity) and (
            after == 0 or (after > 0) == (snap.position_quantity > 0)
        )
        if limits.allowed_symbols is not None and request.symbol.upper() not in limits.allowed_symbols:
            return RiskVerdict("symbol_allow_list", f"{request.symbol} is not on the allowed symbol list")
        if limits.max_order_quantity is not None and request.quantity > limits.max_order_quantity:
            return RiskVerdict(
                "max_order_quantity", f"quantity {request.quantity} exceeds the limit {limits.max_order_quantity}"
            )
        # A stop order trades at its stop (or beyond): valued there, not at the last price.
        price = request.limit_price or request.stop_price or snap.last_price
        if limits.max_order_notional is not None:
            if price is None:
                return RiskVerdict("max_order_notional", f"no last price for {request.symbol} to value the order")
            notional = request.quantity * price
            if notional > limits.max_order_notional:
                return RiskVerdict(
                    "max_order_notional", f"notional {notional:.2f} exceeds the limit {limits.max_order_notional}"
                )
        if request.order_type == "limit" and limits.limit_collar is not None and snap.last_price:
            assert request.limit_price is not None
            distance = abs(request.limit_price - snap.last_price) / snap.last_price
            if distance > limits.limit_collar:
                return RiskVerdict(
                    "limit_price_collar",
                    f"limit {request.limit_price} is {distance:.2%} from the last price {snap.last_price} "
                    f"(collar {limits.limit_collar:.2%})",
                )
        if limits.max_orders_per_window is not None and snap.orders_in_window >= limits.max_orders_per_window:
            return RiskVerdict(
                "order_rate_limit",
                f"{snap.orders_in_window} orders in the last {limits.rate_window_seconds:g}s "
                f"(limit {limits.max_orders_per_window})",
            )
        if reduces:
            return None
        halted = snap.halted or self.halted_reason
        if halted is not None:
            return RiskVerdict("halted", f"new orders are halted: {halted}")
        if limits.daily_loss_limit is not None and snap.daily_pnl <= -limits.daily_loss_limit:
            return RiskVerdict(
                "daily_loss_limit",
                f"today's P&L {snap.daily_pnl:.2f} breached the daily loss limit {limits.daily_loss_limit}; "
                "new orders are halted for the day",
            )
        if limits.max_position_quantity is not None:
            projected = abs(after + snap.open_order_quantity)
            if projected > limits.max_position_quantity:
                return RiskVerdict(
                    "max_position",
                    f"position in {request.symbol} would reach {projected} (limit {limits.max_position_quantity})",
                )
        if limits.max_gross_exposure is not None:
            if price is None:
                return RiskVerdict("max_gross_exposure", f"no last price for {request.symbol} to value the order")
            projected_exposure = snap.gross_exposure + request.quantity * price
            if projected_exposure > limits.max_gross_exposure:
                return RiskVerdict(
                    "max_gross_exposure",
                    f"gross exposure would reach {projected_exposure:.2f} (limit {limits.max_gross_exposure})",
                )
        return None
