"""Chart indicators computed on the fly from bars with TA-Lib: overlays (price scale) and sub-plots.

Each indicator declares its parameters (name, bounds, default), so the chart can offer them for
editing and show them in its legend: ``title(params)`` gives ``SMA(20)``, ``BB(20, 2)``,
``MACD(12, 26, 9)``. ``compute`` returns the indicator's lines by short name ("upper", "signal"…; a
single-line indicator's line is named after its title), one value per bar, NaN during the warm-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import talib
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Series = dict[str, FloatArray]
Params = dict[str, float]
Compute = Callable[[FloatArray, FloatArray, FloatArray, FloatArray, Params], Series]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    label: str
    default: float
    minimum: float
    maximum: float
    integer: bool = True

    def clamp(self, value: float) -> float:
        bounded = min(max(float(value), self.minimum), self.maximum)
        return float(round(bounded)) if self.integer else bounded


@dataclass(frozen=True, slots=True)
class Indicator:
    key: str
    name: str  # short name, the title without parameters ("SMA", "BB")
    overlay: bool  # True: drawn over the candles; False: its own pane below
    compute: Compute
    params: tuple[Param, ...] = ()
    y_range: tuple[float, float] | None = None
    levels: tuple[float, ...] = ()

    def resolve(self, params: Mapping[str, object] | None = None) -> Params:
        """The defaults, overridden by the valid entries of ``params`` (clamped to their bounds)."""
        resolved = {p.name: p.default for p in self.params}
        for param in self.params:
            value = (params or {}).get(param.name)
            if isinstance(value, int | float) and np.isfinite(value):
                resolved[param.name] = param.clamp(float(value))
        return resolved

    def title(self, params: Mapping[str, object] | None = None) -> str:
        values = self.resolve(params)
        shown = ", ".join(_number(values[p.name]) for p in self.params)
        return f"{self.name}({shown})" if shown else self.name

    @property
    def label(self) -> str:
        """The menu label with the default parameters (kept for callers of the fixed catalog)."""
        return self.title()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _period(default: int, maximum: int = 500) -> Param:
    return Param("period", "Period", default, 2, maximum)


def _sma(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, p: Params) -> Series:
    return {"line": talib.SMA(c, timeperiod=int(p["period"]))}


def _ema(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, p: Params) -> Series:
    return {"line": talib.EMA(c, timeperiod=int(p["period"]))}


def _bollinger(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, p: Params) -> Series:
    upper, middle, lower = talib.BBANDS(
        c, timeperiod=int(p["period"]), nbdevup=p["deviations"], nbdevdn=p["deviations"]
    )
    return {"upper": upper, "middle": middle, "lower": lower}


def _rsi(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, p: Params) -> Series:
    return {"line": talib.RSI(c, timeperiod=int(p["period"]))}


def _macd(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, p: Params) -> Series:
    fast, slow = int(p["fast"]), int(p["slow"])
    macd, signal, hist = talib.MACD(c, fastperiod=min(fast, slow - 1), slowperiod=slow, signalperiod=int(p["signal"]))
    return {"macd": macd, "signal": signal, "histogram": hist}


def _atr(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, p: Params) -> Series:
    return {"line": talib.ATR(h, lo, c, timeperiod=int(p["period"]))}


INDICATORS: dict[str, Indicator] = {
    ind.key: ind
    for ind in (
        Indicator("sma20", "SMA", True, _sma, (_period(20),)),
        Indicator("sma50", "SMA", True, _sma, (_period(50),)),
        Indicator("sma200", "SMA", True, _sma, (_period(200, 1000),)),
        Indicator("ema20", "EMA", True, _ema, (_period(20),)),
        Indicator(
            "bbands",
            "BB",
            True,
            _bollinger,
            (_period(20), Param("deviations", "Standard deviations", 2.0, 0.5, 5.0, integer=False)),
        ),
        Indicator("rsi", "RSI", False, _rsi, (_period(14, 200),), y_range=(0.0, 100.0), levels=(30.0, 70.0)),
        Indicator(
            "macd",
            "MACD",
            False,
            _macd,
            (
                Param("fast", "Fast EMA", 12, 2, 200),
                Param("slow", "Slow EMA", 26, 3, 400),
                Param("signal", "Signal", 9, 2, 200),
            ),
            levels=(0.0,),
        ),
        Indicator("atr", "ATR", False, _atr, (_period(14, 200),)),
    )
}


def compute(
    key: str,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    params: Mapping[str, object] | None = None,
) -> Series:
    """The indicator's lines, each one value per bar (NaN during the warm-up period).

    A single line is named after the indicator's title (``SMA(20)``); several keep their short names.
    """
    indicator = INDICATORS[key]
    resolved = indicator.resolve(params)
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (high, low, close, volume)]
    lines = indicator.compute(arrays[0], arrays[1], arrays[2], arrays[3], resolved)
    if list(lines) == ["line"]:
        lines = {indicator.title(resolved): lines["line"]}
    return {name: np.asarray(values, dtype=np.float64) for name, values in lines.items()}
