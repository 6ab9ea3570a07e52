"""Registry (ids, parameters, verified artifacts, RESTRICT on delete) and idempotent predictions."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workstation.db.models import Model, Prediction
from workstation.errors import WorkstationError
from workstation.ml import artifacts, registry
from workstation.ml.errors import ArtifactIntegrityError, ModelInUseError, ModelNotFoundError
from workstation.ml.predict import latest_predictions, predict_latest, predict_range
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec
from workstation.paths import user_data_dir


def _train(engine: Engine, **overrides: object) -> str:
    values: dict[str, object] = {
        "model_type": "random_forest", "target": "price_direction", "symbols": ("AAA", "BBB"),
        "hyperparameters": {"n_estimators": 20}, "n_folds": 3,
    }  # fmt: skip
    values.update(overrides)
    # Active whatever the verdict (random walks show no skill): these tests are about the registry.
    return train_and_register(engine, TrainingSpec(**values), status="active").model.model_id  # type: ignore[arg-type]


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Prediction)) or 0)


def test_registry_rows_are_readable_and_complete(two_synthetic_symbols: Engine) -> None:
    first, second = _train(two_synthetic_symbols), _train(two_synthetic_symbols)
    assert (first, second) == ("rf_direction_1d_v1", "rf_direction_1d_v2")
    assert _train(two_synthetic_symbols, target="volatility", horizon=5) == "rf_volatility_1d_h5_v1"
    wide = registry.get_model(two_synthetic_symbols, _train(two_synthetic_symbols, include_price_levels=True))
    assert wide.parameters["features"] == ["returns", "rsi_1d", "price_ma_short", "bb_upper", "macd", "atr"]
    info = registry.get_model(two_synthetic_symbols, first)
    assert info.model_type == "RandomForest"
    assert info.version == "1"
    assert info.status == "active"
    p = info.parameters
    # Price levels and price-unit columns are not default inputs.
    assert p["features"] == ["returns", "rsi_1d"]
    assert p["include_price_levels"] is False
    assert p["model_type"] == "random_forest"
    assert (p["feature_version"], p["target"], p["horizon"], p["interval"]) == ("3.0", "price_direction", 1, "1d")
    assert p["symbols"] == ["AAA", "BBB"]
    assert p["hyperparameters"]["n_estimators"] == 20
    assert p["training_window"]["start"] < p["training_window"]["end"]
    assert info.metrics["held_out"]["accuracy"] is not None
    assert info.metrics["baseline"]["accuracy"] is not None
    assert len(info.metrics["folds"]) == 3
    assert info.feature_importance
    path = Path(info.file_path or "")
    assert path.parent == user_data_dir() / "models"
    assert artifacts.sha256_of(path.read_bytes()) == info.artifact_sha256
    assert [m.model_id for m in registry.list_models(two_synthetic_symbols)][:1] == ["rf_direction_1d_v3"]
    with pytest.raises(ModelNotFoundError):
        registry.get_model(two_synthetic_symbols, "nope_v1")


def test_a_tampered_artifact_is_refused_before_unpickling(
    two_synthetic_symbols: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = _train(two_synthetic_symbols)
    info = registry.get_model(two_synthetic_symbols, model_id)
    path = Path(info.file_path or "")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    def must_not_unpickle(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an unverified artifact reached joblib.load")

    monkeypatch.setattr(artifacts.joblib, "load", must_not_unpickle)
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        registry.load_model(two_synthetic_symbols, model_id)
    path.unlink()
    with pytest.raises(ArtifactIntegrityError, match="cannot read"):
        registry.load_model(two_synthetic_symbols, model_id)


def test_delete_is_refused_with_predictions_and_deprecate_works(two_synthetic_symbols: Engine) -> None:
    engine = two_synthetic_symbols
    kept, spare = _train(engine), _train(engine)
    predict_latest(engine, kept)
    with pytest.raises(ModelInUseError, match="deprecate it instead"):
        registry.delete_model(engine, kept)
    # The database itself refuses too (the RESTRICT foreign key), whoever deletes.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(delete(Model).where(Model.model_id == kept))
    assert registry.set_status(engine, kept, "deprecated").status == "deprecated"
    with pytest.raises(WorkstationError, match="deprecated"):
        predict_latest(engine, kept)
    assert registry.set_status(engine, kept, "active").status == "active"
    spare_path = Path(registry.get_model(engine, spare).file_path or "")
    registry.delete_model(engine, spare)
    assert not spare_path.exists()
    assert [m.model_id for m in registry.list_models(engine)] == [kept]


def test_latest_predictions_are_idempotent_and_reproducible(two_synthetic_symbols: Engine) -> None:
    engine = two_synthetic_symbols
    model_id = _train(engine)
    records = predict_latest(engine, model_id)
    assert [r.symbol for r in records] == ["AAA", "BBB"]
    for record in records:
        assert record.prediction_value in (1.0, -1.0)
        assert record.confidence is not None
        assert 0.5 <= record.confidence <= 1.0
        stamp = record.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert record.prediction_id == f"{model_id}:{record.symbol}:{stamp}:price_direction"
        assert list(record.features) == registry.get_model(engine, model_id).parameters["features"]
    assert _count(engine) == 2
    again = predict_latest(engine, model_id)
    assert [r.prediction_id for r in again] == [r.prediction_id for r in records]
    assert _count(engine) == 2
    # The stored input vector reproduces the stored prediction with the verified artifact.
    _info, model = registry.load_model(engine, model_id)
    stored = latest_predictions(engine, "AAA", model_id=model_id)[0]
    # By name: jsonb does not keep key order.
    vector = np.array([[np.nan if stored.features[n] is None else stored.features[n] for n in model.feature_names]])
    value, confidence = model.predict(vector)
    assert value[0] == stored.prediction_value
    assert confidence[0] == pytest.approx(stored.confidence, abs=1e-9)
    only = predict_latest(engine, model_id, symbols=["BBB", "ZZZ"])
    assert [r.symbol for r in only] == ["BBB"]
    with pytest.raises(WorkstationError, match="1d"):
        predict_latest(engine, model_id, interval="1h")


def test_range_predictions_and_volatility_confidence(two_synthetic_symbols: Engine) -> None:
    engine = two_synthetic_symbols
    model_id = _train(engine, target="volatility", horizon=3)
    with engine.connect() as conn:
        stamps = [r[0] for r in conn.execute(text("SELECT DISTINCT timestamp FROM feature_engineered_data"))]
    records = predict_range(engine, model_id, symbols=["AAA"], start=None, end=None)
    assert len(records) == 400
    assert all(r.prediction_value >= 0 for r in records)
    assert all(r.confidence is not None and 0 <= r.confidence <= 1 for r in records)
    # Warm-up NULLs are stored as null in the input vector.
    assert records[0].features["rsi_1d"] is None
    assert len(stamps) == 400
    assert _count(engine) == 400
    predict_range(engine, model_id, symbols=["AAA"])
    assert _count(engine) == 400
    assert all(re.fullmatch(r"rf_volatility_1d_h3_v1:AAA:.*Z:volatility", r.prediction_id) for r in records)
