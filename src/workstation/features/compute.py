"""Compute the whole catalog for one symbol's bars: numpy arrays straight into TA-Lib, no per-row Python."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workstation.features.catalog import CATALOG, FEATURE_NAMES
from workstation.features.spec import FeatureContext, FloatArray, quiet_arithmetic


def compute_matrix(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray
) -> FloatArray:
    """An (n_bars, n_features) float64 matrix in catalog order; NaN where a feature is undefined."""
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close, volume)]
    ctx = FeatureContext(*arrays)
    out = np.empty((len(ctx), len(CATALOG)), dtype=np.float64)
    with quiet_arithmetic():
        for j, spec in enumerate(CATALOG):
            out[:, j] = ctx.feature(spec.name)
    return out


def compute_features(bars: pd.DataFrame) -> pd.DataFrame:
    """The catalog for bars as returned by ``load_bars`` (oldest first), indexed like the bars."""
    matrix = compute_matrix(
        bars["open"].to_numpy(np.float64),
        bars["high"].to_numpy(np.float64),
        bars["low"].to_numpy(np.float64),
        bars["close"].to_numpy(np.float64),
        bars["volume"].to_numpy(np.float64),
    )
    return pd.DataFrame(matrix, index=bars.index, columns=list(FEATURE_NAMES))
