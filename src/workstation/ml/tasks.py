"""The units of training work — fit one model on some rows, score others — as plain functions over plain data.

A :class:`FitTask` names rows by position (numpy index arrays), a model family and its hyperparameters;
:func:`run_fit` takes the task and a *dataset handle* and returns a :class:`FitOutcome` (held-out scores,
optionally the fitted model and permutation importances). Walk-forward folds, the final fit and any
hyperparameter candidate are all FitTasks, so any ``concurrent.futures.Executor`` can run them: the
local process pool, a thread, the caller's own thread, or a cluster's executor. Every task is seeded
and its thread count is part of the task, so the same task gives the same numbers wherever it runs.

A handle is how the task reaches the feature matrix without the matrix travelling with every task:

* :class:`ArraysHandle` holds the arrays themselves (picklable; a cluster adapter scatters it once);
* :class:`LocalHandle` adds the caller's cancel token and progress callback (same-process executors);
* :class:`MappedHandle` names .npy files that worker processes memory-map (the local process pool),
  plus a small shared control file through which the caller cancels and the workers report progress.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from workstation.errors import JobCancelledError
from workstation.ml.calibration import CalibratedClassifier, ProbabilityCalibrator
from workstation.ml.estimators import SEED, build_estimator, fit_estimator, raw_scores
from workstation.ml.importance import permutation_importance
from workstation.ml.labels import is_classification

CANCEL_SLOT = 0  # control[0] != 0: the caller asked to cancel; control[1 + slot]: a task's fraction done


@dataclass(frozen=True)
class FitTask:
    key: str  # "fold 3", "final", "candidate 2 fold 1" …
    slot: int  # where the task reports its progress
    model_type: str
    target: str
    params: dict[str, Any]
    fit_rows: np.ndarray
    calibration_rows: np.ndarray | None = None  # classifiers: rows that fit the probability calibrator
    score_rows: np.ndarray | None = None  # held-out rows to score
    importance_rows: np.ndarray | None = None  # held-out rows for permutation importance
    feature_names: tuple[str, ...] = ()
    keep_model: bool = False
    threads: int = 1
    max_train_rows: int | None = None  # fit on a fixed-seed random sample of at most this many rows


@dataclass
class FitOutcome:
    key: str
    scores: np.ndarray | None  # P(up) for classifiers, the forecast for regressors
    model: Any | None
    calibration: dict[str, Any] | None
    importance: list[dict[str, Any]] | None
    fit_rows: int
    seconds: float


class _Control:
    """What a running task sees of its caller: a cancel check (CancelToken's interface) and progress."""

    def __init__(self, cancelled: Callable[[], bool], report: Callable[[int, float, str], None]) -> None:
        self._cancelled, self._report = cancelled, report

    def raise_if_cancelled(self) -> None:
        if self._cancelled():
            raise JobCancelledError("cancelled by the user")

    def report(self, slot: int, fraction: float, detail: str) -> None:
        self._report(slot, fraction, detail)


_NO_CONTROL = _Control(lambda: False, lambda _slot, _fraction, _detail: None)


@dataclass
class TaskData:
    x: np.ndarray
    y: np.ndarray
    control: _Control


@dataclass
class ArraysHandle:
    """The arrays themselves. Pickled, it carries no control: progress and cancel stay with the caller."""

    x: np.ndarray
    y: np.ndarray

    @contextlib.contextmanager
    def open(self) -> Iterator[TaskData]:
        yield TaskData(self.x, self.y, _NO_CONTROL)


@dataclass
class LocalHandle(ArraysHandle):
    """Arrays plus the caller's cancel check and progress callback, for executors in this process."""

    cancelled: Callable[[], bool] = field(default=lambda: False)
    report: Callable[[int, float, str], None] = field(default=lambda _s, _f, _d: None)

    @contextlib.contextmanager
    def open(self) -> Iterator[TaskData]:
        yield TaskData(self.x, self.y, _Control(self.cancelled, self.report))

    def __getstate__(self) -> dict[str, Any]:  # sent elsewhere after all: the arrays only
        return {"x": self.x, "y": self.y}


@dataclass(frozen=True)
class MappedHandle:
    """.npy files in ``directory`` (x.npy, y.npy, control.npy) that each worker memory-maps."""

    directory: str

    @contextlib.contextmanager
    def open(self) -> Iterator[TaskData]:
        # Copy-on-write maps: pages are shared until written, and some scikit-learn checks need a
        # writable buffer even though they never write.
        x = np.load(f"{self.directory}/x.npy", mmap_mode="c")
        y = np.load(f"{self.directory}/y.npy", mmap_mode="c")
        control = np.load(f"{self.directory}/control.npy", mmap_mode="r+")

        def report(slot: int, fraction: float, _detail: str) -> None:
            control[1 + slot] = fraction

        # The maps close when the task's arrays are garbage (numpy holds the mmap).
        yield TaskData(x, y, _Control(lambda: bool(control[CANCEL_SLOT]), report))


def rows_of(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """array[rows]: a view when the rows are one contiguous run (a walk-forward prefix or test block)."""
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and np.all(np.diff(rows) == 1):
        return np.asarray(array[int(rows[0]) : int(rows[-1]) + 1])
    return np.asarray(array[rows])


def sample_rows(rows: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """At most ``limit`` of ``rows`` (a fixed-seed random sample, kept in time order)."""
    if limit is None or len(rows) <= limit:
        return rows
    chosen = np.random.default_rng(seed).choice(len(rows), size=int(limit), replace=False)
    return rows[np.sort(chosen)]


def _fit(task: FitTask, data: TaskData) -> tuple[Any, dict[str, Any] | None, int]:
    def progress(fraction: float, detail: str) -> None:
        data.control.report(task.slot, fraction, detail)

    estimator = build_estimator(task.model_type, task.target, task.params, threads=task.threads)
    fit_rows = sample_rows(task.fit_rows, task.max_train_rows, SEED + task.slot)
    x_fit, y_fit = rows_of(data.x, fit_rows), rows_of(data.y, fit_rows)
    fit_estimator(estimator, x_fit, y_fit, progress, data.control)  # type: ignore[arg-type]
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if "n_jobs" in getattr(final, "get_params", dict)():
        # A forest predicting on several threads adds the trees' outputs in completion order, so the
        # last bits of a prediction would depend on timing; one thread sums them in tree order.
        final.set_params(n_jobs=1)
    if not is_classification(task.target) or task.calibration_rows is None:
        return estimator, None, len(fit_rows)
    calibration = task.calibration_rows
    calibrator = ProbabilityCalibrator().fit(
        raw_scores(estimator, rows_of(data.x, calibration)), np.asarray(rows_of(data.y, calibration))
    )
    summary = {"method": calibrator.method, "rows": calibrator.rows}
    return CalibratedClassifier(estimator, calibrator), summary, len(fit_rows)


def score(model: Any, target: str, x: np.ndarray) -> np.ndarray:
    if is_classification(target):
        return np.asarray(model.predict_proba(x)[:, 1], dtype=float)
    return np.asarray(model.predict(x), dtype=float)


def run_fit(task: FitTask, handle: Any) -> FitOutcome:
    """Fit ``task`` on the handle's data; raises JobCancelledError when the caller cancels."""
    started = time.perf_counter()
    with handle.open() as data, threadpool_limits(task.threads):
        data.control.raise_if_cancelled()
        model, calibration, fitted = _fit(task, data)
        scores = None if task.score_rows is None else score(model, task.target, rows_of(data.x, task.score_rows))
        importance = None
        if task.importance_rows is not None:
            rows = task.importance_rows
            importance = permutation_importance(
                lambda x: score(model, task.target, x), np.asarray(rows_of(data.x, rows)),
                np.asarray(rows_of(data.y, rows)), task.feature_names,
                classification=is_classification(task.target), cancel=data.control,
            )  # fmt: skip
        data.control.report(task.slot, 1.0, "done")
    return FitOutcome(
        task.key, scores, model if task.keep_model else None, calibration, importance, fitted,
        time.perf_counter() - started,
    )  # fmt: skip


def largest_first(tasks: Sequence[FitTask]) -> list[FitTask]:
    """Submission order: the biggest fits first, so two workers finish close together."""
    return sorted(tasks, key=lambda t: -len(t.fit_rows))
