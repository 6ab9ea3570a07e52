"""Where one input value sits among the values the model was trained on.

Training stores, per feature, the quantiles of the final fit's rows (``parameters["feature_quantiles"]``
of the registry row); an explanation reads a prediction's stored input vector against them. A
percentile is read off the stored quantile curve by linear interpolation: exact at the stored levels,
within a few points between them, which is what "this value was unusual" needs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# Fine in the tails, where "stood out" is decided; coarse in the middle, where nothing does.
QUANTILE_LEVELS: tuple[float, ...] = (0.0, 0.01, 0.025, *(k / 20 for k in range(1, 20)), 0.975, 0.99, 1.0)


def training_quantiles(x: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Per-feature quantiles of a training matrix (rows × features, or rows × steps × features: the last
    step is the bar the prediction is made on). NaNs are left out; a feature with none left stores None."""
    matrix = x[:, -1, :] if x.ndim == 3 else x
    matrix = np.asarray(matrix, dtype=np.float64)
    levels = np.asarray(QUANTILE_LEVELS)
    features: dict[str, list[float] | None] = {}
    for j, name in enumerate(names):
        column = matrix[:, j]
        column = column[np.isfinite(column)]
        features[str(name)] = None if not len(column) else [float(v) for v in np.quantile(column, levels)]
    return {"levels": list(QUANTILE_LEVELS), "rows": int(matrix.shape[0]), "features": features}


def percentile(value: float, levels: Sequence[float], quantiles: Sequence[float]) -> float | None:
    """The percentile (0–100) of ``value`` on a stored quantile curve; None when either is unusable."""
    if not math.isfinite(value) or len(levels) != len(quantiles) or len(levels) < 2:
        return None
    q = np.asarray(quantiles, dtype=np.float64)
    if not np.isfinite(q).all():
        return None
    if value < q[0]:
        return 0.0
    if value > q[-1]:
        return 100.0
    left, right = int(np.searchsorted(q, value, "left")), int(np.searchsorted(q, value, "right"))
    if right > left:  # equal to stored quantiles: the middle of their levels (a constant stretch ties)
        level = (levels[left] + levels[right - 1]) / 2.0
    else:
        span = q[left] - q[left - 1]
        level = levels[left - 1] + (levels[left] - levels[left - 1]) * (value - q[left - 1]) / span
    return round(100.0 * float(level), 2)


def standout_features(
    vector: Mapping[str, Any],
    stats: Mapping[str, Any] | None,
    importance: Sequence[Mapping[str, Any]] = (),
    top: int = 5,
) -> list[dict[str, Any]]:
    """The inputs furthest from the middle of the training data (percentile far from 50), most unusual first.

    Equal distances are ordered by the model's feature importance. LSTM vectors hold a window per feature:
    the last value (the prediction's own bar) is the one compared."""
    features = (stats or {}).get("features") or {}
    levels = (stats or {}).get("levels") or []
    rank = {str(row.get("feature")): i for i, row in enumerate(importance)}
    rows: list[dict[str, Any]] = []
    for name, raw in vector.items():
        value = raw[-1] if isinstance(raw, list) and raw else raw
        if name == "bars" or isinstance(value, list) or value is None or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        curve = features.get(name)
        pct = percentile(number, levels, curve) if curve else None
        rows.append(
            {
                "feature": name,
                "value": number,
                "percentile": pct,
                "median": None if not curve else float(np.interp(0.5, levels, curve)),
                "importance_rank": rank.get(name),
            }
        )
    rows.sort(
        key=lambda r: (
            r["percentile"] is None,
            -abs((r["percentile"] or 50.0) - 50.0),
            r["importance_rank"] if r["importance_rank"] is not None else len(rank),
            r["feature"],
        )
    )
    return rows[:top]
