"""Saved models: one joblib file per model under <user data dir>/models, verified by sha256 before
anything in it is unpickled (unpickling runs code, so an altered file must never reach joblib)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from workstation.ml.calibration import RegressionConfidence
from workstation.ml.errors import ArtifactIntegrityError
from workstation.paths import user_data_dir

ARTIFACT_SUFFIX = ".joblib"


@dataclass
class TrainedModel:
    """Everything needed to turn feature rows into a prediction, pickled as one artifact."""

    model_type: str
    target: str
    horizon: int
    interval: str
    feature_version: str
    feature_names: list[str]
    estimator: Any  # a fitted Pipeline, CalibratedClassifier or LSTMEstimator
    sequence_length: int = 1  # bars per input (the LSTM reads the last N feature vectors)
    regression_confidence: RegressionConfidence | None = None
    library_versions: dict[str, str] = field(default_factory=dict)
    # What the estimator was trained on: inputs are cast to it, so a prediction reads the same bits
    # as training did (artifacts from before float32 training have float64).
    input_dtype: str = "float64"

    @property
    def classification(self) -> bool:
        return self.target == "price_direction"

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(prediction_value, confidence) per row.

        price_direction: value +1 (up) or -1 (down), confidence = calibrated probability of that
        direction. volatility: value = forecast realised volatility, confidence = held-out hit rate
        of forecasts of that size (see RegressionConfidence).
        """
        x = np.asarray(x, dtype=self.input_dtype)
        if self.classification:
            p_up = np.clip(self.estimator.predict_proba(x)[:, 1], 0.0, 1.0)
            value = np.where(p_up >= 0.5, 1.0, -1.0)
            return value, np.where(p_up >= 0.5, p_up, 1.0 - p_up)
        forecast = np.maximum(np.asarray(self.estimator.predict(x), dtype=float), 0.0)
        confidence = (
            self.regression_confidence.confidence(forecast)
            if self.regression_confidence is not None
            else np.full(len(forecast), np.nan)
        )
        return forecast, confidence


def models_dir() -> Path:
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_artifact(model: TrainedModel, model_id: str) -> tuple[Path, str]:
    """Write atomically (temp file + rename) and return (path, sha256 of the bytes written)."""
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    data = buffer.getvalue()
    digest = sha256_of(data)
    # The hash in the name keeps two registrations racing for one model_id from overwriting each other.
    target = models_dir() / f"{model_id}.{digest[:12]}{ARTIFACT_SUFFIX}"
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{model_id}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target, digest


def resolve_path(file_path: str) -> Path:
    path = Path(file_path)
    return path if path.is_absolute() else models_dir() / path


def load_artifact(file_path: str, expected_sha256: str | None, *, model_id: str) -> TrainedModel:
    """Read the file once, check its hash, and unpickle those same verified bytes."""
    if not expected_sha256:
        raise ArtifactIntegrityError(f"model {model_id} has no recorded artifact hash; refusing to load it")
    path = resolve_path(file_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactIntegrityError(f"cannot read the artifact of model {model_id} ({path}): {exc.strerror}") from None
    actual = sha256_of(data)
    if actual != expected_sha256:
        raise ArtifactIntegrityError(
            f"artifact of model {model_id} ({path}) has sha256 {actual[:12]}…, expected {expected_sha256[:12]}…; "
            "the file was changed after training, refusing to load it"
        )
    loaded = joblib.load(io.BytesIO(data))
    if not isinstance(loaded, TrainedModel):
        raise ArtifactIntegrityError(f"artifact of model {model_id} is not a workstation model")
    return loaded


def delete_artifact(file_path: str | None) -> None:
    if file_path:
        resolve_path(file_path).unlink(missing_ok=True)
