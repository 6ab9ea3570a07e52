"""Candlestick patterns: TA-Lib's pattern recognisers, +100 bullish / -100 bearish / 0 none (some give ±200
for a confirmed pattern). Each looks at a finite window of bars (the pattern plus TA-Lib's 10-bar body and
shadow averages), so a recompute needs no more history than the look-back.
"""

from __future__ import annotations

from workstation.features.spec import FeatureSpec, ta

_PATTERNS = (
    ("CDLDOJI", "Doji: open and close nearly equal"),
    ("CDLDOJISTAR", "Doji star: a doji gapping away from a long candle"),
    ("CDLDRAGONFLYDOJI", "Dragonfly doji: doji with a long lower shadow"),
    ("CDLGRAVESTONEDOJI", "Gravestone doji: doji with a long upper shadow"),
    ("CDLHAMMER", "Hammer: small body on top of a long lower shadow after a decline"),
    ("CDLINVERTEDHAMMER", "Inverted hammer: small body below a long upper shadow after a decline"),
    ("CDLHANGINGMAN", "Hanging man: hammer shape after an advance"),
    ("CDLSHOOTINGSTAR", "Shooting star: inverted hammer shape after an advance"),
    ("CDLENGULFING", "Engulfing: the body engulfs the previous opposite body"),
    ("CDLHARAMI", "Harami: a small body inside the previous long opposite body"),
    ("CDLHARAMICROSS", "Harami cross: a doji inside the previous long body"),
    ("CDLPIERCING", "Piercing: bullish close above the middle of the previous black body"),
    ("CDLDARKCLOUDCOVER", "Dark cloud cover: bearish close below the middle of the previous white body"),
    ("CDLMORNINGSTAR", "Morning star: three-bar bullish reversal"),
    ("CDLEVENINGSTAR", "Evening star: three-bar bearish reversal"),
    ("CDL3WHITESOLDIERS", "Three advancing white soldiers"),
    ("CDL3BLACKCROWS", "Three black crows"),
    ("CDLMARUBOZU", "Marubozu: long body with (almost) no shadows"),
    ("CDLSPINNINGTOP", "Spinning top: small body with shadows longer than the body"),
    ("CDLHIGHWAVE", "High-wave candle: small body, very long shadows"),
    ("CDLLONGLINE", "Long line candle: long body"),
    ("CDLSHORTLINE", "Short line candle: short body, short shadows"),
    ("CDLBELTHOLD", "Belt hold: long body opening at its extreme"),
    ("CDLKICKING", "Kicking: two opposite marubozu with a gap"),
    ("CDLHIKKAKE", "Hikkake: inside-bar false breakout (±200 when confirmed)"),
)

PATTERNS: list[FeatureSpec] = [
    ta(f"cdl_{func[3:].lower()}", "pattern", func, description, inputs=("open", "high", "low", "close"))
    for func, description in _PATTERNS
]
