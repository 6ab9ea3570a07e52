"""Derived features: returns over several horizons, log returns, realised volatility, volume measures,
price/moving-average ratios, z-scores and lagged copies of key indicators. All are causal formulas on
the bars and on other catalog columns; a ratio whose denominator is zero is NULL.
"""

from __future__ import annotations

import math

import numpy as np

from workstation.features.spec import TALIB, FeatureContext, FeatureSpec, FloatArray, derived, finite, ratio, shift

_LN2 = math.log(2.0)


def _close(ctx: FeatureContext) -> FloatArray:
    return ctx.inputs["close"]


def _simple_return(k: int) -> FeatureSpec:
    name = "returns" if k == 1 else f"returns_{k}"
    what = "Spec column: 1-bar simple return" if k == 1 else f"{k}-bar simple return"
    return derived(
        name, "returns", f"{what}, close[t] / close[t-{k}] - 1", f"close / shift(close, {k}) - 1", k, k,
        lambda ctx: ratio(_close(ctx), shift(_close(ctx), k)) - 1.0,
    )  # fmt: skip


def _log_return(k: int) -> FeatureSpec:
    def compute(ctx: FeatureContext) -> FloatArray:
        return finite(np.log(ratio(_close(ctx), shift(_close(ctx), k))))

    return derived(
        f"log_return_{k}", "returns", f"{k}-bar log return, ln(close[t] / close[t-{k}])",
        f"log(close / shift(close, {k}))", k, k, compute,
    )  # fmt: skip


def _log_returns(ctx: FeatureContext) -> FloatArray:
    return ctx.feature("log_return_1")


def _realised_vol(n: int) -> FeatureSpec:
    return derived(
        f"realised_vol_{n}", "volatility",
        f"{n}-bar realised volatility: population std dev of 1-bar log returns (per bar, not annualised)",
        f"talib.STDDEV(log_return_1, timeperiod={n})", n, n,
        lambda ctx: finite(TALIB.STDDEV(_log_returns(ctx), timeperiod=n)),
    )  # fmt: skip


def _zscore(values: FloatArray, n: int) -> FloatArray:
    mean = TALIB.SMA(values, timeperiod=n)
    std = TALIB.STDDEV(values, timeperiod=n)
    # A flat window has std 0, but rolling sums leave ~1e-16 of noise there: call that undefined, not ±huge.
    std = np.where(std > 1e-12 * np.abs(mean), std, np.nan)
    return ratio(values - mean, std)


def _vwap_ratio(ctx: FeatureContext) -> FloatArray:
    typical = TALIB.TYPPRICE(ctx.inputs["high"], ctx.inputs["low"], _close(ctx))
    vwap = ratio(TALIB.SUM(typical * ctx.inputs["volume"], 20), TALIB.SUM(ctx.inputs["volume"], 20))
    return ratio(_close(ctx), vwap) - 1.0


def _parkinson(ctx: FeatureContext) -> FloatArray:
    hl = np.log(ratio(ctx.inputs["high"], ctx.inputs["low"]))
    return finite(np.sqrt(TALIB.SMA(hl * hl, 20) / (4.0 * _LN2)))


def _garman_klass(ctx: FeatureContext) -> FloatArray:
    hl = np.log(ratio(ctx.inputs["high"], ctx.inputs["low"]))
    co = np.log(ratio(_close(ctx), ctx.inputs["open"]))
    return finite(np.sqrt(TALIB.SMA(0.5 * hl * hl - (2.0 * _LN2 - 1.0) * co * co, 20)))


def _change(cumulative: FloatArray, k: int) -> FloatArray:
    # Cumulative lines (OBV, A/D) depend on where the history starts; their k-bar change does not.
    return cumulative - shift(cumulative, k)


RETURNS: list[FeatureSpec] = [
    *(_simple_return(k) for k in (1, 5, 10, 20, 60)),
    *(_log_return(k) for k in (1, 5, 20, 60)),
]

VOLUME_DERIVED: list[FeatureSpec] = [
    derived("obv_change_20", "volume", "20-bar change of on-balance volume, OBV[t] - OBV[t-20]",
            "talib.OBV(close, volume) - shift(…, 20)", 20, 20,
            lambda ctx: _change(TALIB.OBV(_close(ctx), ctx.inputs["volume"]), 20)),
    derived("ad_change_20", "volume", "20-bar change of the Chaikin accumulation/distribution line",
            "talib.AD(high, low, close, volume) - shift(…, 20)", 20, 20,
            lambda ctx: _change(TALIB.AD(ctx.inputs["high"], ctx.inputs["low"], _close(ctx),
                                         ctx.inputs["volume"]), 20)),
    derived("volume_ratio_20", "volume", "volume / 20-bar simple moving average of volume",
            "volume / talib.SMA(volume, 20)", 19, 19,
            lambda ctx: ratio(ctx.inputs["volume"], TALIB.SMA(ctx.inputs["volume"], 20))),
    derived("volume_zscore_20", "volume", "(volume - SMA(volume, 20)) / STDDEV(volume, 20)",
            "zscore(volume, 20)", 19, 19, lambda ctx: _zscore(ctx.inputs["volume"], 20)),
    derived("log_volume", "volume", "ln(1 + volume)", "log1p(volume)", 0, 0,
            lambda ctx: finite(np.log1p(ctx.inputs["volume"]))),
    derived("vwap_ratio_20", "volume", "close / 20-bar VWAP of the typical price - 1",
            "close / (SUM(typprice*volume,20) / SUM(volume,20)) - 1", 19, 19, _vwap_ratio),
]  # fmt: skip

