"""Catalog entries that are one TA-Lib output each: overlap, momentum, volume, volatility, cycle,
price transform and statistics. Parameters are TA-Lib's defaults unless the name says otherwise.

``memory`` (extra history for incremental builds) was measured for every recursive indicator on
ORCL 1995–2014 and NVDA 1999–2014 — the bars needed before the seed's influence falls below 1e-9
relative (see tests/features/test_incremental.py) — and then rounded up generously.
"""

from __future__ import annotations

from workstation.features.spec import FeatureSpec, ta

HL = ("high", "low")
HLC = ("high", "low", "close")
HLCV = ("high", "low", "close", "volume")
OHLC = ("open", "high", "low", "close")

OVERLAP: list[FeatureSpec] = [
    ta("sma_5", "overlap", "SMA", "5-bar simple moving average of close", timeperiod=5),
    ta("price_ma_short", "overlap", "SMA", "Spec column: 10-bar simple moving average of close", timeperiod=10),
    ta("sma_20", "overlap", "SMA", "20-bar simple moving average of close", timeperiod=20),
    ta("sma_50", "overlap", "SMA", "50-bar simple moving average of close", timeperiod=50),
    ta("sma_100", "overlap", "SMA", "100-bar simple moving average of close", timeperiod=100),
    ta("sma_200", "overlap", "SMA", "200-bar simple moving average of close", timeperiod=200),
    ta("ema_12", "overlap", "EMA", "12-bar exponential moving average of close (SMA-seeded)", timeperiod=12,
       memory=150),
    ta("ema_26", "overlap", "EMA", "26-bar exponential moving average of close (SMA-seeded)", timeperiod=26,
       memory=300),
    ta("ema_50", "overlap", "EMA", "50-bar exponential moving average of close (SMA-seeded)", timeperiod=50,
       memory=550),
    ta("wma_20", "overlap", "WMA", "20-bar linearly weighted moving average of close", timeperiod=20),
    ta("dema_20", "overlap", "DEMA", "20-bar double exponential moving average of close", timeperiod=20,
       memory=300),
    ta("tema_20", "overlap", "TEMA", "20-bar triple exponential moving average of close", timeperiod=20,
       memory=300),
    ta("trima_20", "overlap", "TRIMA", "20-bar triangular moving average of close", timeperiod=20),
    ta("t3_5", "overlap", "T3", "Tillson T3 moving average of close, 5 bars, volume factor 0.7", timeperiod=5,
       vfactor=0.7, memory=150),
    ta("bb_upper", "overlap", "BBANDS", "Spec column: upper Bollinger band, SMA(close,20) + 2 population std devs",
       output=0, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0),
    ta("bb_middle", "overlap", "BBANDS", "Middle Bollinger band, SMA(close,20)", output=1, timeperiod=20,
       nbdevup=2.0, nbdevdn=2.0, matype=0),
    ta("bb_lower", "overlap", "BBANDS", "Lower Bollinger band, SMA(close,20) - 2 population std devs", output=2,
       timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0),
    ta("midpoint_14", "overlap", "MIDPOINT", "(highest close + lowest close) / 2 over 14 bars", timeperiod=14),
    ta("midprice_14", "overlap", "MIDPRICE", "(highest high + lowest low) / 2 over 14 bars", inputs=HL,
       timeperiod=14),
    ta("ht_trendline", "overlap", "HT_TRENDLINE", "Hilbert transform instantaneous trendline of close",
       memory=400),
]  # fmt: skip

