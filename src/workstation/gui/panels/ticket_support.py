"""The order ticket's helpers: what a submit returns, symbol and last-close look-ups, the quantity box."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from PySide6.QtWidgets import QDoubleSpinBox
from sqlalchemy import Engine, select

from workstation.db.market import MarketData
from workstation.db.models import StockInfo
from workstation.trading.domain import Order, OrderRequest, plain, to_price


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    request: OrderRequest
    broker: str
    order: Order | None = None
    rule: str | None = None  # set when a risk rule refused the order (nothing was sent)
    reason: str | None = None


def stock_symbols(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(s) for s in conn.execute(select(StockInfo.symbol).order_by(StockInfo.symbol)).scalars()]


def last_bar(engine: Engine, symbol: str) -> tuple[Decimal, datetime] | None:
    query = (
        select(MarketData.close, MarketData.timestamp)
        .where(MarketData.symbol == symbol)
        .order_by(MarketData.timestamp.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return (to_price(row[0]), row[1]) if row is not None else None


def describe(order: Order) -> str:
    text = f"{order.side.upper()} {order.quantity} {order.symbol}"
    if order.status == "filled":
        price = plain(order.average_fill_price) if order.average_fill_price is not None else "?"
        return f"{text} filled at {price} ({order.broker})"
    if order.status == "rejected":
        return f"{text} rejected by {order.broker}: {order.status_reason or 'no reason given'}"
    limit = f" limit {plain(order.limit_price)}" if order.limit_price is not None else ""
    return f"{text}{limit} {order.status.replace('_', ' ')} ({order.broker})"


class DecimalSpinBox(QDoubleSpinBox):
    """Up to four decimals when needed (fractional shares, sub-penny prices), none shown when not."""

    def textFromValue(self, value: float) -> str:
        text = f"{value:,.{self.decimals()}f}" if self.isGroupSeparatorShown() else f"{value:.{self.decimals()}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    def valueFromText(self, text: str) -> float:
        return float(text.replace(",", "") or 0)
