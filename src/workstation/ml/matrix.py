"""The training matrix: labelled feature rows in time order, as one float32 array built in one pass.

Rows are read exactly as stored (symbol by symbol), labelled per symbol, and then every kept row is
written once into a float32 matrix ordered by (bar time, symbol). Time order makes each walk-forward
fold's training rows a prefix and its test block a contiguous run, so tasks take views of the matrix
instead of copies; float32 halves memory and is what scikit-learn's trees compute in anyway. No
intermediate frame of all the features is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workstation.ml import dataset as ds
from workstation.ml.errors import InsufficientDataError
from workstation.ml.labels import add_labels, is_classification

if TYPE_CHECKING:
    from workstation.ml.training import TrainingSpec

DTYPE = np.float32


@dataclass
class Dataset:
    frame: pd.DataFrame  # labelled rows in time order: symbol, timestamp, source, label, label_end, persistence
    x: np.ndarray  # (rows, features) or (rows, sequence_length, features), float32
    y: np.ndarray
    features: list[str]
    sequence_length: int
    symbol_codes: np.ndarray  # per row, the symbol's position in the sorted symbol list

    @property
    def timestamps(self) -> np.ndarray:
        return np.asarray(self.frame["timestamp"].to_numpy(dtype="datetime64[ns]"))

    @property
    def label_end(self) -> np.ndarray:
        return np.asarray(self.frame["label_end"].to_numpy(dtype="datetime64[ns]"))


def _fill(columns: dict[str, Any], names: list[str], rows: np.ndarray) -> np.ndarray:
    """float32 matrix of ``names`` at ``rows``, written column by column (no float64 copy of the whole)."""
    out = np.empty((len(rows), len(names)), dtype=DTYPE)
    for j, name in enumerate(names):
        out[:, j] = columns[name][rows]
    return out


def build_dataset(engine: Any, spec: TrainingSpec, sequence_length: int = 1) -> Dataset:
    features = ds.resolve_features(engine, spec.features, include_price_levels=spec.include_price_levels)
    rows = ds.read_rows(
        engine, spec.symbols, spec.interval, ["close", *features], start=spec.start, end=spec.end,
        feature_version=spec.feature_version,
    )  # fmt: skip
    keys = rows.keys.assign(close=np.asarray(rows.columns["close"], dtype=np.float64))
    labelled = add_labels(keys, spec.target, spec.horizon)
    keep = labelled["label"].notna().to_numpy() & labelled["label_end"].notna().to_numpy()
    if keep.sum() == 0:
        raise InsufficientDataError("no labelled rows: every bar lacks the next horizon bars")
    kept = np.flatnonzero(keep)
    # A column with no value in the training rows carries no information, and some estimators (the
    # histogram binning of gradient boosting) cannot fit one: the model is trained without it, and its
    # stored feature list (what predictions feed it) says so.
    empty = [f for f in features if np.isnan(np.asarray(rows.columns[f])[kept]).all()]
    if empty and spec.features is not None:
        raise InsufficientDataError(f"no values at all for the requested feature(s) {', '.join(empty[:5])}")
    features = [f for f in features if f not in set(empty)]
    symbols = labelled["symbol"].to_numpy()
    codes = np.unique(symbols, return_inverse=True)[1]
    stamps = labelled["timestamp"].to_numpy(dtype="datetime64[ns]")
    order = kept[np.lexsort((codes[kept], stamps[kept]))]
    if sequence_length > 1:
        from workstation.ml.lstm import sequence_windows

        everything = _fill(rows.columns, features, np.arange(len(labelled)))
        x = sequence_windows(everything, codes, sequence_length)[order]
    else:
        x = _fill(rows.columns, features, order)
    frame = labelled.iloc[order].drop(columns=["close"]).reset_index(drop=True)
    y = frame["label"].to_numpy(dtype=np.float64)
    if is_classification(spec.target):
        y = y.astype(np.int64)
    return Dataset(frame, x, y, features, sequence_length, codes[order])
