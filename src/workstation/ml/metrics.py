"""Held-out metrics for classifiers and regressors, and the naive baselines they must beat."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from workstation.ml.constants import CLASSIFICATION_METRICS, HIGHER_IS_BETTER, REGRESSION_METRICS

__all__ = ["CLASSIFICATION_METRICS", "HIGHER_IS_BETTER", "REGRESSION_METRICS"]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def classification_metrics(y_true: np.ndarray, p_up: np.ndarray) -> dict[str, float | None]:
    """Metrics of probabilities ``p_up`` for class 1; the predicted class is ``p_up >= 0.5``."""
    y = y_true.astype(int)
    p = np.clip(p_up.astype(float), 0.0, 1.0)
    predicted = (p >= 0.5).astype(int)
    both_classes = len(np.unique(y)) == 2
    return {
        "accuracy": _finite(accuracy_score(y, predicted)),
        "precision": _finite(precision_score(y, predicted, zero_division=0)),
        "recall": _finite(recall_score(y, predicted, zero_division=0)),
        "f1": _finite(f1_score(y, predicted, zero_division=0)),
        "roc_auc": _finite(roc_auc_score(y, p)) if both_classes else None,
        "log_loss": _finite(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "brier": _finite(brier_score_loss(y, p, pos_label=1)),
        "rows": float(len(y)),
        "up_rate": _finite(float(y.mean())) if len(y) else None,
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    return {
        "mae": _finite(mean_absolute_error(y_true, y_pred)),
        "rmse": _finite(math.sqrt(float(np.mean((y_true - y_pred) ** 2)))),
        "r2": _finite(r2_score(y_true, y_pred)) if len(y_true) > 1 else None,
        "rows": float(len(y_true)),
    }


def majority_baseline(y_train: np.ndarray, n_test: int) -> np.ndarray:
    """The training fold's class frequency as a constant probability: it predicts the majority class
    and, for the probability metrics, the base rate (the honest "no skill" forecast)."""
    return np.full(n_test, float(np.mean(y_train)))


def persistence_baseline(persistence: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """Tomorrow's volatility = the last ``horizon`` bars' realised volatility; where that is not yet
    known (a symbol's first bars) the training mean stands in."""
    return np.where(np.isnan(persistence), float(np.mean(y_train)), persistence)


def beats_baseline(metrics: dict[str, Any], baseline: dict[str, Any]) -> dict[str, bool | None]:
    """Per metric: does the model do better than the baseline on the same held-out rows?"""
    verdict: dict[str, bool | None] = {}
    for name, higher in HIGHER_IS_BETTER.items():
        if name not in metrics:
            continue
        model, base = metrics.get(name), baseline.get(name)
        verdict[name] = None if model is None or base is None else (model > base if higher else model < base)
    return verdict
