"""The feature catalog: one entry per column of feature_engineered_data, in storage order.

Changing anything here (a column, a parameter, a formula) changes what the numbers mean, so it must
come with a new FEATURE_VERSION and a migration that adds the new columns; rows of the old and the new
version coexist in the table, told apart by feature_version.
"""

from __future__ import annotations

from workstation.features.catalog_derived import (
    DERIVED,
    RETURNS,
    VOLATILITY_DERIVED,
    VOLUME_DERIVED,
    lagged,
)
from workstation.features.catalog_patterns import PATTERNS
from workstation.features.catalog_ta import (
    CYCLE,
    MOMENTUM,
    OVERLAP,
    PRICE_TRANSFORM,
    STATISTICS,
    VOLATILITY,
    VOLUME,
)
from workstation.features.spec import FeatureSpec

FEATURE_VERSION = "3.0"

# The spec's own feature columns; they existed before the catalog (migration 0001).
SPEC_FEATURES = ("returns", "rsi_1d", "price_ma_short", "bb_upper", "macd", "atr")

_BASE: list[FeatureSpec] = [
    *OVERLAP,
    *MOMENTUM,
    *VOLUME,
    *VOLUME_DERIVED,
    *VOLATILITY,
    *VOLATILITY_DERIVED,
    *CYCLE,
    *PRICE_TRANSFORM,
    *STATISTICS,
    *PATTERNS,
    *RETURNS,
    *DERIVED,
]
_BY_NAME = {spec.name: spec for spec in _BASE}

_LAGS = (
    ("rsi_1d", (1, 2, 5)),
    ("macd", (1,)),
    ("macd_hist", (1,)),
    ("returns", (1, 2, 3, 5)),
    ("atr", (1,)),
    ("volume_ratio_20", (1,)),
    ("zscore_close_20", (1,)),
)

CATALOG: tuple[FeatureSpec, ...] = (
    *_BASE,
    *(lagged(_BY_NAME[name], k) for name, lags in _LAGS for k in lags),
)
CATALOG_BY_NAME: dict[str, FeatureSpec] = {spec.name: spec for spec in CATALOG}
FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in CATALOG)
# Columns migration 0002 adds (the spec's named ones are already in the table).
ADDED_COLUMNS: tuple[str, ...] = tuple(name for name in FEATURE_NAMES if name not in SPEC_FEATURES)
# Bars an incremental build replays before the first bar it rewrites.
HISTORY_BARS: int = max(spec.history for spec in CATALOG)

if len(CATALOG_BY_NAME) != len(CATALOG):  # pragma: no cover - a catalog edit that repeats a name
    raise RuntimeError("duplicate feature names in the catalog")
