"""The model families as sklearn Pipelines, with fitting that reports progress and can be cancelled.

* gradient_boosting: HistGradientBoosting, which handles NULLs natively; early stopping is off because
  its validation split would be a random, shuffled sample. The default (``auto``) from
  AUTO_BOOSTING_MIN_ROWS labelled rows on: it bins the data once per fit, so its cost grows far more
  slowly with rows than a forest's, and above MAX_TRAIN_ROWS each fit sees a fixed-seed random sample;
* random_forest: RandomForest on the NULLs directly (scikit-learn's trees handle missing values); each
  tree sees a bootstrap sample of at most FOREST_SAMPLE_ROWS rows (``max_samples``) and leaves hold at
  least 50 rows, which is what bounds its cost on large data. The ``auto`` choice below the threshold;
* logistic: median imputation → standard scaling → LogisticRegression (classifier only);
* lstm: see :mod:`workstation.ml.lstm` (optional extra).

Inputs are float32 (half the memory of float64, and what the forests compute in anyway).

Forests are grown in chunks of trees (warm start), so a GUI sees trees being added and a cancel request
is honoured within one chunk instead of after the whole fit. A boosted model fits in one call (chunks
would re-bin the data and re-predict every tree at each step); its cancel is honoured between fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from workstation.errors import ConfigurationError
from workstation.jobs import CancelToken
from workstation.ml.constants import MODEL_TYPES

# The registry's model_type column uses the spec's names.
REGISTRY_NAMES = {
    "random_forest": "RandomForest",
    "gradient_boosting": "GradientBoosting",
    "logistic": "LogisticRegression",
    "lstm": "LSTM",
}
ID_PREFIXES = {"random_forest": "rf", "gradient_boosting": "gb", "logistic": "logit", "lstm": "lstm"}
SEED = 42
AUTO = "auto"
# From this many labelled rows on, ``auto`` picks gradient boosting; below it, a random forest.
AUTO_BOOSTING_MIN_ROWS = 20_000
# Each forest tree sees a bootstrap sample of at most this many rows: the forest stays as accurate
# (trees are decorrelated anyway) while fit time stops growing with the data.
FOREST_SAMPLE_ROWS = 50_000
# Boosted fits on more rows than this use a fixed-seed random sample of this size (``max_train_rows``;
# null = all rows): on noisy daily returns the extra rows add little and cost linear time.
MAX_TRAIN_ROWS = 300_000
# Hyperparameters the workstation applies itself rather than passing to scikit-learn.
WORKSTATION_PARAMS = ("max_train_rows",)
CHUNK = 25

# Forests grow in chunks of trees (warm start only adds trees). Boosted models fit in one call: each
# warm-started call bins the data again and re-predicts every tree so far, which made a 150-iteration fit
# in chunks of 25 2.7x slower (80,000 x 146 rows: 16.9 s vs 6.3 s); cancel is honoured between fits.
_GROWABLE = (RandomForestClassifier, RandomForestRegressor)

FitProgress = Callable[[float, str], None]


def resolve_model_type(model_type: str, n_rows: int) -> str:
    """``auto`` → gradient_boosting from AUTO_BOOSTING_MIN_ROWS labelled rows on, else random_forest."""
    if model_type != AUTO:
        return model_type
    return "gradient_boosting" if n_rows >= AUTO_BOOSTING_MIN_ROWS else "random_forest"


def default_hyperparameters(model_type: str, target: str, n_rows: int) -> dict[str, Any]:
    classification = target == "price_direction"
    if model_type == "random_forest":
        return {
            "n_estimators": 200,
            "max_depth": 12,
            "min_samples_leaf": 50,
            "max_features": "sqrt" if classification else 1.0 / 3.0,
            "max_samples": FOREST_SAMPLE_ROWS if n_rows > FOREST_SAMPLE_ROWS else None,
            "random_state": SEED,
        }
    if model_type == "gradient_boosting":
        return {
            "max_iter": 150,
            "learning_rate": 0.05,
            "max_leaf_nodes": 15,
            "min_samples_leaf": 200,
            "l2_regularization": 1.0,
            "max_features": 0.5,
            "early_stopping": False,
            "random_state": SEED,
            "max_train_rows": MAX_TRAIN_ROWS,
        }
    if model_type == "logistic":
        if not classification:
            raise ConfigurationError(
                "logistic regression is a classifier; for volatility use random_forest or gradient_boosting"
            )
        return {"C": 1.0, "max_iter": 1000}
    if model_type == "lstm":
        from workstation.ml.lstm import default_lstm_hyperparameters

        return default_lstm_hyperparameters()
    raise ConfigurationError(f"unknown model type {model_type!r}; choose one of {', '.join(MODEL_TYPES)}")


def estimator_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters scikit-learn (or the LSTM) takes: without the workstation's own."""
    return {k: v for k, v in params.items() if k not in WORKSTATION_PARAMS}


