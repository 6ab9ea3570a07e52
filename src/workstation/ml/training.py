"""Walk-forward training: every reported number comes from bars the model did not train on.

For each fold (see :mod:`workstation.ml.splits`) a fresh model is fitted on the purged past and scored
on the next block of time, next to a naive baseline fitted on the same training rows and scored on the
same test rows. Classifiers are calibrated inside each fold on the latest part of each symbol's training
rows, so the held-out log loss and Brier score judge the probabilities a user will actually see. The
model that is saved is fitted the same way on all labelled rows. With a hyperparameter grid
(``TrainingSpec.search``) the candidates are chosen first (:mod:`workstation.ml.search`). Folds and the final fit are
independent :class:`~workstation.ml.tasks.FitTask` s run on an executor (the local process pool by
default), side by side where cores allow. The difference to the baseline gets a 95 % block-bootstrap
interval and a verdict (:mod:`workstation.ml.uncertainty`).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import sklearn

from workstation.errors import ConfigurationError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.ml import dataset as ds
from workstation.ml.artifacts import TrainedModel
from workstation.ml.calibration import RegressionConfidence
from workstation.ml.calibration import reliability_table as make_reliability_table
from workstation.ml.constants import MODEL_CHOICES
from workstation.ml.errors import InsufficientDataError
from workstation.ml.estimators import default_hyperparameters, resolve_model_type
from workstation.ml.executors import Publish, published, run_tasks, threads_per_task, training_pool
from workstation.ml.feature_stats import training_quantiles
from workstation.ml.labels import is_classification, validate_target
from workstation.ml.matrix import Dataset, build_dataset
from workstation.ml.metrics import (
    classification_metrics,
    majority_baseline,
    persistence_baseline,
    regression_metrics,
)
from workstation.ml.search import SearchResult, candidate_key, candidate_params, check_folds, choose
from workstation.ml.splits import Fold, calibration_split, walk_forward_folds
from workstation.ml.tasks import FitOutcome, FitTask, largest_first
from workstation.ml.uncertainty import compare, pooled_auc, verdict

__all__ = ["Dataset", "TrainingResult", "TrainingSpec", "build_dataset", "train"]


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
    include_price_levels: bool = False  # feed the price-scaled columns too (see workstation.ml.inputs)
    # A hyperparameter grid (name → values): candidates chosen on all folds but the last (ml.search).
    search: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def validate(self) -> None:
        validate_target(self.target, self.horizon)
        if self.model_type not in MODEL_CHOICES:
            raise ConfigurationError(
                f"unknown model type {self.model_type!r}; choose one of {', '.join(MODEL_CHOICES)}"
            )
        if not self.symbols:
            raise ConfigurationError("give at least one symbol")
        if not 0.05 <= self.calibration_fraction <= 0.5:
            raise ConfigurationError("calibration fraction must be between 0.05 and 0.5")
        if self.start and self.end and self.start > self.end:
            raise ConfigurationError("start is after end")
        if self.search:
            check_folds(self.n_folds)
            candidate_params(self.hyperparameters, self.search)  # the grid's size is checked before reading


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
    comparison: dict[str, Any] = field(default_factory=dict)  # model − baseline with 95 % intervals
    verdict: str = ""  # beats_baseline / no_demonstrated_skill / worse_than_baseline
    model_type: str = ""  # the family trained (what "auto" resolved to)
    # The pooled held-out rows (not stored): y, "model" and "baseline" scores, "timestamps", "folds" — for
    # comparing two models on the same rows (uncertainty.compare).
    held_out: dict[str, np.ndarray] = field(default_factory=dict)


def _metrics(target: str, y: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    return classification_metrics(y, predicted) if is_classification(target) else regression_metrics(y, predicted)


def _tasks(
    spec: TrainingSpec, model_type: str, params: dict[str, Any], data: Dataset, folds: list[Fold], threads: int,
    *, prefix: str = "", first_slot: int = 0, final: bool = True,
) -> list[FitTask]:  # fmt: skip
    """One task per fold (keys ``{prefix}fold N``), plus the final fit and the last fold's importances
    when ``final``; a search's candidates take ``final=False``."""
    classification = is_classification(spec.target)
    stamps, ends, codes = data.timestamps, data.label_end, data.symbol_codes
    max_rows = params.get("max_train_rows")

    def task(key: str, slot: int, rows: np.ndarray, **extra: Any) -> FitTask:
        fit_rows, calibration_rows = rows, None
        if classification:
            fit_rows, calibration_rows = calibration_split(rows, stamps, ends, codes, spec.calibration_fraction)
            if len(np.unique(data.y[fit_rows])) < 2:
                raise InsufficientDataError("a training block holds one class only; widen the date range")
        return FitTask(
            key, slot, model_type, spec.target, params, fit_rows, calibration_rows, threads=threads,
            max_train_rows=None if max_rows is None else int(max_rows), feature_names=tuple(data.features), **extra,
        )  # fmt: skip

    tasks = [
        task(f"{prefix}fold {f.index}", first_slot + i, f.train, score_rows=f.test,
             importance_rows=f.test if final and f is folds[-1] else None)
        for i, f in enumerate(folds)
    ]  # fmt: skip
    if final:
        tasks.append(task("final", first_slot + len(folds), np.arange(len(data.y)), keep_model=True))
    return tasks


