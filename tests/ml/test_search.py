"""Hyperparameter search: candidates chosen on all folds but the last, the verdict judged on the last fold,
the chosen candidate's fits reused exactly; the grid from the command line; mistakes are one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import Engine

from ml.helpers import insert_features, run_cli, synthetic_bars
from workstation.errors import ConfigurationError
from workstation.ml.executors import SerialExecutor
from workstation.ml.metrics import classification_metrics
from workstation.ml.search import MAX_CANDIDATES, candidate_params, parse_search
from workstation.ml.training import TrainingSpec, train


def test_the_grid_from_the_command_line() -> None:
    grid = parse_search(["max_depth=2,3", "learning_rate=0.05, 0.1", "loss=log_loss"])
    assert grid == {"max_depth": (2, 3), "learning_rate": (0.05, 0.1), "loss": ("log_loss",)}
    candidates = candidate_params({"max_iter": 20, "max_depth": 9}, grid)
    assert len(candidates) == 4
    assert candidates[0] == {"max_iter": 20, "max_depth": 2, "learning_rate": 0.05, "loss": "log_loss"}
    assert candidates[-1]["max_depth"] == 3 and candidates[-1]["learning_rate"] == 0.1
    for bad in ("max_depth", "=1,2", "max_depth="):
        with pytest.raises(ConfigurationError, match="--search needs NAME=VALUE"):
            parse_search([bad])
    too_many = [f"p{i}=1,2" for i in range(7)]  # 128 candidates
    with pytest.raises(ConfigurationError, match=f"at most {MAX_CANDIDATES}"):
        candidate_params({}, parse_search(too_many))


def test_a_search_needs_three_folds() -> None:
    spec = TrainingSpec("gradient_boosting", "price_direction", ("AAA",), n_folds=2, search={"max_depth": (2, 3)})
    with pytest.raises(ConfigurationError, match="at least 3 folds"):
        spec.validate()


def test_search_chooses_on_early_folds_and_judges_on_the_last(engine: Engine) -> None:
    insert_features(engine, "AAA", synthetic_bars(400, 11))
    insert_features(engine, "BBB", synthetic_bars(400, 12))
    base = {"max_iter": 15}
    grid = {"max_depth": (2, 4), "learning_rate": (0.05, 0.2)}
    spec = TrainingSpec("gradient_boosting", "price_direction", ("AAA", "BBB"), n_folds=4, hyperparameters=base,
                        search=grid)  # fmt: skip
    result = train(engine, spec, executor=SerialExecutor())
    search = result.parameters["search"]
    assert len(search["candidates"]) == 4 and search["selection_folds"] == [1, 2, 3] and search["judged_on_fold"] == 4
    chosen = search["candidates"][search["chosen"]]
    assert search["chosen"] == int(np.argmin([c["score"] for c in search["candidates"]]))
    assert result.parameters["hyperparameters"]["max_depth"] == chosen["params"]["max_depth"]

    # Each candidate's score is the mean log loss of a plain walk-forward run with its parameters, over folds 1–3.
    plain_runs = {}
    for candidate in search["candidates"]:
        plain = TrainingSpec("gradient_boosting", "price_direction", ("AAA", "BBB"), n_folds=4,
                             hyperparameters=candidate["params"])  # fmt: skip
        plain_runs[json.dumps(candidate["params"], sort_keys=True)] = outcome = train(
            engine, plain, executor=SerialExecutor()
        )
        early = [f["metrics"]["log_loss"] for f in outcome.folds[:3]]
        assert candidate["score"] == pytest.approx(float(np.mean(early)), rel=1e-12)

    # The chosen candidate's fits were reused: every fold equals the plain run with its parameters.
    same = plain_runs[json.dumps(chosen["params"], sort_keys=True)]
    assert result.folds == same.folds
    assert result.metrics == same.metrics
    assert np.array_equal(result.held_out["model"], same.held_out["model"])
    # …but the verdict is judged on the last fold only, which the choice never saw.
    last = result.folds[-1]
    difference = result.comparison["intervals"]["log_loss"]["difference"]
    assert difference == pytest.approx(last["metrics"]["log_loss"] - last["baseline_metrics"]["log_loss"])
    assert difference != pytest.approx(same.comparison["intervals"]["log_loss"]["difference"])
    y_last = result.held_out["y"][result.held_out["folds"] == 4]
    p_last = result.held_out["model"][result.held_out["folds"] == 4]
    assert classification_metrics(y_last, p_last)["log_loss"] == pytest.approx(last["metrics"]["log_loss"])


def test_models_train_search_command(db_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    insert_features(engine, "AAA", synthetic_bars(300, 3))
    args = ["models", "train", "--model-type", "random_forest", "--target", "price_direction", "--symbols", "AAA",
            "--param", "n_estimators=10"]  # fmt: skip
    code, out, err = run_cli(capsys, db_url, *args, "--folds", "3", "--search", "max_depth=3,6", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert [c["params"]["max_depth"] for c in summary["search"]["candidates"]] == [3, 6]
    assert "the verdict is judged on fold 3" in summary["search"]["note"]
    code, out, err = run_cli(capsys, db_url, *args, "--folds", "3", "--search", "max_depth=3,6")
    assert code == 0, err
    assert "search: chosen by mean log_loss on folds 1–2" in out
    assert "max_depth=3" in out and "max_depth=6" in out and "*" in out
    # Mistakes: one line, exit 2, nothing trained.
    code, out, err = run_cli(capsys, db_url, *args, "--folds", "2", "--search", "max_depth=3,6")
    assert code == 2 and "at least 3 folds" in err and "Traceback" not in err
    code, out, err = run_cli(capsys, db_url, *args, "--search", "max_depth")
    assert code == 2 and "--search needs NAME=VALUE" in err
    code, out, _ = run_cli(capsys, db_url, "models", "list", "--json")
    assert len(json.loads(out)) == 2
    code, out, _ = run_cli(capsys, db_url, "models", "show", summary["model_id"])
    assert code == 0 and "search: chosen by mean log_loss" in out and "max_depth=6" in out
