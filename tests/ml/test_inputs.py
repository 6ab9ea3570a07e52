"""The audit behind the default inputs: exactly the listed catalog columns change with the price scale."""

from __future__ import annotations

import numpy as np

from workstation.features.catalog import FEATURE_NAMES
from workstation.features.compute import compute_matrix
from workstation.ml.inputs import PRICE_LEVELS, PRICE_SCALED, model_inputs


def test_price_scaled_columns_are_exactly_those_that_change_with_the_price_scale() -> None:
    rng = np.random.default_rng(3)
    n = 800
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.01, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, n)))
    volume = rng.integers(100_000, 1_000_000, n).astype(float)
    base = compute_matrix(open_, high, low, close, volume)
    scaled = compute_matrix(10 * open_, 10 * high, 10 * low, 10 * close, volume)
    changed = set()
    for j, name in enumerate(FEATURE_NAMES):
        a, b = base[:, j], scaled[:, j]
        both = np.isfinite(a) & np.isfinite(b)
        if not np.allclose(a[both], b[both], rtol=1e-6, atol=1e-9):
            changed.add(name)
    assert changed == set(PRICE_SCALED)
    assert {"sma_20", "ema_12", "bb_upper", "avgprice", "macd", "atr"} <= PRICE_SCALED
    assert PRICE_LEVELS < PRICE_SCALED
    defaults = model_inputs(FEATURE_NAMES)
    assert not set(defaults) & PRICE_SCALED
    assert {"close_sma_20_ratio", "bb_percent_b", "natr_14", "ppo_12_26", "rsi_1d"} <= set(defaults)
    assert model_inputs(FEATURE_NAMES, include_price_levels=True) == list(FEATURE_NAMES)