def train(
    engine: Any,
    spec: TrainingSpec,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    executor: Executor | None = None,
    publish: Publish | None = None,
) -> TrainingResult:
    """Walk-forward evaluation against the baseline, then the final fit. Raises JobCancelledError on cancel.

    The fits run on ``executor`` (default: the local process pool); ``publish`` turns the training arrays
    into what the executor's tasks open (see :mod:`workstation.ml.executors`). Results do not depend on
    the executor."""
    spec.validate()
    cancel = cancel or CancelToken()
    steps = 1000

    def report(fraction: float, message: str) -> None:
        progress(ProgressUpdate(min(int(fraction * steps), steps), steps, message))

    report(0.0, "reading features")
    if spec.model_type == "lstm":
        from workstation.ml.lstm import require_torch

        require_torch()  # say what to install before reading anything
    sequence_length = int(spec.hyperparameters.get("sequence_length", 20)) if spec.model_type == "lstm" else 1
    data = build_dataset(engine, spec, sequence_length)
    cancel.raise_if_cancelled()
    model_type = resolve_model_type(spec.model_type, len(data.y))
    params = default_hyperparameters(model_type, spec.target, len(data.y)) | dict(spec.hyperparameters)
    if model_type == "lstm":
        params["sequence_length"] = sequence_length
    folds = walk_forward_folds(data.timestamps, data.label_end, spec.n_folds)
    executor = executor or training_pool()
    # Torch's CPU kernels may round differently with another thread count: the LSTM always uses one.
    threads = 1 if model_type == "lstm" else threads_per_task(executor, spec.n_folds + 1)
    # A search's fits take the same thread count, so the chosen candidate's fold fits equal the normal run's.
    candidates = candidate_params(params, spec.search) if spec.search else []
    selection = folds[:-1] if candidates else []
    searching = [
        t for i, c in enumerate(candidates)
        for t in _tasks(spec, model_type, c, data, selection, threads, prefix=f"candidate {i} ",
                        first_slot=i * len(selection), final=False)
    ]  # fmt: skip
    first_slot = len(searching)
    search: SearchResult | None = None
    with published(executor, data.x, data.y, first_slot + len(folds) + 1, cancel, publish) as shared:
        outcomes: dict[str, FitOutcome] = {}
        start = 0.1
        if searching:
            report(start, f"searching {len(candidates)} candidates: {len(searching)} fits ({model_type})")
            found = _run(executor, searching, shared, cancel, lambda f, m: report(0.1 + 0.5 * f, f"search: {m}"))
            tested = {f.index: f.test for f in selection}
            search = choose(spec.target, data.y, candidates, found, tested, folds[-1].index)
            params = candidates[search.chosen]
            # The chosen candidate's selection-fold fits are the normal run's fits (same task): reused.
            for fold in selection:
                outcomes[f"fold {fold.index}"] = replace(found[candidate_key(search.chosen, fold.index)],
                                                         key=f"fold {fold.index}")  # fmt: skip
            start = 0.6
        tasks = [t for t in _tasks(spec, model_type, params, data, folds, threads, first_slot=first_slot)
                 if t.key not in outcomes]  # fmt: skip
        report(start, f"fitting {len(tasks)} models ({model_type})")
        outcomes |= _run(executor, tasks, shared, cancel, lambda f, m: report(start + (0.9 - start) * f, m))
    report(0.9, "evaluating held-out folds")
    result = _evaluate(spec, model_type, params, data, folds, outcomes, search)
    report(1.0, "done")
    return result


def _run(
    executor: Executor, tasks: list[FitTask], shared: Any, cancel: CancelToken, report: Callable[[float, str], None]
) -> dict[str, FitOutcome]:
    weights = {t.key: float(len(t.fit_rows)) for t in tasks}
    return run_tasks(executor, largest_first(tasks), shared, cancel, report, weights)


