"""What one catalog entry is, and the helpers that build entries from TA-Lib functions or formulas.

A feature is one output column. Its ``compute`` sees the whole bar history it is given, oldest
first, and must be causal: the value at bar t may only use bars 0..t. Two lengths describe it:

* ``warmup`` — leading bars whose value is not defined yet (stored as NULL) on a fresh history.
* ``history`` — bars of history an incremental build replays before the first bar it rewrites, so
  that the result equals a full recompute within 1e-6 relative. It equals ``warmup`` for finite-window
  features and is longer for EMA-like (recursive) ones, whose seed is forgotten only gradually.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import talib
from numpy.typing import NDArray
from talib import abstract

# talib.abstract builds Function at import time; its stubs do not know it.
_Function: Any = abstract.Function  # type: ignore[attr-defined]

FloatArray = NDArray[np.float64]

GROUPS = (
    "overlap",
    "momentum",
    "volume",
    "volatility",
    "cycle",
    "price_transform",
    "statistics",
    "pattern",
    "returns",
    "derived",
    "lagged",
)


class FeatureContext:
    """The bar arrays of one symbol plus a memo, so features can reuse each other and shared TA-Lib calls."""

    def __init__(self, open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray):
        self.inputs: dict[str, FloatArray] = {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
        self.memo: dict[Any, Any] = {}
        self.features: dict[str, FloatArray] = {}

    def __len__(self) -> int:
        return len(self.inputs["close"])

    def talib_call(self, func: str, inputs: tuple[str, ...], params: tuple[tuple[str, Any], ...]) -> Any:
        key = ("talib", func, inputs, params)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = _talib_function(func)(*(self.inputs[i] for i in inputs), **dict(params))
        return found

    def feature(self, name: str) -> FloatArray:
        """The value of another catalog feature (computed first when needed)."""
        if name not in self.features:
            from workstation.features.catalog import CATALOG_BY_NAME

            self.features[name] = finite(CATALOG_BY_NAME[name].compute(self))
        return self.features[name]


def _talib_function(name: str) -> Callable[..., Any]:
    """The TA-Lib function itself, without the pandas/polars dispatch wrapper talib puts around it.

    Our inputs are always float64 numpy arrays, and the wrapper's isinstance scans cost more than
    the computation on a few hundred bars (an incremental build calls TA-Lib ~100 times per symbol).
    The wrapper is made with functools.wraps, so ``__wrapped__`` is the Cython function underneath.
    """
    function = getattr(talib, name)
    return getattr(function, "__wrapped__", function)  # type: ignore[no-any-return]


class _UnwrappedTalib:
    """``TALIB.SMA(...)`` etc.: TA-Lib's functions without the dispatch wrapper (see _talib_function)."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        function = _talib_function(name)
        setattr(self, name, function)
        return function


TALIB = _UnwrappedTalib()

Compute = Callable[[FeatureContext], FloatArray]


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    group: str
    definition: str
    computation: str
    warmup: int
    history: int
    compute: Compute = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "definition": self.definition,
            "computation": self.computation,
            "warmup": self.warmup,
            "history": self.history,
        }


def finite(values: Any) -> FloatArray:
    """float64 copy-free where possible; ±inf (a division by zero) becomes NaN, i.e. NULL."""
    array = np.asarray(values, dtype=np.float64)
    # isinf, not isfinite: warm-up NaNs are common and already what we want.
    if np.isinf(array).any():
        array = np.where(np.isinf(array), np.nan, array)
    return array


def ta(
    name: str,
    group: str,
    func: str,
    definition: str,
    *,
    inputs: tuple[str, ...] = ("close",),
    output: int | None = None,
    memory: int = 0,
    **params: Any,
) -> FeatureSpec:
    """A feature that is one output of one TA-Lib function applied to the bars.

    ``memory`` is the extra history a recursive (EMA-like) function needs to forget its seed.
    """
    frozen = tuple(sorted(params.items()))
    lookback = int(_Function(func, **params).lookback)
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    which = ""
    if output is not None:
        which = f"[{_Function(func).output_names[output]}]"
    computation = f"talib.{func}({', '.join(inputs)}{', ' if shown else ''}{shown}){which}"

    def compute(ctx: FeatureContext) -> FloatArray:
        result = ctx.talib_call(func, inputs, frozen)
        # A float64 copy (pattern outputs are int32); ±inf becomes NaN in FeatureContext.feature().
        values = np.array(result if output is None else result[output], dtype=np.float64)
        # Integer outputs (candlestick patterns, HT_TRENDMODE) come back as 0 during the look-back:
        # those bars are undefined, not "no pattern", so they are NULL like every other warm-up.
        values[:lookback] = np.nan
        return values

    return FeatureSpec(name, group, definition, computation, lookback, lookback + memory, compute)


def derived(
    name: str, group: str, definition: str, computation: str, warmup: int, history: int, fn: Compute
) -> FeatureSpec:
    return FeatureSpec(name, group, definition, computation, warmup, max(history, warmup), fn)


def shift(values: FloatArray, k: int) -> FloatArray:
    """values[t - k] at t (NaN for the first k bars): the causal lag."""
    out = np.full_like(values, np.nan)
    if k < len(values):
        out[k:] = values[: len(values) - k]
    return out


def ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator with x/0 as NaN. Call under ``quiet_arithmetic`` (compute_matrix does):
    one errstate for the whole catalog instead of one per ratio."""
    return finite(numerator / denominator)


def quiet_arithmetic() -> Any:
    """Division by zero and invalid operations give inf/NaN silently; finite() turns them into NULLs."""
    return np.errstate(divide="ignore", invalid="ignore")
