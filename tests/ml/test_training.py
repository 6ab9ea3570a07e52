"""Walk-forward training: held-out metrics next to the baseline, calibration, progress and cancel."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from ml.helpers import insert_features, read_yahoo
from workstation.errors import ConfigurationError, JobCancelledError
from workstation.jobs import CancelToken, ProgressUpdate
from workstation.ml.errors import InsufficientDataError, OptionalDependencyError
from workstation.ml.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from workstation.ml.registry import list_models
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec, build_dataset, train

SMALL_FOREST = {"n_estimators": 25}


def _spec(**overrides: object) -> TrainingSpec:
    values: dict[str, object] = {
        "model_type": "random_forest", "target": "price_direction", "symbols": ("AAA", "BBB"),
        "hyperparameters": dict(SMALL_FOREST),
    }  # fmt: skip
    values.update(overrides)
    return TrainingSpec(**values)  # type: ignore[arg-type]


@pytest.mark.slow
def test_real_files_give_held_out_metrics_only(engine: Engine, shared_data: Path) -> None:
    insert_features(engine, "ORCL", read_yahoo(shared_data / "orcl-1995-2014.txt"))
    insert_features(engine, "NVDA", read_yahoo(shared_data / "nvda-1999-2014.txt"))
    spec = _spec(symbols=("ORCL", "NVDA"), n_folds=4, hyperparameters={"n_estimators": 50})
    data = build_dataset(engine, spec)
    result = train(engine, spec)
    first_test = min(f["test_start"] for f in result.folds)
    # Every fold was scored on bars after all of its training labels ended.
    for fold in result.folds:
        assert fold["train_label_end"] < fold["test_start"]
        assert fold["train_end"] < fold["test_start"]
        assert set(CLASSIFICATION_METRICS) <= set(fold["metrics"])
        assert set(CLASSIFICATION_METRICS) <= set(fold["baseline_metrics"])
    # The pooled metrics cover exactly the test rows, never the first (training-only) block.
    assert result.metrics["rows"] == sum(f["test_rows"] for f in result.folds)
    assert result.metrics["rows"] == (data.frame["timestamp"].astype(str) >= first_test[:10]).sum()
    assert result.metrics["rows"] < len(data.y)
    assert 0.35 < result.metrics["accuracy"] < 0.65  # daily direction is close to a coin flip, held out
    assert result.reliability
    assert sum(r["count"] for r in result.reliability) == result.metrics["rows"]
    assert result.parameters["calibration"]["method"] in ("sigmoid", "isotonic")
    assert {r["feature"] for r in result.feature_importance} == set(result.parameters["features"])


def test_a_memorising_model_is_not_flattered(two_synthetic_symbols: Engine) -> None:
    """A forest that fits its training rows perfectly scores near chance on held-out random-walk bars."""
    params = {"n_estimators": 25, "max_depth": None, "min_samples_leaf": 1, "max_features": None}
    spec = _spec(hyperparameters=params)
    result = train(two_synthetic_symbols, spec)
    data = build_dataset(two_synthetic_symbols, spec)
    in_sample = result.model.estimator.base.predict(data.x)  # calibrated wrapper → the forest itself
    assert (in_sample == data.y).mean() > 0.8  # it memorised most of what it saw
    assert result.metrics["accuracy"] < 0.62  # but the reported figure is held out


def test_volatility_against_persistence(two_synthetic_symbols: Engine) -> None:
    spec = _spec(model_type="gradient_boosting", target="volatility", horizon=5, hyperparameters={"max_iter": 30})
    result = train(two_synthetic_symbols, spec)
    assert set(REGRESSION_METRICS) <= set(result.metrics)
    assert set(REGRESSION_METRICS) <= set(result.baseline_metrics)
    assert result.baseline_metrics["mae"] > 0
    assert result.model.regression_confidence is not None
    assert all(0.0 <= r["hit_rate"] <= 1.0 for r in result.reliability)
    assert result.parameters["validation"]["purge_bars"] == 5


def test_training_stores_the_quantiles_of_its_rows(two_synthetic_symbols: Engine) -> None:
    """What explanations read a prediction's inputs against: per feature, quantiles of the fitted rows."""
    from workstation.ml.feature_stats import QUANTILE_LEVELS, percentile

    spec = _spec(model_type="logistic", hyperparameters={})
    result = train(two_synthetic_symbols, spec)
    data = build_dataset(two_synthetic_symbols, spec)
    stats = result.parameters["feature_quantiles"]
    assert stats["rows"] == len(data.y) and stats["levels"] == list(QUANTILE_LEVELS)
    assert set(stats["features"]) == set(data.features)
    for j, name in enumerate(data.features):
        column = data.x[:, j].astype(np.float64)
        column = column[np.isfinite(column)]
        curve = stats["features"][name]
        assert curve[0] == pytest.approx(column.min()) and curve[-1] == pytest.approx(column.max())
        assert percentile(float(np.median(column)), stats["levels"], curve) == pytest.approx(50.0, abs=0.5)


