"""Which feature columns a model is fed by default: only those that do not depend on the price scale.

A column is *price-scaled* when multiplying every price of a symbol by a constant changes it: moving
averages, bands and other price levels (sma_*, ema_*, bb_*, avgprice, the regression line …), and
differences measured in price units (MACD, ATR, momentum, true range …). Their values differ by
orders of magnitude between a $5 and a $500 stock and drift with the price over the years, so a model
fed them learns which symbol and which era a row comes from rather than the setup. Each has a
scale-free counterpart in the catalog (close/SMA ratios, %B, PPO, NATR, ROC, realised volatility),
which stays. ``include_price_levels`` (``--include-price-levels``) feeds them anyway.

The lists are an audit of catalog 3.0, checked by a test that computes the catalog on prices and on
ten times the prices: every listed column changes, every other column does not.
"""

from __future__ import annotations

from collections.abc import Sequence

PRICE_LEVELS = frozenset(
    {
        "sma_5", "price_ma_short", "sma_20", "sma_50", "sma_100", "sma_200", "ema_12", "ema_26", "ema_50",
        "wma_20", "dema_20", "tema_20", "trima_20", "t3_5", "bb_upper", "bb_middle", "bb_lower", "midpoint_14",
        "midprice_14", "ht_trendline", "avgprice", "medprice", "typprice", "wclprice", "linearreg_14",
        "linearreg_intercept_14", "tsf_14",
    }
)  # fmt: skip
PRICE_UNIT_COLUMNS = frozenset(
    {
        "macd", "macd_signal", "macd_hist", "apo_12_26", "mom_10", "plus_dm_14", "minus_dm_14", "atr", "trange",
        "stddev_20", "ht_phasor_inphase", "ht_phasor_quadrature", "linearreg_slope_14", "linearreg_angle_14",
        "macd_lag_1", "macd_hist_lag_1", "atr_lag_1",
    }
)  # fmt: skip
PRICE_SCALED = PRICE_LEVELS | PRICE_UNIT_COLUMNS


def model_inputs(columns: Sequence[str], *, include_price_levels: bool = False) -> list[str]:
    """The default inputs among ``columns`` (table order kept)."""
    if include_price_levels:
        return list(columns)
    return [c for c in columns if c not in PRICE_SCALED]