MOMENTUM: list[FeatureSpec] = [
    ta("rsi_1d", "momentum", "RSI", "Spec column: 14-bar Wilder RSI of close (0-100); '1d' is the daily bar, "
       "on other intervals it is RSI(14) of that interval's bars", timeperiod=14, memory=350),
    ta("rsi_7", "momentum", "RSI", "7-bar Wilder RSI of close", timeperiod=7, memory=150),
    ta("rsi_21", "momentum", "RSI", "21-bar Wilder RSI of close", timeperiod=21, memory=500),
    ta("macd", "momentum", "MACD", "Spec column: TA-Lib MACD(12,26,9) line: EMA12 - EMA26 of close with both EMAs "
       "seeded at bar 25 (TA-Lib's seeding, not EMA(12) - EMA(26) computed separately)", output=0, fastperiod=12,
       slowperiod=26, signalperiod=9, memory=350),
    ta("macd_signal", "momentum", "MACD", "9-bar EMA of the MACD line", output=1, fastperiod=12, slowperiod=26,
       signalperiod=9, memory=350),
    ta("macd_hist", "momentum", "MACD", "MACD line minus its signal", output=2, fastperiod=12, slowperiod=26,
       signalperiod=9, memory=350),
    ta("ppo_12_26", "momentum", "PPO", "Percentage price oscillator, (EMA12 - EMA26) / EMA26 * 100", fastperiod=12,
       slowperiod=26, matype=1, memory=350),
    ta("apo_12_26", "momentum", "APO", "Absolute price oscillator, EMA12 - EMA26", fastperiod=12, slowperiod=26,
       matype=1, memory=350),
    ta("mom_10", "momentum", "MOM", "close - close 10 bars ago", timeperiod=10),
    ta("roc_10", "momentum", "ROC", "(close / close 10 bars ago - 1) * 100", timeperiod=10),
    ta("cmo_14", "momentum", "CMO", "14-bar Chande momentum oscillator (Wilder-smoothed in TA-Lib)", timeperiod=14,
       memory=350),
    ta("adx_14", "momentum", "ADX", "14-bar average directional index", inputs=HLC, timeperiod=14, memory=400),
    ta("adxr_14", "momentum", "ADXR", "14-bar ADX rating, (ADX + ADX 13 bars ago) / 2", inputs=HLC,
       timeperiod=14, memory=400),
    ta("dx_14", "momentum", "DX", "14-bar directional movement index", inputs=HLC, timeperiod=14, memory=350),
    ta("plus_di_14", "momentum", "PLUS_DI", "14-bar plus directional indicator", inputs=HLC, timeperiod=14,
       memory=350),
    ta("minus_di_14", "momentum", "MINUS_DI", "14-bar minus directional indicator", inputs=HLC, timeperiod=14,
       memory=350),
    ta("plus_dm_14", "momentum", "PLUS_DM", "14-bar Wilder-smoothed plus directional movement", inputs=HL,
       timeperiod=14, memory=350),
    ta("minus_dm_14", "momentum", "MINUS_DM", "14-bar Wilder-smoothed minus directional movement", inputs=HL,
       timeperiod=14, memory=350),
    ta("aroon_down_14", "momentum", "AROON", "14-bar Aroon down", inputs=HL, output=0, timeperiod=14),
    ta("aroon_up_14", "momentum", "AROON", "14-bar Aroon up", inputs=HL, output=1, timeperiod=14),
    ta("aroonosc_14", "momentum", "AROONOSC", "14-bar Aroon oscillator (up - down)", inputs=HL, timeperiod=14),
    ta("bop", "momentum", "BOP", "Balance of power, (close - open) / (high - low)", inputs=OHLC),
    ta("cci_14", "momentum", "CCI", "14-bar commodity channel index", inputs=HLC, timeperiod=14),
    ta("cci_20", "momentum", "CCI", "20-bar commodity channel index", inputs=HLC, timeperiod=20),
    ta("mfi_14", "momentum", "MFI", "14-bar money flow index", inputs=HLCV, timeperiod=14),
    ta("stoch_k", "momentum", "STOCH", "Slow stochastic %K (14, 3, 3, SMA)", inputs=HLC, output=0,
       fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0),
    ta("stoch_d", "momentum", "STOCH", "Slow stochastic %D (14, 3, 3, SMA)", inputs=HLC, output=1,
       fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0),
    ta("stochf_k", "momentum", "STOCHF", "Fast stochastic %K (5, 3, SMA)", inputs=HLC, output=0, fastk_period=5,
       fastd_period=3, fastd_matype=0),
    ta("stochf_d", "momentum", "STOCHF", "Fast stochastic %D (5, 3, SMA)", inputs=HLC, output=1, fastk_period=5,
       fastd_period=3, fastd_matype=0),
    ta("stochrsi_k", "momentum", "STOCHRSI", "Stochastic RSI %K (RSI 14, 5, 3)", output=0, timeperiod=14,
       fastk_period=5, fastd_period=3, fastd_matype=0, memory=350),
    ta("stochrsi_d", "momentum", "STOCHRSI", "Stochastic RSI %D (RSI 14, 5, 3)", output=1, timeperiod=14,
       fastk_period=5, fastd_period=3, fastd_matype=0, memory=350),
    ta("trix_15", "momentum", "TRIX", "1-bar rate of change of a triple 15-bar EMA of close", timeperiod=15,
       memory=400),
    ta("ultosc", "momentum", "ULTOSC", "Ultimate oscillator (7, 14, 28)", inputs=HLC, timeperiod1=7,
       timeperiod2=14, timeperiod3=28),
    ta("willr_14", "momentum", "WILLR", "14-bar Williams %R", inputs=HLC, timeperiod=14),
]  # fmt: skip

