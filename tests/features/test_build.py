"""build_features on both databases: full, incremental, revised bars, versions, summary, reader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, update

from workstation.db.models import MarketData
from workstation.db.summary import dashboard_summary
from workstation.errors import JobCancelledError, WorkstationError
from workstation.features import store
from workstation.features.catalog import FEATURE_NAMES
from workstation.features.compute import compute_features
from workstation.features.engine import build_features
from workstation.features.pool import discard_feature_pool, feature_pool
from workstation.jobs import CancelToken, ProgressUpdate

StoreBars = Callable[..., None]
Mismatch = Callable[[pd.DataFrame, pd.DataFrame, float], dict[str, int]]


def _expected(bars: pd.DataFrame) -> pd.DataFrame:
    return compute_features(bars)


def test_full_then_incremental_equals_full_recompute(
    engine: Engine, orcl: pd.DataFrame, store_bars: StoreBars, mismatch: Mismatch
) -> None:
    bars = orcl.iloc[:1400]
    store_bars(engine, "ORCL", bars.iloc[:1300])
    updates: list[ProgressUpdate] = []
    first = build_features(engine, symbols=["ORCL"], progress=updates.append)
    assert [(s.symbol, s.mode, s.rows_written) for s in first.symbols] == [("ORCL", "full", 1300)]
    assert updates[-1].done == updates[-1].total == 1
    assert first.summary_refreshed

    store_bars(engine, "ORCL", bars.iloc[1300:])
    second = build_features(engine, symbols=["ORCL"])
    outcome = second.symbols[0]
    assert (outcome.mode, outcome.rows_written, outcome.rows_deleted) == ("incremental", 100, 0)
    assert outcome.since == bars.index[1300]

    stored = store.load_features(engine, "ORCL")
    assert list(stored.index) == list(bars.index)
    assert str(stored.index.tz) == "UTC"
    assert mismatch(stored, _expected(bars), 1e-6) == {}
    # The untouched head is exactly what the full build wrote.
    np.testing.assert_allclose(stored.iloc[:1300].to_numpy(), _expected(bars.iloc[:1300]).to_numpy(), rtol=1e-12)

    third = build_features(engine, symbols=["ORCL"])
    assert (third.symbols[0].mode, third.rows_written, third.summary_refreshed) == ("up_to_date", 0, False)


def test_revised_bar_triggers_recompute_from_that_bar(
    engine: Engine, orcl: pd.DataFrame, store_bars: StoreBars, mismatch: Mismatch
) -> None:
    bars = orcl.iloc[:1200].copy()
    store_bars(engine, "ORCL", bars)
    build_features(engine)
    revised_at = bars.index[900]
    with engine.begin() as conn:
        conn.execute(
            update(MarketData)
            .where(MarketData.timestamp == revised_at.to_pydatetime())
            .values(close=MarketData.close * 2)
        )
    bars.loc[revised_at, "close"] *= 2
    outcome = build_features(engine).symbols[0]
    assert outcome.mode == "revised"
    assert outcome.since == revised_at
    assert outcome.rows_written == outcome.rows_deleted == 300
    assert mismatch(store.load_features(engine, "ORCL"), _expected(bars), 1e-6) == {}

    # A deleted bar is a revision too: its feature row goes, later bars are recomputed without it.
    gone = bars.index[1100]
    with engine.begin() as conn:
        conn.execute(MarketData.__table__.delete().where(MarketData.timestamp == gone.to_pydatetime()))
    outcome = build_features(engine).symbols[0]
    assert (outcome.mode, outcome.since) == ("revised", gone)
    kept = bars.drop(index=gone)
    assert mismatch(store.load_features(engine, "ORCL"), _expected(kept), 1e-6) == {}


def test_several_symbols_summary_versions_and_reader(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars
) -> None:
    a, b = make_bars(400, seed=1), make_bars(250, seed=2)
    store_bars(engine, "AAA", a)
    store_bars(engine, "BBB", b, source="yahoo")
    summary = build_features(engine, symbols=["AAA", "bbb", "ZZZ"])
    assert {s.symbol: s.rows_written for s in summary.symbols} == {"AAA": 400, "BBB": 250}
    assert summary.skipped == {"ZZZ": "no 1d bars in market_data"}
    assert summary.as_dict()["rows_written"] == 650

    rows = {r["symbol"]: r for r in dashboard_summary(engine)}
    assert rows["AAA"]["total_records"] == 400
    assert rows["AAA"]["latest_version"] == "3.0"
    assert rows["AAA"]["latest_timestamp"] == a.index[-1]
    assert rows["AAA"]["rsi_coverage"] == pytest.approx(386 / 400)  # RSI(14) is NULL for 14 warm-up bars
    assert rows["AAA"]["ma_coverage"] == pytest.approx(391 / 400)  # SMA(10): 9 bars

    # Another catalog version can live next to 3.0: the unique key includes feature_version.
    old = _expected(a.iloc[:10])
    with engine.begin() as conn:
        store.write_rows(
            conn, symbol="AAA", interval="1d", source="csv", version="2.9", timestamps=a.index[:10],
            bars=a.iloc[:10].to_numpy(np.float64), features=old.to_numpy(),
        )  # fmt: skip
    assert len(store.load_features(engine, "AAA", feature_version="2.9")) == 10
    assert len(store.load_features(engine, "AAA")) == 400

    picked = store.load_features(engine, "BBB", columns=["close", "rsi_1d"], start=b.index[100], end=b.index[109])
    assert list(picked.columns) == ["close", "rsi_1d"]
    assert len(picked) == 10
    np.testing.assert_allclose(picked["close"].to_numpy(), b["close"].iloc[100:110].to_numpy())
    with pytest.raises(WorkstationError, match="unknown feature column"):
        store.load_features(engine, "BBB", columns=["rsi_2d"])
    assert store.load_features(engine, "NOPE").shape == (0, len(FEATURE_NAMES))


def test_full_flag_rewrites_and_cancel_stops(engine: Engine, make_bars: Callable[..., pd.DataFrame],
                                            store_bars: StoreBars) -> None:  # fmt: skip
    store_bars(engine, "AAA", make_bars(300, seed=5))
    build_features(engine, symbols=["AAA"])
    again = build_features(engine, symbols=["AAA"], full=True)
    assert (again.symbols[0].mode, again.symbols[0].rows_deleted, again.rows_written) == ("full", 300, 300)
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelledError):
        build_features(engine, symbols=["AAA"], full=True, cancel=token)


def test_no_bars_is_a_clear_error(engine: Engine) -> None:
    with pytest.raises(WorkstationError, match="no 1h bars stored"):
        build_features(engine, interval="1h")


def test_hourly_bars_are_kept_apart(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars
) -> None:
    hourly = make_bars(120, seed=9)
    hourly.index = pd.date_range("2024-03-01 14:00", periods=120, freq="h", tz="UTC")
    store_bars(engine, "AAA", hourly, interval="1h")
    store_bars(engine, "AAA", make_bars(50, seed=1))
    summary = build_features(engine, interval="1h")
    assert summary.rows_written == 120
    assert len(store.load_features(engine, "AAA", "1h")) == 120
    assert store.load_features(engine, "AAA", "1d").empty
    assert store.load_features(engine, "AAA", "1h").index[0] == hourly.index[0] - timedelta(0)


def test_the_worker_pool_stays_warm_between_builds_and_a_discarded_one_is_replaced(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars
) -> None:
    for seed, symbol in enumerate(("AAA", "BBB", "CCC")):
        store_bars(engine, symbol, make_bars(120, seed=seed))
    assert build_features(engine).rows_written == 360  # three batches: the worker pool
    pool = feature_pool()
    assert build_features(engine, full=True).rows_written == 360
    assert feature_pool() is pool  # the same workers, not a new start-up per build
    discard_feature_pool(pool)  # what a build does when a worker died (BrokenProcessPool)
    assert feature_pool() is not pool
    assert build_features(engine, full=True).rows_written == 360
