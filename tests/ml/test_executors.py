"""Folds and the final fit are plain tasks: the same numbers whichever executor runs them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sqlalchemy import Engine

from ml.helpers import insert_features, synthetic_bars
from workstation.ml.executors import SerialExecutor, training_pool
from workstation.ml.tasks import ArraysHandle
from workstation.ml.training import TrainingSpec, train


def test_results_do_not_depend_on_the_executor(engine: Engine) -> None:
    for i, symbol in enumerate(("AAA", "BBB", "CCC")):
        insert_features(engine, symbol, synthetic_bars(300, 40 + i))
    runs = {
        "process pool (memory-mapped)": {"executor": training_pool()},
        "serial": {"executor": SerialExecutor()},
        "threads": {"executor": ThreadPoolExecutor(2)},
        # What a cluster adapter does: hand over plain arrays (it would scatter them once).
        "plain arrays": {"executor": ThreadPoolExecutor(2), "publish": lambda arrays: ArraysHandle(arrays.x, arrays.y)},
    }
    for spec in (
        TrainingSpec("gradient_boosting", "price_direction", ("AAA", "BBB", "CCC"), n_folds=3,
                     hyperparameters={"max_iter": 30}),
        TrainingSpec("random_forest", "volatility", ("AAA", "BBB", "CCC"), horizon=3, n_folds=3,
                     hyperparameters={"n_estimators": 30}),
    ):  # fmt: skip
        results = {name: train(engine, spec, **kwargs) for name, kwargs in runs.items()}  # type: ignore[arg-type]
        reference = results["serial"]
        x = np.random.default_rng(0).normal(size=(50, len(reference.model.feature_names)))
        for name, result in results.items():
            assert result.metrics == reference.metrics, name
            assert result.comparison == reference.comparison, name
            assert result.feature_importance == reference.feature_importance, name
            assert np.array_equal(result.held_out["model"], reference.held_out["model"]), name
            assert all(
                np.array_equal(a, b) for a, b in zip(result.model.predict(x), reference.model.predict(x), strict=True)
            )