def test_logistic_and_bad_specs(two_synthetic_symbols: Engine) -> None:
    result = train(two_synthetic_symbols, _spec(model_type="logistic", hyperparameters={}))
    assert result.metrics["log_loss"] is not None
    with pytest.raises(ConfigurationError, match="classifier"):
        train(two_synthetic_symbols, _spec(model_type="logistic", target="volatility", hyperparameters={}))
    with pytest.raises(ConfigurationError, match="bad hyperparameter"):
        train(two_synthetic_symbols, _spec(hyperparameters={"trees": 3}))
    with pytest.raises(InsufficientDataError, match="folds"):
        train(two_synthetic_symbols, _spec(n_folds=40))


def test_progress_reaches_the_end_and_cancel_stops_without_registering(two_synthetic_symbols: Engine) -> None:
    updates: list[ProgressUpdate] = []
    train_and_register(two_synthetic_symbols, _spec(), progress=updates.append)
    done = [u.done for u in updates]
    assert done == sorted(done)
    assert updates[-1].done == updates[-1].total
    assert any("fits done" in u.message for u in updates)

    token = CancelToken()

    def cancel_while_fitting(update: ProgressUpdate) -> None:
        if "fits done" in update.message:
            token.cancel()

    big = _spec(hyperparameters={"n_estimators": 3000, "max_depth": None, "min_samples_leaf": 1})
    with pytest.raises(JobCancelledError):
        train_and_register(two_synthetic_symbols, big, progress=cancel_while_fitting, cancel=token)
    assert len(list_models(two_synthetic_symbols)) == 1


def test_lstm_without_torch_says_what_to_install(
    two_synthetic_symbols: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(OptionalDependencyError, match=r"pip install 'workstation\[lstm\]'$"):
        train(two_synthetic_symbols, _spec(model_type="lstm", hyperparameters={}))


@pytest.mark.slow
def test_lstm_walk_forward_trains_and_predicts(two_synthetic_symbols: Engine) -> None:
    """The LSTM runs in the suite (the test extra installs the CPU PyTorch wheel): a small walk-forward."""
    from workstation.ml.predict import predict_latest

    hyper = {"epochs": 2, "sequence_length": 8, "hidden_size": 8}
    spec = _spec(model_type="lstm", n_folds=2, hyperparameters=hyper)
    outcome = train_and_register(two_synthetic_symbols, spec, status="active")
    result = outcome.result
    assert result.model_type == "lstm"
    assert result.metrics["rows"] == sum(f["test_rows"] for f in result.folds)
    assert result.verdict in ("beats_baseline", "no_demonstrated_skill", "worse_than_baseline")
    assert result.comparison["intervals"]["log_loss"]["low"] is not None
    records = predict_latest(two_synthetic_symbols, outcome.model.model_id)
    assert len(records) == 2
    assert all(0.5 <= (r.confidence or 0) <= 1 for r in records)
    assert all(len(r.features["bars"]) == 8 and len(r.features["rsi_1d"]) == 8 for r in records)
    assert np.isfinite([r.prediction_value for r in records]).all()
