"""What the backtester and the live loop need from a strategy.

Signals may be computed vectorised over a whole series (``prepare``), but orders are only ever
produced one decision at a time (``decide``), and they go through risk → order manager → broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import numpy as np
import pandas as pd

from workstation.trading.domain import OrderRequest


@dataclass(frozen=True, slots=True)
class BarSeries:
    """One symbol's bars as arrays (float64), oldest first; ``index`` holds the UTC timestamps."""

    symbol: str
    index: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_frame(cls, symbol: str, frame: pd.DataFrame) -> BarSeries:
        index = pd.DatetimeIndex(frame.index)
        if index.tz is None:
            index = index.tz_localize("UTC")
        index = index.tz_convert("UTC")
        if index.unit != "ns":
            # One time unit everywhere: pandas 3 keeps the parsing unit (s, us, ns) otherwise. Via numpy:
            # as_unit() takes 70 µs for 2,000 stamps, and this runs once per symbol of every backtest.
            naive = index.tz_localize(None).to_numpy().astype("datetime64[ns]")
            index = pd.DatetimeIndex(naive).tz_localize("UTC")
        return cls(
            symbol=symbol,
            index=index,
            open=frame["open"].to_numpy(dtype=np.float64),
            high=frame["high"].to_numpy(dtype=np.float64),
            low=frame["low"].to_numpy(dtype=np.float64),
            close=frame["close"].to_numpy(dtype=np.float64),
            volume=frame["volume"].to_numpy(dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.close)


@dataclass(frozen=True, slots=True)
class DecisionContext:
    position: Decimal
    has_open_orders: bool
    equity: Decimal
    cash: Decimal


class Strategy(Protocol):
    name: str

    def parameters(self) -> dict[str, object]: ...

    def prepare(self, bars: BarSeries) -> np.ndarray:
        """Indices of the bars (on their close) at which ``decide`` must be called."""

    def decide(self, bars: BarSeries, index: int, context: DecisionContext) -> list[OrderRequest]: ...
