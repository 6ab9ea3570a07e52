"""The catalog: size, groups, warm-ups, and the spec's named columns against direct TA-Lib calls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

from workstation.features.catalog import CATALOG, FEATURE_NAMES, FEATURE_VERSION, HISTORY_BARS, SPEC_FEATURES
from workstation.features.compute import compute_features
from workstation.features.spec import GROUPS


def test_catalog_has_at_least_120_numeric_columns_in_every_group() -> None:
    assert FEATURE_VERSION == "3.0"
    assert len(CATALOG) >= 120
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert {spec.group for spec in CATALOG} == set(GROUPS)
    assert set(SPEC_FEATURES) <= set(FEATURE_NAMES)
    for spec in CATALOG:
        assert spec.definition, spec.name
        assert spec.computation, spec.name
        assert 0 <= spec.warmup <= spec.history <= HISTORY_BARS, spec.name
        assert spec.name.isidentifier(), spec.name
        assert spec.name == spec.name.lower(), spec.name


def test_warmup_rows_are_null_and_later_rows_are_defined(orcl: pd.DataFrame) -> None:
    features = compute_features(orcl)
    assert features.shape == (len(orcl), len(CATALOG))
    for spec in CATALOG:
        column = features[spec.name].to_numpy()
        assert np.isnan(column[: spec.warmup]).all(), spec.name  # NULL, never zeros
        assert not np.isnan(column[spec.warmup :]).any(), spec.name


def test_named_columns_equal_direct_talib_calls(orcl: pd.DataFrame) -> None:
    features = compute_features(orcl)
    o, h, lo, c = (orcl[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))

    def same(name: str, expected: np.ndarray) -> None:
        np.testing.assert_allclose(features[name].to_numpy(), expected, rtol=1e-12, atol=0, equal_nan=True)

    same("rsi_1d", talib.RSI(c, timeperiod=14))
    upper, middle, lower = talib.BBANDS(c, timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    same("bb_upper", upper)
    same("bb_middle", middle)
    same("bb_lower", lower)
    same("atr", talib.ATR(h, lo, c, timeperiod=14))
    macd, signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    same("macd", macd)  # TA-Lib's MACD line, not EMA(12) - EMA(26) computed separately
    same("macd_signal", signal)
    same("macd_hist", hist)
    same("price_ma_short", talib.SMA(c, timeperiod=10))
    expected_returns = np.concatenate(([np.nan], c[1:] / c[:-1] - 1.0))
    same("returns", expected_returns)
    same("log_return_1", np.log(np.concatenate(([np.nan], c[1:] / c[:-1]))))
    same("ema_26", talib.EMA(c, timeperiod=26))
    same("adx_14", talib.ADX(h, lo, c, timeperiod=14))
    same("stoch_k", talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)[0])
    same("obv_change_20", talib.OBV(c, orcl["volume"].to_numpy(np.float64)) - np.concatenate(
        ([np.nan] * 20, talib.OBV(c, orcl["volume"].to_numpy(np.float64))[:-20])))  # fmt: skip
    engulfing = talib.CDLENGULFING(o, h, lo, c).astype(np.float64)
    engulfing[:2] = np.nan  # TA-Lib's look-back bars are NULL in the catalog, not "no pattern"
    same("cdl_engulfing", engulfing)
    same("rsi_1d_lag_1", np.concatenate(([np.nan], talib.RSI(c, timeperiod=14)[:-1])))
    # TA-Lib seeds MACD's fast EMA at the slow EMA's start, so it differs from EMA12 - EMA26 early on
    # and agrees once both EMAs have forgotten their seeds.
    separate = talib.EMA(c, 12) - talib.EMA(c, 26)
    assert not np.allclose(features["macd"].to_numpy()[33:60], separate[33:60], rtol=1e-9)
    np.testing.assert_allclose(features["macd"].to_numpy()[400:], separate[400:], rtol=1e-6, atol=1e-9)
