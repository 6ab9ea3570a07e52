"""``workstation models …`` and ``workstation predict`` end to end, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from ml.helpers import insert_features, run_cli, synthetic_bars


def test_train_compare_activate_predict_delete(db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    insert_features(engine, "AAA", synthetic_bars(300, 1))
    insert_features(engine, "BBB", synthetic_bars(300, 2))
    code, out, err = run_cli(
        capsys, db_url, "models", "train", "--model-type", "random_forest", "--target", "price_direction",
        "--symbols", "aaa,BBB", "--folds", "3", "--param", "n_estimators=20", "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert set(summary) >= {"model_id", "metrics", "baseline_metrics", "folds", "verdict", "intervals", "status"}
    model_id = summary["model_id"]
    assert model_id == "rf_direction_1d_v1"
    assert len(summary["folds"]) == 3
    assert summary["metrics"]["rows"] == sum(f["test_rows"] for f in summary["folds"])
    # Random walks: no skill to find, so the model is registered but not activated.
    assert summary["verdict"] in ("no_demonstrated_skill", "worse_than_baseline")
    assert summary["status"] == "deprecated"
    log_loss = summary["intervals"]["log_loss"]
    assert log_loss["low"] <= log_loss["difference"] <= log_loss["high"]
    assert log_loss["difference"] == pytest.approx(
        summary["metrics"]["log_loss"] - summary["baseline_metrics"]["log_loss"]
    )
    assert summary["baseline_metrics"]["roc_auc"] == 0.5  # constant within each fold: no ranking at all

    code, out, _ = run_cli(capsys, db_url, "models", "train", "--model-type", "gradient_boosting", "--target",
                        "volatility", "--horizon", "2", "--symbols", "AAA", "--start", "2015-03-01", "--end",
                        "2015-12-31", "--folds", "2", "--param", "max_iter=20")  # fmt: skip
    assert code == 0
    assert "gb_volatility_1d_h2_v1" in out
    assert "baseline: persistence" in out
    assert "verdict: " in out
    assert "95% interval" in out

    code, out, _ = run_cli(capsys, db_url, "models", "list", "--json")
    listed = json.loads(out)
    assert [m["model_id"] for m in listed] == ["gb_volatility_1d_h2_v1", model_id]
    code, out, _ = run_cli(capsys, db_url, "models", "list")
    assert "rf_direction_1d_v1" in out

    code, out, _ = run_cli(capsys, db_url, "models", "show", model_id)
    assert code == 0
    assert "verdict: " in out
    assert "model − baseline [95% interval]" in out
    assert "reliability" in out
    assert "feature importance" in out
    code, out, _ = run_cli(capsys, db_url, "models", "show", model_id, "--json")
    assert json.loads(out)["parameters"]["symbols"] == ["AAA", "BBB"]

    # A model without demonstrated skill predicts only once it is activated, after a warning; without a
    # terminal to confirm on, only --yes activates it.
    code, _, err = run_cli(capsys, db_url, "predict", "--model-id", model_id)
    assert code == 1
    assert "activate it first" in err
    code, _, err = run_cli(capsys, db_url, "models", "set-status", model_id, "active")
    assert code == 1
    assert "warning: model rf_direction_1d_v1:" in err
    assert "--yes" in err
    code, out, err = run_cli(capsys, db_url, "models", "set-status", model_id, "active", "--yes")
    assert (code, out.strip()) == (0, f"{model_id}: active")
    assert "predictions may be noise" in err

    code, out, _ = run_cli(capsys, db_url, "predict", "--model-id", model_id, "--json")
    assert code == 0
    predictions = json.loads(out)
    assert [p["symbol"] for p in predictions] == ["AAA", "BBB"]
    assert all(0 <= p["confidence"] <= 1 for p in predictions)
    code, out, _ = run_cli(capsys, db_url, "predict", "--model-id", model_id, "--symbols", "AAA")
    assert "1 prediction(s) stored" in out

    code, _, err = run_cli(capsys, db_url, "models", "delete", model_id)
    assert code == 1
    assert err.startswith("error: model rf_direction_1d_v1 has 2 stored prediction(s)")
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run_cli(capsys, db_url, "models", "set-status", model_id, "deprecated")
    assert (code, out.strip()) == (0, f"{model_id}: deprecated")
    code, _, err = run_cli(capsys, db_url, "predict", "--model-id", model_id)
    assert code == 1
    assert "deprecated" in err
    code, out, _ = run_cli(capsys, db_url, "models", "delete", "gb_volatility_1d_h2_v1")
    assert code == 0


def test_user_mistakes_are_one_line_errors(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, db_url, "models", "show", "nope_v1")
    assert code == 2
    assert err.strip() == "error: no model 'nope_v1'; 'workstation models list' shows the registry"
    code, _, err = run_cli(capsys, db_url, "models", "train", "--model-type", "random_forest", "--target",
                        "price_direction", "--symbols", "ZZZ")  # fmt: skip
    assert code == 1
    assert "no 1d feature rows" in err
    code, _, err = run_cli(capsys, db_url, "models", "train", "--model-type", "random_forest", "--target",
                        "price_direction", "--symbols", "ZZZ", "--start", "yesterday")  # fmt: skip
    assert code == 2
    assert "not a date" in err
