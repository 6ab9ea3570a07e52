"""``sma_cross``: the reference rule strategy.

On each bar's close: SMA(fast) and SMA(slow) of the close. A cross happens when the sign of
fast − slow differs from the sign of the last non-zero difference before it. Long only: a cross
up while flat buys ``quantity`` shares; a cross down while long sells them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import talib

from workstation.errors import ConfigurationError
from workstation.trading.domain import OrderRequest
from workstation.trading.strategies.base import BarSeries, DecisionContext


def sma_difference_sign(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """sign(SMA(fast) − SMA(slow)) per bar, 0 where undefined, computed exactly.

    Float SMAs turn an exact tie (both averages equal, which happens with cent prices) into noise
    of either sign, and that noise decides whether a cross happens. Prices are stored to six
    decimals, so in micro-units they are integers and sign(fast_sum·slow − slow_sum·fast) is exact.
    """
    sign = np.zeros(len(close), dtype=np.int8)
    if len(close) < slow:
        return sign
    micros = np.rint(close * 1_000_000.0)
    if np.isfinite(micros).all() and float(np.max(np.abs(micros))) * slow * slow < 9.0e18:
        sums = np.concatenate(([0], np.cumsum(micros.astype(np.int64))))
        fast_sum = sums[slow:] - sums[slow - fast : -fast]
        slow_sum = sums[slow:] - sums[:-slow]
        sign[slow - 1 :] = np.sign(fast_sum * slow - slow_sum * fast).astype(np.int8)
        return sign
    # Astronomical prices: fall back to TA-Lib with a tolerance relative to the price level.
    diff = talib.SMA(close, timeperiod=fast) - talib.SMA(close, timeperiod=slow)
    tolerance = 1e-9 * np.abs(close)
    valid = ~np.isnan(diff)
    sign[valid] = np.where(np.abs(diff[valid]) <= tolerance[valid], 0, np.sign(diff[valid])).astype(np.int8)
    return sign


def cross_signals(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """+1 on a cross up, −1 on a cross down, 0 elsewhere (vectorised)."""
    sign = sma_difference_sign(close, fast, slow)
    nonzero = np.flatnonzero(sign)
    signals = np.zeros(len(close), dtype=np.int8)
    if len(nonzero) < 2:
        return signals
    # Compare each non-zero sign with the previous non-zero one: zeros in between never count.
    flips = nonzero[1:][sign[nonzero[1:]] != sign[nonzero[:-1]]]
    signals[flips] = sign[flips]
    return signals


@dataclass
class SmaCross:
    fast: int = 15
    slow: int = 30
    quantity: Decimal = Decimal(1000)
    name: str = "sma_cross"
    _signals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.fast < 1 or self.slow < 2 or self.fast >= self.slow:
            raise ConfigurationError(f"sma_cross needs 1 <= fast < slow, got fast={self.fast} slow={self.slow}")
        if self.quantity <= 0:
            raise ConfigurationError("sma_cross needs a positive --qty")

    def parameters(self) -> dict[str, object]:
        return {"fast": self.fast, "slow": self.slow, "qty": str(self.quantity)}

    def prepare(self, bars: BarSeries) -> np.ndarray:
        signals = self._signals[bars.symbol] = cross_signals(bars.close, self.fast, self.slow)
        return np.flatnonzero(signals)

    def signal_at(self, bars: BarSeries, index: int) -> int:
        cached = self._signals.get(bars.symbol)
        if cached is None or len(cached) != len(bars):
            cached = self._signals[bars.symbol] = cross_signals(bars.close, self.fast, self.slow)
        return int(cached[index])

    def signal_detail(self, bars: BarSeries, index: int) -> dict[str, object]:
        """The cross behind a decision at ``index``: both averages on that bar's close."""
        close = bars.close[: index + 1]
        cross = self.signal_at(bars, index)
        return {
            "kind": "sma_cross",
            "cross": "up" if cross > 0 else "down" if cross < 0 else "none",
            "fast": self.fast,
            "slow": self.slow,
            "sma_fast": round(float(np.mean(close[-self.fast :])), 6) if len(close) >= self.fast else None,
            "sma_slow": round(float(np.mean(close[-self.slow :])), 6) if len(close) >= self.slow else None,
            "close": round(float(close[-1]), 6),
        }

    def decide(self, bars: BarSeries, index: int, context: DecisionContext) -> list[OrderRequest]:
        return self.orders_on_signal(bars.symbol, self.signal_at(bars, index), context)

    def orders_on_signal(self, symbol: str, signal: int, context: DecisionContext) -> list[OrderRequest]:
        """The orders for a cross (+1 up, −1 down, 0 none): shared by the backtest and the live loop."""
        if context.has_open_orders or signal == 0:
            return []
        if signal > 0 and context.position == 0:
            return [OrderRequest(symbol, "buy", self.quantity, time_in_force="gtc", strategy=self.name)]
        if signal < 0 and context.position > 0:
            return [OrderRequest(symbol, "sell", context.position, time_in_force="gtc", strategy=self.name)]
        return []
