"""Domain types of the order path: orders, fills, broker updates, accounts and trading events.

Money and quantities are Decimal. Prices are kept to six decimals (the storage precision), so a
value computed here is the value stored and the value reported.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from workstation.db.trading import FINAL_ORDER_STATUSES, ORDER_STATUSES
from workstation.errors import (
    ConfigurationError,
    InvalidInputError,
    OutcomeUnknownError,
    RefusedError,
    WorkstationError,
)

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
OrderClass = Literal["simple", "bracket", "oto", "oco"]
SIDES: tuple[str, ...] = ("buy", "sell")
SUPPORTED_ORDER_TYPES: tuple[str, ...] = ("market", "limit", "stop", "stop_limit", "trailing_stop")
ORDER_CLASSES: tuple[str, ...] = ("simple", "bracket", "oto", "oco")
# The roles of a leg, told apart by its type (as Alpaca does): a limit leg takes profit, a stop leg stops a loss.
TAKE_PROFIT = "take_profit"
STOP_LOSS = "stop_loss"

PRICE_QUANTUM = Decimal("0.000001")
ZERO = Decimal(0)


def to_price(value: float | Decimal | str | int) -> Decimal:
    """A price or money amount at storage precision (six decimals, banker's rounding)."""
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (1000.000000 → 1000, 0.500 → 0.5)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def to_quantity(value: float | Decimal | str | int) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    return plain(Decimal(value).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN))


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_client_order_id(prefix: str = "ws") -> str:
    """A client order id unique across restarts (Alpaca allows up to 128 characters; ours fit in 64)."""
    return f"{prefix}-{uuid.uuid4().hex}"


class TradingError(WorkstationError):
    """An order could not be placed, changed or found."""


class InvalidOrderError(InvalidInputError, TradingError):
    """An order that can never be valid (bad symbol, quantity or price): refused before anything is written."""


class RiskRejectedError(RefusedError, TradingError):
    """A pre-trade risk rule refused an order; the reason is in the message and a risk_rejected event."""

    def __init__(self, reason: str, rule: str) -> None:
        super().__init__(f"risk check {rule} rejected the order: {reason}")
        self.reason = reason
        self.rule = rule


class BrokerRejectedError(RefusedError, TradingError):
    """The broker refused the order (definitively: it was not accepted)."""


class BrokerAuthError(ConfigurationError, BrokerRejectedError):
    """HTTP 401/403: the keys are wrong or not allowed to do this. Definitive: nothing was accepted."""


class BrokerUnavailableError(TradingError):
    """The broker could not be reached, or the outcome of a request is unknown (timeout, dropped connection)."""


class OrderExistsError(BrokerUnavailableError):
    """The broker answered "client_order_id must be unique": the order exists there, perhaps not visible yet."""


