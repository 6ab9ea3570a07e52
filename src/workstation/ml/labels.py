"""Targets computed from closes, per symbol, looking only forward from bar t.

With bars ``c[0..n-1]`` of one symbol and a horizon ``h``:

* ``price_direction`` at t is 1 when ``c[t+h] > c[t]`` (the return over bars t+1..t+h is positive), else 0;
* ``volatility`` at t is the realised volatility of bars t+1..t+h: ``sqrt(mean(log(c[i]/c[i-1])**2))``
  for i in t+1..t+h, in per-bar units (not annualised);

and both are NaN for the last h bars, whose window is not complete. ``label_end`` is the timestamp of
bar t+h: the walk-forward splitter uses it so that no training label reaches into a test fold.
The persistence baseline for volatility is the same statistic over bars t-h+1..t (only the past).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workstation.errors import ConfigurationError
from workstation.ml.constants import TARGETS

CLASSIFICATION_TARGETS = ("price_direction",)


def validate_target(target: str, horizon: int) -> None:
    if target not in TARGETS:
        raise ConfigurationError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if horizon < 1:
        raise ConfigurationError(f"horizon must be at least 1 bar, got {horizon}")


def is_classification(target: str) -> bool:
    return target in CLASSIFICATION_TARGETS


def forward_direction(close: np.ndarray, horizon: int) -> np.ndarray:
    out = np.full(close.shape, np.nan)
    if close.size > horizon:
        ahead, now = close[horizon:], close[:-horizon]
        values = np.where(ahead > now, 1.0, 0.0)
        values[np.isnan(ahead) | np.isnan(now)] = np.nan
        out[:-horizon] = values
    return out


def _squared_log_returns(close: np.ndarray) -> np.ndarray:
    squared = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        squared[1:] = np.log(close[1:] / close[:-1]) ** 2
    return squared


def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of values[i-window+1..i] (NaN when any is missing or the window is incomplete)."""
    return np.asarray(pd.Series(values).rolling(window, min_periods=window).mean().to_numpy(), dtype=float)


def forward_volatility(close: np.ndarray, horizon: int) -> np.ndarray:
    trailing = np.sqrt(_rolling_mean(_squared_log_returns(close), horizon))
    out = np.full(close.shape, np.nan)
    if close.size > horizon:
        out[:-horizon] = trailing[horizon:]  # the window ending at t+h covers bars t+1..t+h
    return out


def trailing_volatility(close: np.ndarray, horizon: int) -> np.ndarray:
    """Realised volatility of bars t-h+1..t: the persistence forecast known at the close of bar t."""
    return np.asarray(np.sqrt(_rolling_mean(_squared_log_returns(close), horizon)), dtype=float)


def label_end_positions(n: int, horizon: int) -> np.ndarray:
    """Row position of bar t+h for each t, or -1 where it does not exist."""
    positions = np.arange(n) + horizon
    positions[positions >= n] = -1
    return positions


def add_labels(frame: pd.DataFrame, target: str, horizon: int) -> pd.DataFrame:
    """Add ``label``, ``label_end`` and ``persistence`` to a long frame sorted by symbol then timestamp."""
    validate_target(target, horizon)
    label = np.full(len(frame), np.nan)
    persistence = np.full(len(frame), np.nan)
    label_end = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    timestamps = frame["timestamp"].to_numpy(dtype="datetime64[ns]")
    close_all = frame["close"].to_numpy(dtype=np.float64)
    for positions in frame.groupby("symbol", sort=False).indices.values():
        close = close_all[positions]
        if target == "price_direction":
            label[positions] = forward_direction(close, horizon)
        else:
            label[positions] = forward_volatility(close, horizon)
            persistence[positions] = trailing_volatility(close, horizon)
        ends = label_end_positions(len(positions), horizon)
        valid = ends >= 0
        label_end[positions[valid]] = timestamps[positions[ends[valid]]]
    result = frame.copy()
    result["label"] = label
    result["label_end"] = pd.to_datetime(label_end).tz_localize("UTC")
    result["persistence"] = persistence
    return result
