"""A model trained on a random walk is not called better than its baseline; one with real signal is.

Twenty independent random walks (two symbols each): ``beats_baseline`` at most once (the interval is a
95 % one, so about one in forty noise models could pass by chance). A leaked future return as a feature
is the positive control: there the verdict must be ``beats_baseline`` and the model is activated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from ml.helpers import insert_features, synthetic_bars
from workstation.db.engine import create_db_engine
from workstation.db.migrate import upgrade
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec, train

SEEDS = 20
BARS = 320
FAST = {"n_estimators": 40}


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'verdicts.db'}")
    upgrade(engine)
    return engine


@pytest.mark.slow
def test_random_walks_are_never_called_better_than_the_baseline(sqlite_engine: Engine) -> None:
    verdicts = []
    for seed in range(SEEDS):
        pair = (f"RW{seed:02d}A", f"RW{seed:02d}B")
        for offset, symbol in enumerate(pair):
            insert_features(sqlite_engine, symbol, synthetic_bars(BARS, 1000 + 2 * seed + offset))
        spec = TrainingSpec("auto", "price_direction", pair, n_folds=3, hyperparameters=FAST)
        verdicts.append(train(sqlite_engine, spec).verdict)
    assert verdicts.count("beats_baseline") <= 1, verdicts
    assert set(verdicts) <= {"beats_baseline", "no_demonstrated_skill", "worse_than_baseline"}


def test_a_model_with_real_signal_beats_its_baseline_and_is_activated(sqlite_engine: Engine) -> None:
    for offset, symbol in enumerate(("SIGA", "SIGB")):
        bars = synthetic_bars(BARS, 77 + offset)
        insert_features(sqlite_engine, symbol, bars)
        # The positive control: rsi_1d replaced by tomorrow's return (a leak no real feature has).
        future = np.r_[bars["close"].to_numpy()[1:] / bars["close"].to_numpy()[:-1] - 1, np.nan]
        with sqlite_engine.begin() as conn:
            for stamp, value in zip(bars.index, future, strict=True):
                conn.exec_driver_sql(
                    "UPDATE feature_engineered_data SET rsi_1d = ? WHERE symbol = ? AND timestamp = ?",
                    (None if np.isnan(value) else float(value), symbol, stamp.strftime("%Y-%m-%d %H:%M:%S.%f")),
                )
    spec = TrainingSpec("auto", "price_direction", ("SIGA", "SIGB"), n_folds=3, hyperparameters=FAST)
    outcome = train_and_register(sqlite_engine, spec)
    assert outcome.result.verdict == "beats_baseline", outcome.result.comparison["intervals"]["log_loss"]
    assert outcome.model.status == "active"
    assert outcome.result.comparison["intervals"]["log_loss"]["high"] < 0
