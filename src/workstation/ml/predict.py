"""Predictions for the latest bar (or a range of bars) per symbol, stored idempotently.

Each stored row has a deterministic prediction_id ``<model_id>:<symbol>:<bar time UTC>:<type>``, so
running the same model over the same bars again updates rows instead of adding duplicates, and its
``features`` column holds the exact input the model saw (NaN stored as null) so the prediction can
be reproduced from the registry's artifact.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from threading import Lock
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Table, select
from sqlalchemy.orm import Session

from workstation.db.models import Prediction
from workstation.db.upsert import conflict_insert
from workstation.errors import ConfigurationError, WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.ml import dataset as ds
from workstation.ml.artifacts import TrainedModel, load_artifact
from workstation.ml.registry import ModelInfo, get_model

log = logging.getLogger(__name__)
WRITE_BATCH = 2000
_CACHE_SIZE = 4
_cache: OrderedDict[tuple[str, str], TrainedModel] = OrderedDict()
_cache_lock = Lock()


@dataclass(frozen=True)
class PredictionRecord:
    prediction_id: str
    model_id: str
    symbol: str
    timestamp: datetime  # the bar the prediction was made at (its features end here), UTC
    prediction_type: str  # price_direction: +1 up / -1 down; volatility: forecast realised vol per bar
    prediction_value: float
    confidence: float | None
    features: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "prediction_id": self.prediction_id, "model_id": self.model_id, "symbol": self.symbol,
            "timestamp": self.timestamp.isoformat(), "prediction_type": self.prediction_type,
            "prediction_value": self.prediction_value, "confidence": self.confidence, "features": self.features,
        }  # fmt: skip


def prediction_id_for(model_id: str, symbol: str, timestamp: datetime, prediction_type: str) -> str:
    stamp = pd.Timestamp(timestamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{model_id}:{symbol}:{stamp}:{prediction_type}"


def _model_for(info: ModelInfo) -> TrainedModel:
    """The verified artifact; kept in memory per (model_id, sha256), so the live loop does not re-read
    and re-hash a large file every bar. A changed hash in the registry loads (and verifies) afresh."""
    key = (info.model_id, info.artifact_sha256 or "")
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if not info.file_path:
        raise WorkstationError(f"model {info.model_id} has no artifact file")
    model = load_artifact(info.file_path, info.artifact_sha256, model_id=info.model_id)
    with _cache_lock:
        _cache[key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def _usable_model(engine: Engine, model_id: str, interval: str | None) -> tuple[ModelInfo, TrainedModel, str]:
    info = get_model(engine, model_id)
    if info.status != "active":
        raise WorkstationError(
            f"model {model_id} is {info.status}; activate it first: workstation models set-status {model_id} active"
        )
    model = _model_for(info)
    if interval is not None and interval != model.interval:
        raise ConfigurationError(f"model {model_id} was trained on {model.interval} bars, not {interval}")
    return info, model, model.interval


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _inputs_at(
    frame: pd.DataFrame, model: TrainedModel, positions: np.ndarray
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Model inputs at ``positions`` of a frame sorted by symbol then time (index 0..n-1), and each as
    a JSON document: names → values (LSTM: names → the window's values, oldest first, plus "bars")."""
    names = model.feature_names
    values = frame[names].to_numpy(dtype=np.float64)
    if model.sequence_length <= 1:
        flat: list[dict[str, Any]] = [
            {n: _clean(v) for n, v in zip(names, row, strict=True)} for row in values[positions].tolist()
        ]
        return values[positions], flat
    from workstation.ml.lstm import sequence_windows

    symbols = frame["symbol"].to_numpy()
    windows = sequence_windows(values, symbols, model.sequence_length)
    times = frame["timestamp"]
    vectors: list[dict[str, Any]] = []
    for position in positions:
        first = max(int(position) - model.sequence_length + 1, 0)
        rows = [r for r in range(first, int(position) + 1) if symbols[r] == symbols[position]]
        vectors.append(
            {"bars": [times.iloc[r].isoformat() for r in rows]}
            | {n: [_clean(values[r, j]) for r in rows] for j, n in enumerate(names)}
        )
    return windows[positions], vectors


def _records(
    info: ModelInfo, model: TrainedModel, frame: pd.DataFrame, positions: np.ndarray
) -> list[PredictionRecord]:
    if len(positions) == 0:
        return []
    x, vectors = _inputs_at(frame, model, positions)
    values, confidences = model.predict(x)
    rows = frame.iloc[positions]
    out = []
    for symbol, timestamp, value, confidence, vector in zip(
        rows["symbol"], rows["timestamp"], values, confidences, vectors, strict=True
    ):
        when = pd.Timestamp(timestamp).to_pydatetime()
        out.append(
            PredictionRecord(
                prediction_id_for(info.model_id, symbol, when, model.target),
                info.model_id,
                str(symbol),
                when,
                model.target,
                float(value),
                _clean(float(confidence)),
                vector,
            )
        )
    return out


def _decimal(value: float | None, places: int = 10) -> Decimal | None:
    return None if value is None else Decimal(f"{value:.{places}f}")


