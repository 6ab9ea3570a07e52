"""Backtest metrics and round-trip trades, computed from the equity curve and the fills."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pandas as pd

from workstation.trading.domain import ZERO, Fill, to_price

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_ns(when: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (comparable with stamps_ns)."""
    return (when - EPOCH) // _MICROSECOND * 1000


_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def stamps_ns(index: pd.DatetimeIndex) -> np.ndarray:
    """The index as int64 nanoseconds since the epoch, whatever unit pandas keeps it in."""
    factor = _NS_PER_UNIT[index.unit]
    return index.asi8 if factor == 1 else index.asi8 * factor


class _HasIndex(Protocol):
    @property
    def index(self) -> pd.DatetimeIndex: ...


@dataclass(frozen=True, slots=True)
class Trade:
    """One round trip: from flat to flat (or still open at the end, marked to the last close)."""

    symbol: str
    direction: str
    quantity: Decimal
    entry_time: datetime
    entry_price: Decimal
    exit_time: datetime | None
    exit_price: Decimal
    pnl: Decimal
    commission: Decimal
    is_open: bool

    @property
    def return_pct(self) -> float:
        cost = self.entry_price * self.quantity
        return float(self.pnl / cost) if cost else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "direction": self.direction,
            "quantity": int(self.quantity)
            if self.quantity == self.quantity.to_integral_value()
            else float(self.quantity),
            "entry_time": self.entry_time.isoformat(),
            "entry_price": float(self.entry_price),
            "exit_time": self.exit_time.isoformat() if self.exit_time else None,
            "exit_price": float(self.exit_price),
            "pnl": float(self.pnl),
            "commission": float(self.commission),
            "return": self.return_pct,
            "open": self.is_open,
        }


class _Trip:
    """A round trip being built from fills (plain attributes: this runs for every backtest fill)."""

    __slots__ = ("commission", "direction", "entry_qty", "entry_value", "exit_qty", "exit_value", "max", "qty", "start")

    def __init__(self, start: datetime, direction: str) -> None:
        self.start = start
        self.direction = direction
        self.qty = self.max = self.entry_value = self.entry_qty = ZERO
        self.exit_value = self.exit_qty = self.commission = ZERO


def trades_from_fills(
    fills: list[Fill], last_close: Mapping[str, Decimal], last_time: Mapping[str, datetime]
) -> list[Trade]:
    """Group fills into round trips; pnl is net of the commission of every fill in the trip."""
    trades: list[Trade] = []
    state: dict[str, _Trip] = {}
    for fill in fills:
        buy = fill.side == "buy"
        trip = state.get(fill.symbol)
        if trip is None:
            trip = state[fill.symbol] = _Trip(fill.timestamp, "long" if buy else "short")
        value = fill.quantity * fill.price
        if (trip.direction == "long") == buy:
            trip.entry_value += value
            trip.entry_qty += fill.quantity
        else:
            trip.exit_value += value
            trip.exit_qty += fill.quantity
        trip.commission += fill.commission
        trip.qty += fill.quantity if buy else -fill.quantity
        size = abs(trip.qty)
        if size > trip.max:
            trip.max = size
        if not trip.qty:
            trades.append(_close(fill.symbol, trip, fill.timestamp, None))
            del state[fill.symbol]
    for symbol, trip in state.items():
        trades.append(_close(symbol, trip, last_time[symbol], last_close[symbol]))
    return trades


def _close(symbol: str, trip: _Trip, when: datetime, mark: Decimal | None) -> Trade:
    entry_price = to_price(trip.entry_value / trip.entry_qty)
    exit_qty, exit_value = trip.exit_qty, trip.exit_value
    if mark is not None:  # still open: value the rest at the last close
        exit_value += abs(trip.qty) * mark
        exit_qty += abs(trip.qty)
    exit_price = to_price(exit_value / exit_qty) if exit_qty else entry_price
    gross = (exit_price - entry_price) * trip.entry_qty
    if trip.direction == "short":
        gross = -gross
    return Trade(
        symbol=symbol,
        direction=trip.direction,
        quantity=trip.max,
        entry_time=trip.start,
        entry_price=entry_price,
        exit_time=None if mark is not None else when,
        exit_price=exit_price,
        pnl=to_price(gross - trip.commission),
        commission=trip.commission,
        is_open=mark is not None,
    )


