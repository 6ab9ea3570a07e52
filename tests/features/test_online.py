"""Online features: the row computed from the in-memory window equals the batch build's row within 1e-6."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from workstation.features import store
from workstation.features.catalog import FEATURE_NAMES
from workstation.features.compute import compute_features
from workstation.features.engine import build_features
from workstation.features.online import WINDOW_BARS, OnlineFeatures, OnlineRow, store_rows

Mismatch = Callable[[pd.DataFrame, pd.DataFrame, float], dict[str, int]]


def _nvda(shared_data: Path) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "nvda-1999-2014.txt", parse_dates=["Date"])
    frame = raw.rename(columns=str.lower)[["date", "open", "high", "low", "close", "volume"]]
    frame.index = pd.DatetimeIndex(frame.pop("date")).tz_localize("UTC") + pd.Timedelta(hours=21)
    return frame


def _stream(bars: pd.DataFrame, start: int, count: int, *, keep_rows: int = 1) -> pd.DataFrame:
    """Prime with bars[:start], then feed bars[start:start+count] one at a time; the online rows as a frame."""
    online = OnlineFeatures(keep_rows=keep_rows)
    online.prime("X", bars.iloc[:start])
    rows: list[OnlineRow] = []
    for i in range(start, start + count):
        b = bars.iloc[i]
        rows.append(
            online.update("X", bars.index[i].to_pydatetime(), (b.open, b.high, b.low, b.close, float(b.volume)))
        )
    return pd.DataFrame(
        np.vstack([r.features for r in rows]),
        index=pd.DatetimeIndex([r.timestamp for r in rows]),
        columns=list(FEATURE_NAMES),
    )


def _assert_equal_to_batch(bars: pd.DataFrame, start: int, count: int, mismatch: Mismatch) -> None:
    batch = compute_features(bars).iloc[start : start + count]
    online = _stream(bars, start, count)
    assert list(online.index) == list(batch.index)
    assert mismatch(online, batch, 1e-6) == {}


@pytest.mark.parametrize("start", [1, 150, 599, 1400, 4800])
def test_online_rows_equal_the_batch_build_on_orcl(orcl: pd.DataFrame, start: int, mismatch: Mismatch) -> None:
    _assert_equal_to_batch(orcl, start, 40, mismatch)


@pytest.mark.parametrize("start", [700, 3500])
def test_online_rows_equal_the_batch_build_on_nvda(shared_data: Path, start: int, mismatch: Mismatch) -> None:
    _assert_equal_to_batch(_nvda(shared_data), start, 40, mismatch)


@pytest.mark.parametrize("seed", [1, 2])
def test_online_rows_equal_the_batch_build_on_synthetic_series(
    make_bars: Callable[..., pd.DataFrame], seed: int, mismatch: Mismatch
) -> None:
    bars = make_bars(2 * WINDOW_BARS, seed=seed)
    _assert_equal_to_batch(bars, WINDOW_BARS - 20, 250, mismatch)


def test_the_window_is_bounded_and_a_revision_replaces_the_last_bar(make_bars: Callable[..., pd.DataFrame]) -> None:
    bars = make_bars(WINDOW_BARS + 50, seed=4)
    online = OnlineFeatures(keep_rows=3)
    online.prime("X", bars.iloc[:-1])
    assert len(online.recent_rows("X")) == 3
    last = bars.iloc[-1]
    when = bars.index[-1].to_pydatetime()
    online.update("X", when, (last.open, last.high, last.low, last.close * 1.5, float(last.volume)))
    row = online.update("X", when, (last.open, last.high, last.low, last.close, float(last.volume)))
    expected = compute_features(bars).iloc[-1].to_numpy()
    np.testing.assert_allclose(row.features, expected, rtol=1e-6, atol=1e-9)
    assert [r.timestamp for r in online.recent_rows("X")][-1] == when
    assert len(online.recent_rows("X")) == 3
    with pytest.raises(ValueError, match="older"):
        online.update("X", bars.index[0].to_pydatetime(), (1.0, 1.0, 1.0, 1.0, 1.0))


def test_stored_online_rows_match_what_a_build_stores(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: Callable[..., None], mismatch: Mismatch
) -> None:
    """Online rows written through the feature store, then a build: the build replaces them, no duplicates."""
    bars = make_bars(400, seed=5)
    store_bars(engine, "AAA", bars.iloc[:380])
    build_features(engine, symbols=["AAA"])
    online = OnlineFeatures()
    online.prime("AAA", bars.iloc[:380], source="csv")
    for i in range(380, 400):
        b = bars.iloc[i]
        online.update("AAA", bars.index[i].to_pydatetime(), (b.open, b.high, b.low, b.close, float(b.volume)),
                      source="csv")  # fmt: skip
    store_bars(engine, "AAA", bars.iloc[380:])
    assert store_rows(engine, "1d", online.take_pending()) == 20
    assert online.pending == []
    stored = store.load_features(engine, "AAA")
    assert len(stored) == 400
    assert mismatch(stored, compute_features(bars), 1e-6) == {}
    build_features(engine, symbols=["AAA"])
    rebuilt = store.load_features(engine, "AAA")
    assert len(rebuilt) == 400
    assert mismatch(rebuilt, compute_features(bars), 1e-6) == {}
