"""Walk-forward folds over time, purged so that no training label overlaps the test period.

Rows of several symbols are split by *timestamp*: every fold tests one contiguous block of time
across all symbols and trains on rows strictly before it (an expanding window, never shuffled).
A training row at bar t carries the label window t+1..t+h; it is kept only when its last bar
(``label_end``) falls before the first test timestamp. With regular bars this drops exactly the
``horizon`` bars before each test block (the purge gap); with gappy bars it drops whatever is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workstation.ml.errors import InsufficientDataError

MIN_TRAIN_ROWS = 30
MIN_TEST_ROWS = 5


@dataclass(frozen=True, slots=True)
class Fold:
    index: int
    train: np.ndarray  # row positions into the dataset
    test: np.ndarray
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def describe(self, timestamps: pd.Series, label_end: pd.Series) -> dict[str, object]:
        return {
            "fold": self.index,
            "train_rows": len(self.train),
            "test_rows": len(self.test),
            "train_start": timestamps.iloc[self.train].min().isoformat(),
            "train_end": timestamps.iloc[self.train].max().isoformat(),
            "train_label_end": label_end.iloc[self.train].max().isoformat(),
            "test_start": self.test_start.isoformat(),
            "test_end": self.test_end.isoformat(),
        }


def purged_before(label_end: np.ndarray, cutoff: np.datetime64) -> np.ndarray:
    """Positions whose whole label window ends strictly before ``cutoff``."""
    return np.flatnonzero(label_end < cutoff)


def walk_forward_folds(timestamps: pd.Series, label_end: pd.Series, n_folds: int) -> list[Fold]:
    """``n_folds`` expanding-window folds; the first of n_folds+1 equal time blocks is training only."""
    if n_folds < 1:
        raise InsufficientDataError(f"need at least 1 fold, got {n_folds}")
    ts = timestamps.to_numpy(dtype="datetime64[ns]")
    ends = label_end.to_numpy(dtype="datetime64[ns]")
    unique = np.unique(ts)
    if len(unique) < (n_folds + 1) * 2:
        raise InsufficientDataError(
            f"{len(unique)} labelled timestamps are too few for {n_folds} walk-forward folds; "
            "widen the date range or use fewer folds"
        )
    bounds = np.linspace(0, len(unique), n_folds + 2).astype(int)
    folds: list[Fold] = []
    for k in range(n_folds):
        first, stop = unique[bounds[k + 1]], unique[bounds[k + 2] - 1]
        test = np.flatnonzero((ts >= first) & (ts <= stop))
        train = purged_before(ends, first)
        if len(train) < MIN_TRAIN_ROWS or len(test) < MIN_TEST_ROWS:
            raise InsufficientDataError(
                f"fold {k + 1} would train on {len(train)} rows and test on {len(test)}; "
                "widen the date range or use fewer folds"
            )
        folds.append(
            Fold(k + 1, train, test, pd.Timestamp(first).tz_localize("UTC"), pd.Timestamp(stop).tz_localize("UTC"))
        )
    return folds


def calibration_split(
    positions: np.ndarray, timestamps: pd.Series, label_end: pd.Series, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into (fit, calibrate): the calibration block is the latest ``fraction`` of
    the rows' timestamps, and fit rows are purged the same way as a fold's training rows."""
    ts = timestamps.to_numpy(dtype="datetime64[ns]")[positions]
    ends = label_end.to_numpy(dtype="datetime64[ns]")[positions]
    unique = np.unique(ts)
    cut_index = min(max(int(len(unique) * (1 - fraction)), 1), len(unique) - 1)
    cutoff = unique[cut_index]
    fit = positions[ends < cutoff]
    calibrate = positions[ts >= cutoff]
    return fit, calibrate