def periods_per_year(index: pd.DatetimeIndex) -> float:
    if len(index) < 2:
        return 252.0
    # The median gap. np.median selects with a partition that is slow on the many equal gaps of a
    # regular timeline (80 µs for 2,000 bars vs 9 µs for a sort), and this runs once per backtest.
    gaps = np.sort(np.diff(stamps_ns(index)))
    spacing = float(gaps[(len(gaps) - 1) // 2] + gaps[len(gaps) // 2]) / 2 / 1e9
    if spacing >= 5 * 86400:
        return 52.0
    if spacing >= 86400 * 0.9:
        return 252.0
    return 252.0 * 6.5 * 3600 / spacing


def compute_metrics(
    equity: pd.Series,
    trades: list[Trade],
    fills: list[Fill],
    initial_cash: Decimal,
    final_value: Decimal,
    series: Mapping[str, _HasIndex],
) -> dict[str, float | None]:
    values = equity.to_numpy(dtype=np.float64)
    returns = np.diff(values) / values[:-1] if len(values) > 1 else np.array([])
    index = pd.DatetimeIndex(equity.index)
    ppy = periods_per_year(index)
    total_return = float(final_value / initial_cash - 1)
    stamps = stamps_ns(index)
    years = float(stamps[-1] - stamps[0]) / 1e9 / (365.25 * 86400) if len(stamps) > 1 else 0.0
    growth = float(final_value / initial_cash)
    cagr = growth ** (1 / years) - 1 if years > 0 and growth > 0 else None
    std = float(np.std(returns, ddof=1)) if len(returns) > 1 else 0.0
    mean = float(np.mean(returns)) if len(returns) else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))) if len(returns) else 0.0
    peak = np.maximum.accumulate(values) if len(values) else values
    drawdown = float(np.max(1 - values / peak)) if len(values) else 0.0
    closed = [t for t in trades if not t.is_open]
    wins = [t for t in closed if t.pnl > 0]
    gross_profit = sum((t.pnl for t in closed if t.pnl > 0), ZERO)
    gross_loss = -sum((t.pnl for t in closed if t.pnl < 0), ZERO)
    traded = sum((f.quantity * f.price for f in fills), ZERO)
    commission = sum((f.commission for f in fills), ZERO)
    exposure = _exposure(fills, equity.index)
    mean_equity = float(np.mean(values)) if len(values) else float(initial_cash)
    return {
        "total_return": total_return,
        "cagr": cagr,
        "sharpe": mean / std * math.sqrt(ppy) if std > 0 else None,
        "sortino": mean / downside * math.sqrt(ppy) if downside > 0 else None,
        "max_drawdown": drawdown,
        "win_rate": len(wins) / len(closed) if closed else None,
        "profit_factor": float(gross_profit / gross_loss) if gross_loss > 0 else None,
        "exposure": exposure,
        "turnover": float(traded) / mean_equity if mean_equity else None,
        "commission": float(commission),
        "trades": float(len(trades)),
        "fills": float(len(fills)),
    }


def _exposure(fills: list[Fill], index: pd.Index) -> float:
    """Share of bars on which the portfolio held any position."""
    if not len(index) or not fills:
        return 0.0
    stamps = stamps_ns(pd.DatetimeIndex(index))
    position: dict[str, Decimal] = {}
    invested = 0
    change_times: list[int] = []
    levels: list[int] = []
    for fill in fills:
        before = position.get(fill.symbol, ZERO)
        after = before + (fill.quantity if fill.side == "buy" else -fill.quantity)
        position[fill.symbol] = after
        opened = before == 0 and after != 0
        if opened or (before != 0 and after == 0):
            invested += 1 if opened else -1
            change_times.append(epoch_ns(fill.timestamp))
            levels.append(invested)
    held = np.zeros(len(stamps))
    count = last = 0
    for at, level in zip(np.searchsorted(stamps, change_times).tolist(), levels, strict=True):
        held[last:at] = 1.0 if count > 0 else 0.0
        count, last = level, at
    held[last:] = 1.0 if count > 0 else 0.0
    return float(held.mean())