def build_estimator(model_type: str, target: str, params: Mapping[str, Any], *, threads: int | None = None) -> Any:
    """The unfitted model; ``threads`` sets a forest's n_jobs (results do not depend on it)."""
    classification = target == "price_direction"
    params = estimator_params(params)
    if model_type == "random_forest" and threads is not None:
        params["n_jobs"] = threads
    try:
        if model_type == "random_forest":
            forest = RandomForestClassifier(**params) if classification else RandomForestRegressor(**params)
            return Pipeline([("model", forest)])
        if model_type == "gradient_boosting":
            boosted = (
                HistGradientBoostingClassifier(**params) if classification else HistGradientBoostingRegressor(**params)
            )
            return Pipeline([("model", boosted)])
        if model_type == "logistic":
            return Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                    ("scale", StandardScaler()),
                    ("model", LogisticRegression(**params)),
                ]
            )
        if model_type == "lstm":
            from workstation.ml.lstm import LSTMEstimator

            return LSTMEstimator(classification=classification, **params)
    except TypeError as exc:
        raise ConfigurationError(f"bad hyperparameter for {model_type}: {exc}") from None
    raise ConfigurationError(f"unknown model type {model_type!r}; choose one of {', '.join(MODEL_TYPES)}")


def _grow_in_chunks(model: Any, x: np.ndarray, y: np.ndarray, progress: FitProgress, cancel: CancelToken) -> None:
    """A forest, CHUNK trees at a time (warm start only adds trees), so cancel and progress act per chunk."""
    total = int(model.n_estimators)
    model.set_params(warm_start=True)
    grown = 0
    while grown < total:
        cancel.raise_if_cancelled()
        grown = min(grown + CHUNK, total)
        model.set_params(n_estimators=grown)
        model.fit(x, y)
        progress(grown / total, f"{grown}/{total} trees")
    model.set_params(warm_start=False)


def fit_estimator(estimator: Any, x: np.ndarray, y: np.ndarray, progress: FitProgress, cancel: CancelToken) -> Any:
    """Fit a pipeline (or the LSTM) in place, reporting the fraction done and honouring ``cancel``."""
    cancel.raise_if_cancelled()
    if isinstance(estimator, Pipeline):
        final = estimator.steps[-1][1]
        if isinstance(final, _GROWABLE):
            transformed = estimator[:-1].fit_transform(x, y) if len(estimator.steps) > 1 else x
            _grow_in_chunks(final, transformed, y, progress, cancel)
            return estimator
        estimator.fit(x, y)
        progress(1.0, "fitted")
        return estimator
    estimator.fit(x, y, progress=progress, cancel=cancel)
    return estimator


def raw_scores(estimator: Any, x: np.ndarray) -> np.ndarray:
    """P(class 1) before calibration."""
    proba = estimator.predict_proba(x)
    classes = list(getattr(estimator, "classes_", [0, 1]))
    if len(classes) == 1:  # the training block had one class only
        return np.full(len(x), float(classes[0]))
    return np.asarray(proba[:, classes.index(1) if 1 in classes else 1], dtype=float)