VOLATILITY_DERIVED: list[FeatureSpec] = [
    *(_realised_vol(n) for n in (10, 20, 60)),
    derived("parkinson_vol_20", "volatility", "20-bar Parkinson volatility, sqrt(mean(ln(H/L)^2) / (4 ln 2))",
            "sqrt(talib.SMA(log(high/low)**2, 20) / (4*ln 2))", 19, 19, _parkinson),
    derived("garman_klass_vol_20", "volatility",
            "20-bar Garman-Klass volatility, sqrt(mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2))",
            "sqrt(talib.SMA(0.5*log(high/low)**2 - (2ln2-1)*log(close/open)**2, 20))", 19, 19, _garman_klass),
    derived("bb_width", "volatility", "Bollinger band width, (bb_upper - bb_lower) / bb_middle",
            "(bb_upper - bb_lower) / bb_middle", 19, 19,
            lambda ctx: ratio(ctx.feature("bb_upper") - ctx.feature("bb_lower"), ctx.feature("bb_middle"))),
    derived("bb_percent_b", "volatility", "Bollinger %B, (close - bb_lower) / (bb_upper - bb_lower)",
            "(close - bb_lower) / (bb_upper - bb_lower)", 19, 19,
            lambda ctx: ratio(_close(ctx) - ctx.feature("bb_lower"),
                              ctx.feature("bb_upper") - ctx.feature("bb_lower"))),
]  # fmt: skip


def _ma_ratio(name: str, base: str, warmup: int, history: int) -> FeatureSpec:
    return derived(
        name, "derived", f"close / {base} - 1", f"close / {base} - 1", warmup, history,
        lambda ctx: ratio(_close(ctx), ctx.feature(base)) - 1.0,
    )  # fmt: skip


DERIVED: list[FeatureSpec] = [
    _ma_ratio("close_sma_20_ratio", "sma_20", 19, 19),
    _ma_ratio("close_sma_50_ratio", "sma_50", 49, 49),
    _ma_ratio("close_sma_200_ratio", "sma_200", 199, 199),
    _ma_ratio("close_ema_12_ratio", "ema_12", 11, 161),
    _ma_ratio("close_ema_26_ratio", "ema_26", 25, 325),
    derived("sma_50_200_ratio", "derived", "sma_50 / sma_200 - 1 (golden/death cross distance)",
            "sma_50 / sma_200 - 1", 199, 199, lambda ctx: ratio(ctx.feature("sma_50"), ctx.feature("sma_200")) - 1),
    derived("zscore_close_20", "derived", "(close - SMA(close, 20)) / STDDEV(close, 20)", "zscore(close, 20)",
            19, 19, lambda ctx: _zscore(_close(ctx), 20)),
    derived("zscore_close_50", "derived", "(close - SMA(close, 50)) / STDDEV(close, 50)", "zscore(close, 50)",
            49, 49, lambda ctx: _zscore(_close(ctx), 50)),
    derived("zscore_returns_20", "derived", "z-score of the 1-bar return against its last 20 bars",
            "zscore(returns, 20)", 20, 20, lambda ctx: _zscore(ctx.feature("returns"), 20)),
    derived("gap_return", "derived", "Opening gap, open[t] / close[t-1] - 1", "open / shift(close, 1) - 1", 1, 1,
            lambda ctx: ratio(ctx.inputs["open"], shift(_close(ctx), 1)) - 1.0),
    derived("intraday_return", "derived", "close / open - 1 within the bar", "close / open - 1", 0, 0,
            lambda ctx: ratio(_close(ctx), ctx.inputs["open"]) - 1.0),
    derived("high_low_range", "derived", "(high - low) / close", "(high - low) / close", 0, 0,
            lambda ctx: ratio(ctx.inputs["high"] - ctx.inputs["low"], _close(ctx))),
    derived("close_location", "derived", "(close - low) / (high - low); NULL when high == low",
            "(close - low) / (high - low)", 0, 0,
            lambda ctx: ratio(_close(ctx) - ctx.inputs["low"], ctx.inputs["high"] - ctx.inputs["low"])),
    derived("close_to_max_252", "derived", "close / highest high of the last 252 bars - 1",
            "close / talib.MAX(high, 252) - 1", 251, 251,
            lambda ctx: ratio(_close(ctx), TALIB.MAX(ctx.inputs["high"], 252)) - 1.0),
    derived("close_to_min_252", "derived", "close / lowest low of the last 252 bars - 1",
            "close / talib.MIN(low, 252) - 1", 251, 251,
            lambda ctx: ratio(_close(ctx), TALIB.MIN(ctx.inputs["low"], 252)) - 1.0),
]  # fmt: skip


def lagged(base: FeatureSpec, k: int) -> FeatureSpec:
    return derived(
        f"{base.name}_lag_{k}", "lagged", f"{base.name} {k} bar{'s' if k > 1 else ''} earlier",
        f"shift({base.name}, {k})", base.warmup + k, base.history + k,
        lambda ctx: shift(ctx.feature(base.name), k),
    )  # fmt: skip