def _evaluate(
    spec: TrainingSpec, model_type: str, params: dict[str, Any], data: Dataset, folds: list[Fold],
    outcomes: dict[str, FitOutcome], search: SearchResult | None = None,
) -> TrainingResult:  # fmt: skip
    classification = is_classification(spec.target)
    persistence = data.frame["persistence"].to_numpy(dtype=float)
    fold_reports: list[dict[str, Any]] = []
    held_out_pred, held_out_base, fold_ids = [], [], []
    for fold in folds:
        predicted = outcomes[f"fold {fold.index}"].scores
        assert predicted is not None
        y_test, y_train = data.y[fold.test], data.y[fold.train]
        if classification:
            baseline = majority_baseline(y_train, len(fold.test))
        else:
            baseline = persistence_baseline(persistence[fold.test], y_train)
        report = fold.describe(data.frame["timestamp"], data.frame["label_end"])
        report["metrics"] = _metrics(spec.target, y_test, predicted)
        report["baseline_metrics"] = _metrics(spec.target, y_test, baseline)
        fold_reports.append(report)
        held_out_pred.append(predicted)
        held_out_base.append(baseline)
        fold_ids.append(np.full(len(fold.test), fold.index))
    tested = np.concatenate([f.test for f in folds])
    y_all, pred_all, base_all, fold_all = (
        data.y[tested], np.concatenate(held_out_pred), np.concatenate(held_out_base), np.concatenate(fold_ids)
    )  # fmt: skip
    overall, baseline_overall = _metrics(spec.target, y_all, pred_all), _metrics(spec.target, y_all, base_all)
    if classification:
        # Pooled over folds, AUC compares only rows scored by the same fold's model: a baseline that is
        # constant within each fold then ranks nothing (0.5), as it must.
        overall["roc_auc"] = pooled_auc(y_all, pred_all, fold_all)
        baseline_overall["roc_auc"] = pooled_auc(y_all, base_all, fold_all)
    # After a search the verdict is judged on the last fold only: the rows the choice never saw.
    judged = fold_all == folds[-1].index if search is not None else np.ones(len(fold_all), dtype=bool)
    comparison = compare(
        classification, y_all[judged], pred_all[judged], base_all[judged], data.timestamps[tested][judged],
        fold_all[judged], spec.horizon,
    )  # fmt: skip
    final = outcomes["final"]
    regression_confidence = None
    reliability: list[dict[str, Any]]
    if classification:
        reliability = list(make_reliability_table(y_all, pred_all))
    else:
        regression_confidence = RegressionConfidence().fit(y_all, pred_all)
        reliability = list(regression_confidence.table())
    trained = TrainedModel(
        model_type=model_type, target=spec.target, horizon=spec.horizon, interval=spec.interval,
        feature_version=spec.feature_version, feature_names=list(data.features), estimator=final.model,
        sequence_length=data.sequence_length, regression_confidence=regression_confidence,
        library_versions={"sklearn": sklearn.__version__, "numpy": np.__version__, "python": platform.python_version()},
        input_dtype="float32",
    )  # fmt: skip
    parameters = _parameters(spec, params, data, folds_count=len(folds), calibration=final.calibration,
                             model_type=model_type, fit_rows=final.fit_rows)  # fmt: skip
    if search is not None:
        parameters["search"] = search.record()
    confusion = confusion_counts(y_all, pred_all) if classification else None
    importance = outcomes[f"fold {folds[-1].index}"].importance or []
    return TrainingResult(
        trained, parameters, overall, baseline_overall, fold_reports, reliability, importance, confusion,
        comparison, verdict(comparison["intervals"], spec.target), model_type,
        {"y": y_all, "model": pred_all, "baseline": base_all, "timestamps": data.timestamps[tested], "folds": fold_all},
    )  # fmt: skip


def confusion_counts(y: np.ndarray, p_up: np.ndarray, threshold: float = 0.5) -> dict[str, int]:
    """True/false positives and negatives of "up" predictions (probability ≥ threshold)."""
    actual, predicted = np.asarray(y).astype(bool), np.asarray(p_up) >= threshold
    return {
        "true_up": int(np.sum(actual & predicted)),
        "false_up": int(np.sum(~actual & predicted)),
        "true_down": int(np.sum(~actual & ~predicted)),
        "false_down": int(np.sum(actual & ~predicted)),
    }


def _parameters(
    spec: TrainingSpec, params: dict[str, Any], data: Dataset, *, folds_count: int,
    calibration: dict[str, Any] | None, model_type: str, fit_rows: int,
) -> dict[str, Any]:  # fmt: skip
    frame = data.frame
    sources = frame.groupby("symbol")["source"].first().to_dict()
    return {
        "model_type": model_type,
        "requested_model_type": spec.model_type,
        "hyperparameters": params,
        "features": list(data.features),
        "include_price_levels": spec.include_price_levels,
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
        "final_fit_rows": fit_rows,
        "validation": {"scheme": "walk-forward, expanding window", "folds": folds_count, "purge_bars": spec.horizon},
        "calibration": None
        if calibration is None
        else calibration | {"tail_fraction": spec.calibration_fraction, "split": "latest share of each symbol"},
        "sequence_length": data.sequence_length,
        # What "unusual" means for this model's inputs: explanations place a prediction's inputs on these.
        "feature_quantiles": training_quantiles(data.x, data.features),
    }
