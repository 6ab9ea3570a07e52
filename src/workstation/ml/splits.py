"""Walk-forward folds over time, purged so that no training label overlaps the test period.

Rows of several symbols are split by *timestamp*: every fold tests one contiguous block of time
across all symbols and trains on rows strictly before it (an expanding window, never shuffled).
A training row at bar t carries the label window t+1..t+h; it is kept only when its last bar
(``label_end``) falls before the first test timestamp. With regular bars this drops exactly the
``horizon`` bars before each test block (the purge gap); with gappy bars it drops whatever is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def walk_forward_folds(timestamps: Any, label_end: Any, n_folds: int) -> list[Fold]:
    """``n_folds`` expanding-window folds; the first of n_folds+1 equal time blocks is training only."""
    if n_folds < 1:
        raise InsufficientDataError(f"need at least 1 fold, got {n_folds}")
    ts, ends = _ns(timestamps), _ns(label_end)
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


def _span_union(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge closed intervals [starts[i], ends[i]] into sorted disjoint ones."""
    order = np.argsort(starts, kind="stable")
    merged_starts: list[np.datetime64] = []
    merged_ends: list[np.datetime64] = []
    for a, b in zip(starts[order], ends[order], strict=True):
        if merged_ends and a <= merged_ends[-1]:
            merged_ends[-1] = max(merged_ends[-1], b)
        else:
            merged_starts.append(a)
            merged_ends.append(b)
    return np.asarray(merged_starts, dtype="datetime64[ns]"), np.asarray(merged_ends, dtype="datetime64[ns]")


def calibration_split(
    positions: np.ndarray, timestamps: Any, label_end: Any, symbols: Any, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into (fit, calibrate).

    Each symbol calibrates on the latest ``fraction`` of its own training rows, so symbols whose
    histories end at different times all take part (a tail cut across all symbols at one time would
    hold only the symbols that reach furthest). A fit row's label window [t, label_end] must end before
    its own symbol's calibration rows and must not overlap any symbol's calibration period, so no
    calibration row shares a bar time with what the model was fitted on. With aligned histories this is
    one cut at the same time for every symbol.
    """
    ts = _ns(timestamps)[positions]
    ends = _ns(label_end)[positions]
    codes = np.asarray(symbols)[positions]
    order = np.lexsort((ts, codes))
    sorted_codes = codes[order]
    firsts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    counts = np.diff(np.r_[firsts, len(order)])
    never = np.datetime64("NaT", "ns")
    cutoff_by_row = np.full(len(positions), never, dtype="datetime64[ns]")
    span_starts, span_ends = [], []
    for first, count in zip(firsts, counts, strict=True):
        if count < 2:
            continue  # one row: nothing to split, it is fitted on
        cut = first + min(max(int(count * (1 - fraction)), 1), count - 1)
        cutoff = ts[order[cut]]
        cutoff_by_row[order[first : first + count]] = cutoff
        span_starts.append(cutoff)
        span_ends.append(ts[order[first + count - 1]])
    has_cut = ~np.isnat(cutoff_by_row)
    calibrate = has_cut & (ts >= cutoff_by_row)
    own_purge = ~has_cut | (ends < cutoff_by_row)
    fit = own_purge & ~calibrate
    if span_starts:
        starts, stops = _span_union(np.asarray(span_starts), np.asarray(span_ends))
        # The first calibration period ending at or after t; the row overlaps it when it starts by label_end.
        index = np.searchsorted(stops, ts, side="left")
        inside = index < len(starts)
        overlaps = np.zeros(len(ts), dtype=bool)
        overlaps[inside] = starts[index[inside]] <= ends[inside]
        fit &= ~overlaps
    return positions[fit], positions[calibrate]


def _ns(values: Any) -> np.ndarray:
    """datetime64[ns] (UTC) from a Series (tz-aware or not) or an array."""
    if isinstance(values, pd.Series | pd.DatetimeIndex):
        return np.asarray(values.to_numpy(dtype="datetime64[ns]"))
    return np.asarray(values, dtype="datetime64[ns]")
