"""Walk-forward training: every reported number comes from bars the model did not train on.

For each fold (see :mod:`workstation.ml.splits`) a fresh model is fitted on the purged past and scored
on the next block of time, next to a naive baseline fitted on the same training rows and scored on the
same test rows. Classifiers are calibrated inside each fold on the latest part of its training rows,
so the held-out log loss and Brier score judge the probabilities a user will actually see. The model
that is saved is then fitted the same way on all labelled rows.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from workstation.errors import ConfigurationError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.ml import dataset as ds
from workstation.ml.artifacts import TrainedModel
from workstation.ml.calibration import CalibratedClassifier, ProbabilityCalibrator, RegressionConfidence
from workstation.ml.calibration import reliability_table as make_reliability_table
from workstation.ml.constants import MODEL_TYPES
from workstation.ml.errors import InsufficientDataError
from workstation.ml.estimators import build_estimator, default_hyperparameters, fit_estimator, raw_scores
from workstation.ml.importance import permutation_importance
from workstation.ml.labels import add_labels, is_classification, validate_target
from workstation.ml.metrics import (
    classification_metrics,
    majority_baseline,
    persistence_baseline,
    regression_metrics,
)
from workstation.ml.splits import calibration_split, walk_forward_folds


@dataclass(frozen=True)
class TrainingSpec:
    model_type: str
    target: str
    symbols: tuple[str, ...]
    interval: str = "1d"
    horizon: int = 1
    start: datetime | None = None
    end: datetime | None = None
    feature_version: str = ds.DEFAULT_FEATURE_VERSION
    features: tuple[str, ...] | None = None
    n_folds: int = 5
    calibration_fraction: float = 0.2
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    name: str | None = None

    def validate(self) -> None:
        validate_target(self.target, self.horizon)
        if self.model_type not in MODEL_TYPES:
            raise ConfigurationError(f"unknown model type {self.model_type!r}; choose one of {', '.join(MODEL_TYPES)}")
        if not self.symbols:
            raise ConfigurationError("give at least one symbol")
        if not 0.05 <= self.calibration_fraction <= 0.5:
            raise ConfigurationError("calibration fraction must be between 0.05 and 0.5")
        if self.start and self.end and self.start > self.end:
            raise ConfigurationError("start is after end")


@dataclass
class Dataset:
    frame: pd.DataFrame  # labelled rows only: symbol, timestamp, source, OHLCV, features, label, label_end
    x: np.ndarray  # (rows, features) or (rows, sequence_length, features)
    y: np.ndarray
    features: list[str]
    sequence_length: int


@dataclass
class TrainingResult:
    model: TrainedModel
    parameters: dict[str, Any]
    metrics: dict[str, Any]  # overall, on the pooled held-out folds
    baseline_metrics: dict[str, Any]
    folds: list[dict[str, Any]]
    reliability: list[dict[str, Any]]
    feature_importance: list[dict[str, Any]]
    # Direction models: pooled held-out confusion counts at the 0.5 probability threshold.
    confusion: dict[str, int] | None = None


def build_dataset(engine: Any, spec: TrainingSpec, sequence_length: int = 1) -> Dataset:
    features = ds.resolve_features(engine, spec.features)
    frame = ds.load_history(
        engine, spec.symbols, spec.interval, features, start=spec.start, end=spec.end,
        feature_version=spec.feature_version,
    )  # fmt: skip
    labelled = add_labels(frame, spec.target, spec.horizon)
    empty = [f for f in features if not labelled[f].notna().any()]
    if empty and spec.features is not None:
        raise InsufficientDataError(f"no values at all for the requested feature(s) {', '.join(empty[:5])}")
    # A column with no value in the training data carries no information, and some estimators (the
    # histogram binning of gradient boosting) cannot fit one: the model is trained without it, and its
    # stored feature list (what predictions feed it) says so.
    features = [f for f in features if f not in set(empty)]
    x_all = labelled[features].to_numpy(dtype=np.float64)
    if sequence_length > 1:
        from workstation.ml.lstm import sequence_windows

        x_all = sequence_windows(x_all, labelled["symbol"].to_numpy(), sequence_length)
    keep = labelled["label"].notna().to_numpy() & labelled["label_end"].notna().to_numpy()
    if keep.sum() == 0:
        raise InsufficientDataError("no labelled rows: every bar lacks the next horizon bars")
    rows = labelled[keep].reset_index(drop=True)
    y = rows["label"].to_numpy(dtype=np.float64)
    if is_classification(spec.target):
        y = y.astype(np.int64)
    return Dataset(rows, x_all[keep], y, features, sequence_length)


class _Stages:
    """Maps (stage, fraction within stage) to one ProgressUpdate stream."""

    def __init__(self, callback: ProgressCallback, count: int) -> None:
        self.callback, self.count, self.stage, self.label = callback, count, 0, ""

    def begin(self, stage: int, label: str) -> None:
        self.stage, self.label = stage, label
        self.callback(ProgressUpdate(stage * 100, self.count * 100, label))

    def __call__(self, fraction: float, detail: str) -> None:
        done = int((self.stage + min(max(fraction, 0.0), 1.0)) * 100)
        self.callback(ProgressUpdate(done, self.count * 100, f"{self.label}: {detail}"))


def _fit_predictor(
    spec: TrainingSpec, params: dict[str, Any], data: Dataset, rows: np.ndarray, progress: _Stages, cancel: CancelToken
) -> tuple[Any, ProbabilityCalibrator | None]:
    """A model fitted on ``rows`` (classifiers: fitted on the earlier part, calibrated on the tail)."""
    estimator = build_estimator(spec.model_type, spec.target, params)
    if not is_classification(spec.target):
        return fit_estimator(estimator, data.x[rows], data.y[rows], progress, cancel), None
    fit_rows, calibration_rows = calibration_split(
        rows, data.frame["timestamp"], data.frame["label_end"], spec.calibration_fraction
    )
    if len(np.unique(data.y[fit_rows])) < 2:
        raise InsufficientDataError("a training block holds one class only; widen the date range")
    fit_estimator(estimator, data.x[fit_rows], data.y[fit_rows], progress, cancel)
    calibrator = ProbabilityCalibrator().fit(raw_scores(estimator, data.x[calibration_rows]), data.y[calibration_rows])
    return CalibratedClassifier(estimator, calibrator), calibrator


def _score(spec: TrainingSpec, model: Any, data: Dataset, test: np.ndarray) -> np.ndarray:
    if is_classification(spec.target):
        return np.asarray(model.predict_proba(data.x[test])[:, 1], dtype=float)
    return np.asarray(model.predict(data.x[test]), dtype=float)


def _metrics(spec: TrainingSpec, y: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    return classification_metrics(y, predicted) if is_classification(spec.target) else regression_metrics(y, predicted)


def train(
    engine: Any,
    spec: TrainingSpec,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> TrainingResult:
    """Walk-forward evaluation against the baseline, then the final fit. Raises JobCancelledError on cancel."""
    spec.validate()
    cancel = cancel or CancelToken()
    stages = _Stages(progress, spec.n_folds + 3)
    stages.begin(0, "reading features")
    sequence_length = int(spec.hyperparameters.get("sequence_length", 20)) if spec.model_type == "lstm" else 1
    data = build_dataset(engine, spec, sequence_length)
    params = default_hyperparameters(spec.model_type, spec.target, len(data.y)) | dict(spec.hyperparameters)
    if spec.model_type == "lstm":
        params["sequence_length"] = sequence_length
    timestamps, label_end = data.frame["timestamp"], data.frame["label_end"]
    folds = walk_forward_folds(timestamps, label_end, spec.n_folds)
    persistence = data.frame["persistence"].to_numpy(dtype=float)

    fold_reports: list[dict[str, Any]] = []
    held_out_y, held_out_pred, held_out_base = [], [], []
    last_model: Any = None
    for fold in folds:
        stages.begin(fold.index, f"fold {fold.index}/{len(folds)}")
        model, _ = _fit_predictor(spec, params, data, fold.train, stages, cancel)
        predicted = _score(spec, model, data, fold.test)
        y_test, y_train = data.y[fold.test], data.y[fold.train]
        if is_classification(spec.target):
            baseline = majority_baseline(y_train, len(fold.test))
        else:
            baseline = persistence_baseline(persistence[fold.test], y_train)
        report = fold.describe(timestamps, label_end)
        report["metrics"] = _metrics(spec, y_test, predicted)
        report["baseline_metrics"] = _metrics(spec, y_test, baseline)
        fold_reports.append(report)
        held_out_y.append(y_test)
        held_out_pred.append(predicted)
        held_out_base.append(baseline)
        last_model = model
        cancel.raise_if_cancelled()

    y_all, pred_all, base_all = (np.concatenate(a) for a in (held_out_y, held_out_pred, held_out_base))
    overall, baseline_overall = _metrics(spec, y_all, pred_all), _metrics(spec, y_all, base_all)

    stages.begin(len(folds) + 1, "feature importance (last fold, held out)")
    importance = permutation_importance(
        lambda x: _score_array(spec, last_model, x), data.x[folds[-1].test], data.y[folds[-1].test],
        data.features, classification=is_classification(spec.target), cancel=cancel,
    )  # fmt: skip

    stages.begin(len(folds) + 2, "final model on all rows")
    everything = np.arange(len(data.y))
    final, calibrator = _fit_predictor(spec, params, data, everything, stages, cancel)
    regression_confidence = None
    reliability: list[dict[str, Any]] = []
    if is_classification(spec.target):
        reliability = list(make_reliability_table(y_all, pred_all))
    else:
        regression_confidence = RegressionConfidence().fit(y_all, pred_all)
        reliability = list(regression_confidence.table())
    trained = TrainedModel(
        model_type=spec.model_type, target=spec.target, horizon=spec.horizon, interval=spec.interval,
        feature_version=spec.feature_version, feature_names=list(data.features), estimator=final,
        sequence_length=sequence_length, regression_confidence=regression_confidence,
        library_versions={"sklearn": sklearn.__version__, "numpy": np.__version__, "python": platform.python_version()},
    )  # fmt: skip
    stages.callback(ProgressUpdate(stages.count * 100, stages.count * 100, "done"))
    parameters = _parameters(spec, params, data, folds_count=len(folds), calibrator=calibrator)
    confusion = confusion_counts(y_all, pred_all) if is_classification(spec.target) else None
    return TrainingResult(
        trained, parameters, overall, baseline_overall, fold_reports, reliability, importance, confusion
    )


def confusion_counts(y: np.ndarray, p_up: np.ndarray, threshold: float = 0.5) -> dict[str, int]:
    """True/false positives and negatives of "up" predictions (probability ≥ threshold)."""
    actual, predicted = np.asarray(y).astype(bool), np.asarray(p_up) >= threshold
    return {
        "true_up": int(np.sum(actual & predicted)),
        "false_up": int(np.sum(~actual & predicted)),
        "true_down": int(np.sum(~actual & ~predicted)),
        "false_down": int(np.sum(actual & ~predicted)),
    }


def _score_array(spec: TrainingSpec, model: Any, x: np.ndarray) -> np.ndarray:
    if is_classification(spec.target):
        return np.asarray(model.predict_proba(x)[:, 1], dtype=float)
    return np.asarray(model.predict(x), dtype=float)


def _parameters(
    spec: TrainingSpec, params: dict[str, Any], data: Dataset, *, folds_count: int,
    calibrator: ProbabilityCalibrator | None,
) -> dict[str, Any]:  # fmt: skip
    frame = data.frame
    sources = frame.groupby("symbol")["source"].first().to_dict()
    return {
        "hyperparameters": params,
        "features": list(data.features),
        "feature_version": spec.feature_version,
        "target": spec.target,
        "horizon": spec.horizon,
        "interval": spec.interval,
        "symbols": list(spec.symbols),
        "sources": {str(k): str(v) for k, v in sources.items()},
        "training_window": {
            "start": frame["timestamp"].min().isoformat(),
            "end": frame["timestamp"].max().isoformat(),
            "requested_start": spec.start.isoformat() if spec.start else None,
            "requested_end": spec.end.isoformat() if spec.end else None,
        },
        "rows": len(frame),
        "validation": {"scheme": "walk-forward, expanding window", "folds": folds_count, "purge_bars": spec.horizon},
        "calibration": None
        if calibrator is None
        else {"method": calibrator.method, "rows": calibrator.rows, "tail_fraction": spec.calibration_fraction},
        "sequence_length": data.sequence_length,
    }