def write_predictions(engine: Engine, records: Sequence[PredictionRecord]) -> None:
    """Upsert by prediction_id in batches (one statement per batch)."""
    if not records:
        return
    table = Prediction.__table__
    assert isinstance(table, Table)
    with engine.begin() as conn:
        for start in range(0, len(records), WRITE_BATCH):
            chunk = records[start : start + WRITE_BATCH]
            # One executemany per batch: psycopg pipelines it (no round trip per row) and SQLAlchemy compiles the
            # statement once; a multi-row VALUES statement would be recompiled with 8,000 parameters every time.
            statement = conflict_insert(conn, table)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.prediction_id],
                set_={
                    "prediction_value": statement.excluded.prediction_value,
                    "confidence": statement.excluded.confidence,
                    "features": statement.excluded.features,
                },
            )
            conn.execute(
                statement,
                [
                    {
                        "prediction_id": r.prediction_id,
                        "model_id": r.model_id,
                        "symbol": r.symbol,
                        "timestamp": r.timestamp,
                        "prediction_type": r.prediction_type,
                        "prediction_value": _decimal(r.prediction_value),
                        "confidence": _decimal(r.confidence),
                        "features": r.features,
                    }
                    for r in chunk
                ],
            )


def predict_latest(
    engine: Engine, model_id: str, *, symbols: list[str] | None = None, interval: str | None = None
) -> list[PredictionRecord]:
    """Predict at the latest bar of each symbol (default: the model's training symbols), store the rows
    (upsert) and return them. Symbols without feature rows are skipped with a warning."""
    info, model, interval = _usable_model(engine, model_id, interval)
    wanted = list(symbols) if symbols else info.symbols
    frame = ds.load_latest(
        engine, wanted, interval, model.feature_names, rows_per_symbol=model.sequence_length,
        feature_version=model.feature_version,
    )  # fmt: skip
    missing = sorted(set(wanted) - set(frame["symbol"]))
    if missing:
        log.warning("no %s feature rows for %s; skipped", interval, ", ".join(missing))
    frame = frame.reset_index(drop=True)
    last = frame.groupby("symbol", sort=False).tail(1).index.to_numpy()
    records = _records(info, model, frame, last)
    write_predictions(engine, records)
    return records


def predict_range(
    engine: Engine,
    model_id: str,
    *,
    symbols: list[str] | None = None,
    interval: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> list[PredictionRecord]:
    """Predict at every bar in [start, end] per symbol, store and return the rows.

    Bars inside the model's training window are in-sample: their predictions look better than the
    model is, so a warning is logged; evaluate a model only on bars after ``parameters.training_window.end``."""
    info, model, interval = _usable_model(engine, model_id, interval)
    cancel = cancel or CancelToken()
    wanted = list(symbols) if symbols else info.symbols
    window_end = info.parameters.get("training_window", {}).get("end")
    trained_until = pd.Timestamp(window_end) if window_end else None
    records: list[PredictionRecord] = []
    for done, symbol in enumerate(wanted):
        cancel.raise_if_cancelled()
        progress(ProgressUpdate(done, len(wanted), symbol))
        history = ds.load_history(
            engine, [symbol], interval, model.feature_names, end=end, feature_version=model.feature_version
        )
        # Each bar's input ends at that bar: windows never look past it.
        inside = np.ones(len(history), dtype=bool) if start is None else (history["timestamp"] >= start).to_numpy()
        records.extend(_records(info, model, history, np.flatnonzero(inside)))
    progress(ProgressUpdate(len(wanted), len(wanted), "writing"))
    if records and trained_until is not None and min(r.timestamp for r in records) <= trained_until:
        log.warning("model %s: predictions up to %s are in-sample (it was trained on those bars)", model_id,
                    trained_until.isoformat())  # fmt: skip
    write_predictions(engine, records)
    return records


def latest_predictions(
    engine: Engine, symbol: str, *, model_id: str | None = None, limit: int = 50
) -> list[PredictionRecord]:
    """Stored predictions for one symbol, newest bar first (the GUI's model panel and chart overlay)."""
    query = select(Prediction).where(Prediction.symbol == symbol)
    if model_id is not None:
        query = query.where(Prediction.model_id == model_id)
    query = query.order_by(Prediction.timestamp.desc(), Prediction.model_id).limit(limit)
    with Session(engine) as session:
        return [
            PredictionRecord(
                p.prediction_id,
                p.model_id,
                p.symbol,
                p.timestamp,
                p.prediction_type,
                float(p.prediction_value),
                None if p.confidence is None else float(p.confidence),
                dict(p.features or {}),
            )
            for p in session.scalars(query)
        ]


def usable_model(engine: Engine, model_id: str, interval: str | None = None) -> tuple[ModelInfo, TrainedModel]:
    """The registry entry and verified artifact of an active model (the live loop loads it once)."""
    info, model, _interval = _usable_model(engine, model_id, interval)
    return info, model


def predict_frame(
    info: ModelInfo, model: TrainedModel, frame: pd.DataFrame, positions: np.ndarray
) -> list[PredictionRecord]:
    """Predictions at ``positions`` of a frame of feature rows (columns symbol, timestamp and the model's
    features; sorted by symbol then time, index 0..n-1), each with its input vector; not stored."""
    return _records(info, model, frame, positions)
