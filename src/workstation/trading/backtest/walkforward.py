"""Walk-forward analysis: choose the best grid point on a training window, report it on the next window.

Windows are counted in bars of the union timeline of the symbols: ``TRAIN:TEST`` = 500:250 trains on
bars 0–499 and tests on 500–749, then trains on 250–749 and tests on 750–999, and so on (the windows
roll forward by TEST bars; only whole test windows are used). Each window is backtested on its own bars,
exactly as ``workstation backtest --start … --end …`` of that window would be: indicators warm up inside
the window, so a test window should be longer than the slowest average.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from workstation.errors import InvalidInputError, JobCancelledError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.trading.backtest.sweep import (
    Bars,
    PointResult,
    SweepSettings,
    evaluate_points,
    metric_value,
    run_sweep,
)


@dataclass(frozen=True, slots=True)
class WindowSpec:
    train: int
    test: int

    @classmethod
    def parse(cls, text: str) -> WindowSpec:
        parts = text.split(":")
        try:
            train, test = (int(p) for p in parts) if len(parts) == 2 else (0, 0)
        except ValueError:
            train = test = 0
        if train < 2 or test < 2:
            raise InvalidInputError(
                f"--walk-forward takes TRAIN:TEST bar counts of at least 2, e.g. 500:250; got {text!r}"
            )
        return cls(train, test)

    def __str__(self) -> str:
        return f"{self.train}:{self.test}"


@dataclass(frozen=True, slots=True)
class Window:
    train_start: datetime
    train_end: datetime
    test_start: datetime
    test_end: datetime


@dataclass
class WindowResult:
    window: Window
    params: dict[str, int]
    in_sample: dict[str, float | None]
    out_of_sample: dict[str, float | None]
    tried: int

    def as_json(self) -> dict[str, Any]:
        w = self.window
        return {
            "train": [w.train_start.isoformat(), w.train_end.isoformat()],
            "test": [w.test_start.isoformat(), w.test_end.isoformat()],
            "params": self.params,
            "in_sample": self.in_sample,
            "out_of_sample": self.out_of_sample,
            "points_tried": self.tried,
        }


@dataclass
class WalkForwardResult:
    spec: WindowSpec
    metric: str
    windows: list[WindowResult]

    def summary(self) -> dict[str, float | None]:
        """Mean in-sample vs mean out-of-sample of the ranking metric and of the total return."""
        out: dict[str, float | None] = {}
        for key in dict.fromkeys((self.metric, "total_return")):
            for side in ("in_sample", "out_of_sample"):
                values = [getattr(w, side).get(key) for w in self.windows]
                known = [float(v) for v in values if v is not None and math.isfinite(v)]
                out[f"{side}_{key}"] = float(np.mean(known)) if known else None
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "train_bars": self.spec.train,
            "test_bars": self.spec.test,
            "metric": self.metric,
            "windows": [w.as_json() for w in self.windows],
            "summary": self.summary(),
        }


def timeline_of(bars: Bars) -> pd.DatetimeIndex:
    stamps = np.unique(
        np.concatenate([pd.DatetimeIndex(f.index).tz_convert("UTC").as_unit("ns").asi8 for f in bars.values()])
    )
    return pd.DatetimeIndex(pd.to_datetime(stamps, utc=True))


def split_windows(timeline: pd.DatetimeIndex, spec: WindowSpec) -> list[Window]:
    windows = []
    first = 0
    while first + spec.train + spec.test <= len(timeline):
        train_end = first + spec.train
        windows.append(
            Window(
                timeline[first].to_pydatetime(),
                timeline[train_end - 1].to_pydatetime(),
                timeline[train_end].to_pydatetime(),
                timeline[train_end + spec.test - 1].to_pydatetime(),
            )
        )
        first += spec.test
    return windows


def window_bars(bars: Bars, start: datetime, end: datetime) -> dict[str, pd.DataFrame]:
    """Each symbol's bars within [start, end] (symbols without any are left out)."""
    out = {}
    for symbol, frame in bars.items():
        index = pd.DatetimeIndex(frame.index)
        part = frame[(index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end))]
        if len(part):
            out[symbol] = part
    return out


def run_walk_forward(
    bars: Bars,
    points: Sequence[Mapping[str, int]],
    settings: SweepSettings,
    spec: WindowSpec,
    *,
    metric: str = "sharpe",
    executor: Executor | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> WalkForwardResult:
    windows = split_windows(timeline_of(bars), spec)
    if not windows:
        raise InvalidInputError(
            f"--walk-forward {spec}: the {len(timeline_of(bars))} bars hold no training window plus a test window"
        )
    total = len(windows) * (len(points) + 1)
    results: list[WindowResult] = []
    for n, window in enumerate(windows):
        base = n * (len(points) + 1)

        def step(update: ProgressUpdate, base: int = base, n: int = n) -> None:
            progress(ProgressUpdate(base + update.done, total, f"window {n + 1}/{len(windows)}: {update.message}"))

        train = window_bars(bars, window.train_start, window.train_end)
        sweep = run_sweep(train, points, settings, metric=metric, executor=executor, progress=step, cancel=cancel)
        best = sweep.best
        if cancel is not None and cancel.cancelled:
            raise JobCancelledError("cancelled by the user")
        if best is None or metric_value(best, metric) is None:
            continue  # no point produced the metric on this window (e.g. no trades): nothing to carry forward
        test = window_bars(bars, window.test_start, window.test_end)
        if executor is not None:
            outcome: PointResult = executor.submit(evaluate_points, test, [best.params], settings).result()[0]
        else:
            outcome = evaluate_points(test, [best.params], settings)[0]
        results.append(WindowResult(window, best.params, best.metrics, outcome.metrics, sweep.tried))
        progress(ProgressUpdate(base + len(points) + 1, total, f"window {n + 1}/{len(windows)} tested"))
    return WalkForwardResult(spec, metric, results)
