"""Model inputs are the stored feature values bit for bit, on both databases, whichever path read them.

The PostgreSQL history read once parsed COPY text with pandas' fast parser, which is not correctly
rounded: stored prediction inputs differed from the feature table by 1 ULP and confidences moved with
the path (``predict --start/--end`` against latest). Both are checked here against a plain driver read.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, select

from ml.helpers import insert_features, synthetic_bars
from workstation.db.models import FeatureEngineeredData as F
from workstation.ml import dataset as ds
from workstation.ml.predict import predict_latest, predict_range
from workstation.ml.service import train_and_register
from workstation.ml.training import TrainingSpec

NAMES = ["returns", "rsi_1d", "price_ma_short", "bb_upper", "macd", "atr"]


def _stored(engine: Engine, symbol: str) -> dict[object, list[float | None]]:
    """The feature rows as the driver returns them (bar time → values)."""
    query = select(F.timestamp, *(F.__table__.c[n] for n in NAMES)).where(F.symbol == symbol)
    with engine.connect() as conn:
        return {row[0].replace(tzinfo=None): list(row[1:]) for row in conn.execute(query)}


def test_stored_inputs_equal_the_feature_rows_and_paths_agree(engine: Engine) -> None:
    for i, symbol in enumerate(("AAA", "BBB")):
        insert_features(engine, symbol, synthetic_bars(260, 90 + i))
    frame = ds.load_history(engine, ["AAA"], "1d", NAMES)
    stored = _stored(engine, "AAA")
    for _, row in frame.iterrows():
        expected = stored[row["timestamp"].tz_convert(None).to_pydatetime()]
        got = [None if np.isnan(v) else float(v) for v in row[NAMES]]
        assert got == expected  # exactly, not approximately

    spec = TrainingSpec("random_forest", "price_direction", ("AAA", "BBB"), n_folds=2, include_price_levels=True,
                        hyperparameters={"n_estimators": 20})  # fmt: skip
    model_id = train_and_register(engine, spec, status="active").model.model_id
    ranged = {(r.symbol, r.timestamp): r for r in predict_range(engine, model_id)}
    for record in ranged.values():
        expected = _stored(engine, record.symbol)[record.timestamp.replace(tzinfo=None)]
        assert [record.features[n] for n in NAMES] == expected
    for latest in predict_latest(engine, model_id):
        same_bar = ranged[(latest.symbol, latest.timestamp)]
        assert latest.features == same_bar.features
        assert latest.confidence == same_bar.confidence
        assert latest.prediction_value == same_bar.prediction_value