VOLUME: list[FeatureSpec] = [
    ta(
        "adosc_3_10",
        "volume",
        "ADOSC",
        "Chaikin A/D oscillator, EMA3(A/D line) - EMA10(A/D line)",
        inputs=HLCV,
        fastperiod=3,
        slowperiod=10,
        memory=200,
    ),
]

VOLATILITY: list[FeatureSpec] = [
    ta(
        "atr",
        "volatility",
        "ATR",
        "Spec column: 14-bar Wilder average true range",
        inputs=HLC,
        timeperiod=14,
        memory=350,
    ),
    ta("natr_14", "volatility", "NATR", "ATR(14) / close * 100", inputs=HLC, timeperiod=14, memory=350),
    ta("trange", "volatility", "TRANGE", "True range, max(high, prev close) - min(low, prev close)", inputs=HLC),
    ta("stddev_20", "volatility", "STDDEV", "20-bar population standard deviation of close", timeperiod=20, nbdev=1.0),
]

CYCLE: list[FeatureSpec] = [
    ta("ht_dcperiod", "cycle", "HT_DCPERIOD", "Hilbert transform dominant cycle period (bars)", memory=400),
    ta("ht_phasor_inphase", "cycle", "HT_PHASOR", "Hilbert transform phasor, in-phase component", output=0, memory=400),
    ta(
        "ht_phasor_quadrature",
        "cycle",
        "HT_PHASOR",
        "Hilbert transform phasor, quadrature component",
        output=1,
        memory=400,
    ),
]

PRICE_TRANSFORM: list[FeatureSpec] = [
    ta("avgprice", "price_transform", "AVGPRICE", "(open + high + low + close) / 4", inputs=OHLC),
    ta("medprice", "price_transform", "MEDPRICE", "(high + low) / 2", inputs=HL),
    ta("typprice", "price_transform", "TYPPRICE", "(high + low + close) / 3", inputs=HLC),
    ta("wclprice", "price_transform", "WCLPRICE", "(high + low + 2 * close) / 4", inputs=HLC),
]

STATISTICS: list[FeatureSpec] = [
    ta(
        "linearreg_14",
        "statistics",
        "LINEARREG",
        "14-bar least-squares line of close, value at the last bar",
        timeperiod=14,
    ),
    ta(
        "linearreg_slope_14",
        "statistics",
        "LINEARREG_SLOPE",
        "Slope of the 14-bar regression line of close",
        timeperiod=14,
    ),
    ta(
        "linearreg_angle_14",
        "statistics",
        "LINEARREG_ANGLE",
        "Angle (degrees) of the 14-bar regression line",
        timeperiod=14,
    ),
    ta(
        "linearreg_intercept_14",
        "statistics",
        "LINEARREG_INTERCEPT",
        "Intercept of the 14-bar regression line",
        timeperiod=14,
    ),
    ta("tsf_14", "statistics", "TSF", "14-bar time series forecast (regression line extended one bar)", timeperiod=14),
    ta(
        "correl_close_volume_20",
        "statistics",
        "CORREL",
        "20-bar Pearson correlation of close and volume",
        inputs=("close", "volume"),
        timeperiod=20,
    ),
]
