"""Probability calibration on a held-out tail, the reliability table, and confidence for regressors.

A classifier's raw scores (a forest's vote share, a boosted model's sigmoid) are not probabilities.
Each classifier is fitted on the earlier part of its training rows and a monotone map from raw
score to observed frequency is fitted on the later part (isotonic with enough rows, Platt's
sigmoid otherwise), so a confidence of 0.6 means "right about 60% of the time" on unseen bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

# Isotonic steps overfit noisy returns with a few thousand rows (probabilities of 0 or 1 on thin
# bins); Platt's two-parameter sigmoid is the robust choice until the tail is large.
ISOTONIC_MIN_ROWS = 20_000
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _EPS, 1 - _EPS)
    return np.asarray(np.log(q / (1 - q)), dtype=float).reshape(-1, 1)


@dataclass
class ProbabilityCalibrator:
    method: str = "identity"
    rows: int = 0
    _isotonic: IsotonicRegression | None = None
    _platt: LogisticRegression | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray) -> ProbabilityCalibrator:
        self.rows = len(y)
        if len(np.unique(y)) < 2:
            self.method = "identity"  # one class only in the tail: nothing to learn from
        elif len(y) >= ISOTONIC_MIN_ROWS:
            self.method = "isotonic"
            self._isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
        else:
            self.method = "sigmoid"
            self._platt = LogisticRegression(C=1e6).fit(_logit(raw), y.astype(int))
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        if self.method == "isotonic" and self._isotonic is not None:
            out = self._isotonic.predict(raw)
        elif self.method == "sigmoid" and self._platt is not None:
            out = self._platt.predict_proba(_logit(raw))[:, 1]
        else:
            out = raw
        return np.asarray(np.clip(np.asarray(out, dtype=float), 0.0, 1.0), dtype=float)


class CalibratedClassifier:
    """A fitted classifier plus its calibrator; ``predict_proba`` returns calibrated [P(0), P(1)]."""

    def __init__(self, base: Any, calibrator: ProbabilityCalibrator) -> None:
        self.base = base
        self.calibrator = calibrator

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = self.calibrator.transform(self.base.predict_proba(x)[:, 1])
        return np.column_stack([1 - p, p])


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float | int]]:
    """Observed up-frequency per predicted-probability bin (only non-empty bins)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table: list[dict[str, float | int]] = []
    for b in range(bins):
        mask = index == b
        if not mask.any():
            continue
        table.append(
            {
                "bin_lower": float(edges[b]),
                "bin_upper": float(edges[b + 1]),
                "count": int(mask.sum()),
                "mean_predicted": float(p[mask].mean()),
                "observed_frequency": float(y[mask].mean()),
            }
        )
    return table


@dataclass
class RegressionConfidence:
    """Confidence of a regression forecast: the share of held-out forecasts of similar size whose
    realised value landed within ``tolerance`` (relative) of the forecast."""

    tolerance: float = 0.25
    edges: list[float] = field(default_factory=list)
    hit_rates: list[float] = field(default_factory=list)

    def fit(self, y: np.ndarray, y_pred: np.ndarray, bins: int = 10) -> RegressionConfidence:
        hits = np.abs(y - y_pred) <= self.tolerance * np.abs(y_pred)
        quantiles = np.unique(np.quantile(y_pred, np.linspace(0, 1, bins + 1)))
        self.edges = [float(q) for q in quantiles[1:-1]]
        index = np.digitize(y_pred, quantiles[1:-1])
        overall = float(hits.mean()) if len(hits) else 0.0
        self.hit_rates = [
            float(hits[index == b].mean()) if (index == b).any() else overall for b in range(len(quantiles) - 1 or 1)
        ]
        return self

    def confidence(self, y_pred: np.ndarray) -> np.ndarray:
        if not self.hit_rates:
            return np.full(len(y_pred), np.nan)
        index = np.clip(np.digitize(y_pred, self.edges), 0, len(self.hit_rates) - 1)
        return np.asarray(np.clip(np.asarray(self.hit_rates)[index], 0.0, 1.0), dtype=float)

    def table(self) -> list[dict[str, float | None]]:
        lowers: list[float | None] = [None, *self.edges]
        uppers: list[float | None] = [*self.edges, None]
        return [
            {"forecast_from": lo, "forecast_to": hi, "hit_rate": rate}
            for lo, hi, rate in zip(lowers, uppers, self.hit_rates, strict=False)
        ]
