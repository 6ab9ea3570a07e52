"""The feature reader: reflection of the table's columns, bars ≤ t only, and the one-query latest read."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, event, text

from ml.helpers import insert_features, spec_features, synthetic_bars
from workstation.ml import dataset as ds

SPEC_FEATURES = ["returns", "rsi_1d", "price_ma_short", "bb_upper", "macd", "atr"]


def test_feature_columns_are_reflected_at_run_time(engine: Engine) -> None:
    before = ds.available_features(engine)
    assert set(SPEC_FEATURES) <= set(before)
    assert not {"symbol", "timestamp", "open", "close", "volume", "feature_version"} & set(before)
    # A column added by a later migration (a new catalog version) is picked up without code changes.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE feature_engineered_data ADD COLUMN test_extra_feature DOUBLE PRECISION"))
    assert ds.available_features(engine) == [*before, "test_extra_feature"]


def test_features_at_t_use_only_bars_up_to_t(engine: Engine) -> None:
    bars = synthetic_bars(120, 7)
    insert_features(engine, "AAA", bars)
    frame = ds.load_history(engine, ["AAA"], "1d", SPEC_FEATURES)
    assert list(frame["timestamp"]) == list(bars.index)
    for t in (10, 40, 77, 119):
        recomputed = spec_features(bars.iloc[: t + 1]).iloc[-1][SPEC_FEATURES].to_numpy(dtype=float)
        stored = frame.iloc[t][SPEC_FEATURES].to_numpy(dtype=float)
        np.testing.assert_allclose(stored, recomputed, rtol=1e-9, equal_nan=True)


def test_history_filters_and_missing_symbols(engine: Engine) -> None:
    bars = synthetic_bars(50, 3)
    insert_features(engine, "AAA", bars)
    start, end = bars.index[10].to_pydatetime(), bars.index[19].to_pydatetime()
    frame = ds.load_history(engine, ["AAA"], "1d", SPEC_FEATURES, start=start, end=end)
    assert len(frame) == 10
    with pytest.raises(ds.InsufficientDataError, match="ZZZ"):
        ds.load_history(engine, ["AAA", "ZZZ"], "1d", SPEC_FEATURES)
    with pytest.raises(ds.ConfigurationError, match="nope"):
        ds.resolve_features(engine, ["rsi_1d", "nope"])


def test_latest_rows_for_all_symbols_in_one_query(engine: Engine) -> None:
    for i, symbol in enumerate(["AAA", "BBB", "CCC"]):
        insert_features(engine, symbol, synthetic_bars(60 + i, i))
    # A second source for one bar of BBB must not duplicate it.
    bbb = synthetic_bars(61, 1)
    insert_features(engine, "BBB", bbb.iloc[-1:], source="zz_other")
    insert_features(engine, "AAA", synthetic_bars(60, 0), interval="1h")
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        latest = ds.load_latest(engine, ["AAA", "BBB", "CCC", "ZZZ"], "1d", SPEC_FEATURES)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "feature_engineered_data" in s]) == 1
    assert list(latest["symbol"]) == ["AAA", "BBB", "CCC"]
    assert list(latest["source"]) == ["test", "test", "test"]
    assert list(latest["timestamp"]) == [synthetic_bars(60 + i, i).index[-1] for i in range(3)]
    window = ds.load_latest(engine, ["CCC"], "1d", SPEC_FEATURES, rows_per_symbol=5)
    assert list(window["timestamp"]) == list(synthetic_bars(62, 2).index[-5:])
    cutoff = synthetic_bars(62, 2).index[-10].to_pydatetime()
    before = ds.load_latest(engine, ["CCC"], "1d", SPEC_FEATURES, end=cutoff + timedelta(hours=1))
    assert before["timestamp"].iloc[0] == pd.Timestamp(cutoff)
