"""The order ticket's helpers: what a submit returns, symbol and last-close look-ups, the number boxes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from PySide6.QtWidgets import QDoubleSpinBox
from sqlalchemy import Engine, select

from workstation.db.market import MarketData
from workstation.db.models import StockInfo
from workstation.gui.panels.ticket_rules import format_price, format_quantity, tick_size, to_tick
from workstation.trading.domain import Order, OrderRequest, to_price


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
    text = f"{order.side.upper()} {format_quantity(order.quantity)} {order.symbol}"
    if order.status == "filled":
        price = format_price(order.average_fill_price) if order.average_fill_price is not None else "?"
        return f"{text} filled at {price} ({order.broker})"
    if order.status == "rejected":
        return f"{text} rejected by {order.broker}: {order.status_reason or 'no reason given'}"
    limit = f" limit {format_price(order.limit_price)}" if order.limit_price is not None else ""
    stop = f" stop {format_price(order.stop_price)}" if order.stop_price is not None else ""
    group = f" {order.order_class}" if order.order_class != "simple" else ""
    return f"{text}{limit}{stop}{group} {order.status.replace('_', ' ')} ({order.broker})"


class DecimalSpinBox(QDoubleSpinBox):
    """Up to four decimals when needed (fractional shares, sub-penny prices), none shown when not."""

    def textFromValue(self, value: float) -> str:
        text = f"{value:,.{self.decimals()}f}" if self.isGroupSeparatorShown() else f"{value:.{self.decimals()}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text

    def valueFromText(self, text: str) -> float:
        return float(text.replace(",", "") or 0)


class PriceSpinBox(DecimalSpinBox):
    """A price at tick precision: two decimals from $1, four below; the arrows step one tick.

    The box holds four decimals so that sub-dollar prices can be typed; a price of $1 or more is
    rounded to the cent as soon as editing finishes, so what is shown is what is sent.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setDecimals(4)
        self.setRange(0, 1e9)
        self.setSpecialValueText("—")  # 0: no price yet
        self.editingFinished.connect(self._round_to_tick)
        self.valueChanged.connect(self._adapt_step)

    def textFromValue(self, value: float) -> str:
        if value <= 0:
            return "0"
        return format_price(Decimal(repr(value)), thousands=self.isGroupSeparatorShown())

    def price(self) -> Decimal | None:
        value = Decimal(repr(self.value()))
        return to_tick(value) if value > 0 else None

    def set_price(self, price: Decimal | None) -> None:
        self.setValue(float(to_tick(price)) if price is not None and price > 0 else 0.0)

    def _round_to_tick(self) -> None:
        price = self.price()
        if price is not None and float(price) != self.value():
            self.setValue(float(price))

    def _adapt_step(self, value: float) -> None:
        self.setSingleStep(float(tick_size(Decimal(repr(value)))) if value > 0 else 0.01)