class OrderOutcomeUnknownError(OutcomeUnknownError, BrokerUnavailableError):
    """The order may have reached the broker; it stays open (outcome unknown) and is re-checked until settled."""

    def __init__(self, message: str, order: Order | None = None) -> None:
        super().__init__(message)
        self.order = order


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy, a user or the kill switch wants: validated, then risk-checked, then placed."""

    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType = "market"
    limit_price: Decimal | None = None
    time_in_force: str = "day"
    strategy: str | None = None
    model_id: str | None = None
    # The kill switch flattens through the normal path but must not be stopped by the limits it enforces.
    bypass_risk: bool = False
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    extended_hours: bool = False
    order_class: OrderClass = "simple"
    # The legs of a bracket/OTO/OCO: the take-profit leg's limit price, the stop-loss leg's stop price
    # and, optionally, its limit price (a stop-limit leg).
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    stop_loss_limit: Decimal | None = None

    def validate(self) -> None:
        """Refuse what can never be a valid order (InvalidOrderError, exit code 2), before anything is written."""
        _orderrules.validate(self)

    def normalised(self) -> OrderRequest:
        """The validated request with its symbol upper-cased (an OCO's entry is its take-profit limit)."""
        request = self
        if request.order_class == "oco" and request.order_type == "market" and request.take_profit is not None:
            # Alpaca's OCO is a limit order (the take-profit) carrying a stop-loss leg.
            request = replace(request, order_type="limit", limit_price=request.take_profit)
        request.validate()
        symbol = request._checked_symbol()
        return request if symbol == request.symbol else replace(request, symbol=symbol)

    @property
    def legs(self) -> tuple[str, ...]:
        """The roles of the legs this request creates (none for a simple order; OCO: the stop-loss only,
        the order itself is the take-profit)."""
        if self.order_class == "simple":
            return ()
        if self.order_class == "oco":
            return (STOP_LOSS,)
        roles = []
        if self.take_profit is not None:
            roles.append(TAKE_PROFIT)
        if self.stop_loss is not None:
            roles.append(STOP_LOSS)
        return tuple(roles)

    def _checked_symbol(self) -> str:
        return _bounds.normalise_symbol(self.symbol)


@dataclass(slots=True)
class Order:
    """The order manager's view of one order; ``order_id`` is the client order id."""

    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    time_in_force: str
    broker: str
    status: str = "pending"
    filled_quantity: Decimal = ZERO
    average_fill_price: Decimal | None = None
    broker_order_id: str | None = None
    status_reason: str | None = None
    strategy: str | None = None
    model_id: str | None = None
    correlation_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    submitted_at: datetime | None = None
    updated_at: datetime | None = None
    # Compare-and-set: every stored change bumps it; a write that expected another value lost a race.
    version: int = 0
    # Set while the broker may or may not hold the order (a send or look-up without a clear answer):
    # the order stays open and is looked up again at next_check_at, with backoff, until settled.
    unknown_since: datetime | None = None
    next_check_at: datetime | None = None
    check_attempts: int = 0
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    # A trailing stop's high-water mark (a buy's low-water mark): the stop follows it.
    hwm: Decimal | None = None
    extended_hours: bool = False
    order_class: str = "simple"
    parent_order_id: str | None = None
    replaces: str | None = None
    replaced_by: str | None = None
    # A stop-limit order whose stop was reached works as a limit order from then on.
    triggered_at: datetime | None = None
    # Not stored: the legs the order carries, given to the broker with it (bracket/OTO/OCO).
    legs: tuple[Order, ...] = ()

    @property
    def leg_role(self) -> str | None:
        """take_profit or stop_loss for a leg (by its type, as Alpaca tells them apart); None otherwise."""
        if self.parent_order_id is None:
            return None
        return TAKE_PROFIT if self.order_type == "limit" else STOP_LOSS

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_ORDER_STATUSES

    @property
    def outcome_unknown(self) -> bool:
        return self.unknown_since is not None

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    def as_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": self.quantity,
            "order_type": self.order_type,
            "limit_price": self.limit_price,
            "time_in_force": self.time_in_force,
            "status": self.status,
            "filled_quantity": self.filled_quantity,
            "average_fill_price": self.average_fill_price,
            "broker": self.broker,
            "broker_order_id": self.broker_order_id,
            "status_reason": self.status_reason,
            "strategy": self.strategy,
            "model_id": self.model_id,
            "correlation_id": self.correlation_id,
            "created_at": self.created_at,
            "submitted_at": self.submitted_at,
            "unknown_since": self.unknown_since,
            "next_check_at": self.next_check_at,
            "stop_price": self.stop_price,
            "trail_price": self.trail_price,
            "trail_percent": self.trail_percent,
            "hwm": self.hwm,
            "extended_hours": self.extended_hours,
            "order_class": self.order_class,
            "parent_order_id": self.parent_order_id,
            "replaces": self.replaces,
            "replaced_by": self.replaced_by,
        }


