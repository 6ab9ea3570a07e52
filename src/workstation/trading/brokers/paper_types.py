"""The paper broker's configuration and data: commission, mode, a bar, a working order, the ledger it reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from workstation.trading.domain import ZERO, Order, to_price
from workstation.trading.positions import PositionBook

NEW_YORK = ZoneInfo("America/New_York")
BPS = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class CommissionModel:
    """commission = max(minimum, per_share × qty + rate × traded value), per fill."""

    per_share: Decimal = ZERO
    rate: Decimal = ZERO
    minimum: Decimal = ZERO

    def __call__(self, quantity: Decimal, price: Decimal) -> Decimal:
        raw = self.per_share * quantity + self.rate * quantity * price
        return to_price(max(raw, self.minimum) if raw > 0 or self.minimum > 0 else ZERO)


@dataclass(frozen=True, slots=True)
class PaperConfig:
    mode: Literal["backtest", "live"] = "live"
    slippage_bps: Decimal = ZERO
    max_volume_share: Decimal | None = None
    commission: CommissionModel = field(default_factory=CommissionModel)
    allow_short: bool = False


@dataclass(frozen=True, slots=True)
class Bar:
    timestamp: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(slots=True)
class Working:
    order: Order
    session: date | None = None  # the session a day order works in (set by its first bar)
    placed: date | None = None  # the session it was placed in (opg waits for a later one)
    fresh: bool = True  # not yet offered a bar (ioc/fok get exactly one)


PriceLookup = Callable[[str], Bar | None]


class PaperLedger(Protocol):
    """The persisted paper account's state, read on the connection that holds the account lock."""

    def state(self, symbol: str | None) -> tuple[Decimal, Decimal]:
        """(cash, position in ``symbol``)."""

    def snapshot(self, symbol: str | None) -> tuple[Decimal, Decimal, list[Order]]:
        """(cash, position in ``symbol``, working orders): ``state`` and ``working`` read together."""

    def book(self) -> PositionBook: ...

    def working(self) -> list[Order]:
        """Open orders the paper broker has accepted (not the pending ones it has not seen yet)."""

    def order(self, order_id: str) -> Order | None: ...
