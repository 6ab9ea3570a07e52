"""Chart indicators computed on the fly from bars with TA-Lib: overlays (price scale) and sub-plots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import talib
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Series = dict[str, FloatArray]


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    label: str
    overlay: bool  # True: drawn over the candles; False: its own pane below
    compute: Callable[[FloatArray, FloatArray, FloatArray, FloatArray], Series]
    y_range: tuple[float, float] | None = None
    levels: tuple[float, ...] = ()


def _sma(period: int) -> Callable[[FloatArray, FloatArray, FloatArray, FloatArray], Series]:
    return lambda h, lo, c, v: {f"SMA {period}": talib.SMA(c, timeperiod=period)}


def _ema(period: int) -> Callable[[FloatArray, FloatArray, FloatArray, FloatArray], Series]:
    return lambda h, lo, c, v: {f"EMA {period}": talib.EMA(c, timeperiod=period)}


def _bollinger(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray) -> Series:
    upper, middle, lower = talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    return {"BB upper": upper, "BB middle": middle, "BB lower": lower}


def _rsi(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray) -> Series:
    return {"RSI 14": talib.RSI(c, timeperiod=14)}


def _macd(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray) -> Series:
    macd, signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    return {"MACD": macd, "Signal": signal, "Histogram": hist}


def _atr(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray) -> Series:
    return {"ATR 14": talib.ATR(h, lo, c, timeperiod=14)}


INDICATORS: dict[str, Indicator] = {
    ind.key: ind
    for ind in (
        Indicator("sma20", "SMA 20", True, _sma(20)),
        Indicator("sma50", "SMA 50", True, _sma(50)),
        Indicator("sma200", "SMA 200", True, _sma(200)),
        Indicator("ema20", "EMA 20", True, _ema(20)),
        Indicator("bbands", "Bollinger bands (20, 2)", True, _bollinger),
        Indicator("rsi", "RSI 14", False, _rsi, y_range=(0.0, 100.0), levels=(30.0, 70.0)),
        Indicator("macd", "MACD (12, 26, 9)", False, _macd, levels=(0.0,)),
        Indicator("atr", "ATR 14", False, _atr),
    )
}


def compute(key: str, high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray) -> Series:
    """The indicator's lines, each one value per bar (NaN during the warm-up period)."""
    indicator = INDICATORS[key]
    arrays = (np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close, volume))
    return {name: np.asarray(values, dtype=np.float64) for name, values in indicator.compute(*arrays).items()}