@dataclass(frozen=True, slots=True)
class Fill:
    fill_id: str
    order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    timestamp: datetime
    # The fill's identity: the order's cumulative filled quantity once this fill is booked (unique per
    # order), and the broker's execution id when the path that reported it carries one.
    cumulative_quantity: Decimal | None = None
    execution_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fill_id": self.fill_id,
            "order_id": self.order_id,
            "symbol": self.symbol,
            "side": self.side,
            "quantity": self.quantity,
            "price": self.price,
            "commission": self.commission,
            "timestamp": self.timestamp,
            "cumulative_quantity": self.cumulative_quantity,
            "execution_id": self.execution_id,
        }


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """A broker's statement about one order, from a submit response, a stream event or a look-up.

    ``cumulative_quantity``/``average_price`` are the broker's running totals: they let the order
    manager recover fills it missed (after a crash or a dropped stream) without counting any twice.
    """

    order_id: str
    status: str
    broker_order_id: str | None = None
    cumulative_quantity: Decimal | None = None
    average_price: Decimal | None = None
    fills: tuple[Fill, ...] = ()
    reason: str | None = None
    timestamp: datetime | None = None
    # What a broker moves on a working order: a trailing stop's stop price and high-water mark, the
    # moment a stop-limit's stop was reached, the order that replaced this one.
    stop_price: Decimal | None = None
    hwm: Decimal | None = None
    triggered_at: datetime | None = None
    replaced_by: str | None = None
    # The reports of the legs the order carries (a bracket's submit answer), already under the book's ids.
    legs: tuple[ExecutionReport, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {self.status!r}")


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker lists it: enough to adopt it into the book when the book lacks it."""

    report: ExecutionReport
    symbol: str
    side: Side
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    time_in_force: str
    created_at: datetime | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    extended_hours: bool = False
    order_class: str = "simple"
    # The broker's ids: of the order this one replaces, and of the order carrying this leg.
    replaces: str | None = None
    parent_broker_id: str | None = None
    legs: tuple[BrokerOrder, ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    broker: str
    cash: Decimal
    buying_power: Decimal
    equity: Decimal
    currency: str = "USD"
    status: str = "ACTIVE"
    account_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "broker": self.broker,
            "account_id": self.account_id,
            "status": self.status,
            "currency": self.currency,
            "cash": self.cash,
            "buying_power": self.buying_power,
            "equity": self.equity,
        }


@dataclass(frozen=True, slots=True)
class TradingEventRecord:
    """One row for trading_events, written in the same transaction as the state change it describes."""

    event_type: str
    symbol: str | None = None
    side: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    order_id: str | None = None
    strategy: str | None = None
    correlation_id: str | None = None
    metadata: dict[str, Any] | None = None
    timestamp: datetime = field(default_factory=utcnow)


# Alpaca's 18 order statuses → ours. "new"/"pending_new" etc. mean the broker holds the order but
# it is not working yet or is working unfilled: both are "accepted" from the trader's point of view.
ALPACA_STATUS_MAP: dict[str, str] = {
    "new": "accepted",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "done_for_day": "accepted",  # not final: a GTC order works again the next session
    "canceled": "cancelled",
    "expired": "expired",
    "replaced": "replaced",
    "pending_cancel": "pending_cancel",
    "pending_replace": "accepted",
    "pending_review": "submitted",
    "accepted": "accepted",
    "pending_new": "submitted",
    "accepted_for_bidding": "accepted",
    "stopped": "accepted",
    "rejected": "rejected",
    "suspended": "accepted",
    "calculated": "accepted",
    "held": "accepted",
}


def map_alpaca_status(status: str) -> str:
    key = status.lower().removeprefix("orderstatus.")
    try:
        return ALPACA_STATUS_MAP[key]
    except KeyError:
        raise TradingError(f"unknown Alpaca order status {status!r}") from None


# At the end: bounds and orderrules need InvalidOrderError from this module, and this module their checks.
from workstation.trading import bounds as _bounds  # noqa: E402
from workstation.trading import orderrules as _orderrules  # noqa: E402
