"""No leakage: labels look only at bars t+1..t+h, and no training label window reaches into a test fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.ml.labels import add_labels, forward_direction, forward_volatility, trailing_volatility
from workstation.ml.splits import calibration_split, walk_forward_folds


def _long_frame(lengths: dict[str, int], seed: int = 0, gaps: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for i, (symbol, n) in enumerate(lengths.items()):
        index = pd.bdate_range("2020-01-01", periods=n + 40, tz="UTC")[i * 7 :][:n]  # staggered starts
        if gaps:
            index = index[np.sort(rng.choice(len(index), size=int(n * 0.9), replace=False))]
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
        parts.append(pd.DataFrame({"symbol": symbol, "timestamp": index, "close": close}))
    return pd.concat(parts).sort_values(["symbol", "timestamp"]).reset_index(drop=True)


@settings(max_examples=60, deadline=None)
@given(
    close=st.lists(st.floats(1, 1000), min_size=3, max_size=60),
    horizon=st.integers(1, 5),
    t=st.integers(0, 59),
    noise=st.floats(1, 1000),
)
def test_label_at_t_uses_only_bars_t_plus_1_to_t_plus_h(close: list[float], horizon: int, t: int, noise: float) -> None:
    c = np.array(close)
    t = t % len(c)
    direction, volatility = forward_direction(c, horizon), forward_volatility(c, horizon)
    if t + horizon >= len(c):
        assert np.isnan(direction[t])
        assert np.isnan(volatility[t])
        return
    assert direction[t] == (1.0 if c[t + horizon] > c[t] else 0.0)
    log_returns = np.log(c[t + 1 : t + horizon + 1] / c[t : t + horizon])
    assert volatility[t] == pytest.approx(np.sqrt(np.mean(log_returns**2)))
    # Changing any bar before t or after t+h leaves the label at t untouched.
    for other in [*range(t), *range(t + horizon + 1, len(c))]:
        changed = c.copy()
        changed[other] = noise
        assert forward_direction(changed, horizon)[t] == direction[t]
        assert forward_volatility(changed, horizon)[t] == pytest.approx(volatility[t])


def test_persistence_baseline_uses_only_the_past() -> None:
    c = np.array([100.0, 101, 99, 102, 104, 103])
    trailing = trailing_volatility(c, 2)
    changed = c.copy()
    changed[4:] = [1.0, 1.0]
    assert trailing[3] == pytest.approx(trailing_volatility(changed, 2)[3])
    assert trailing[3] == pytest.approx(np.sqrt(np.mean(np.log([99 / 101, 102 / 99]) ** 2)))


def test_label_end_is_the_bar_h_ahead_of_the_same_symbol() -> None:
    frame = add_labels(_long_frame({"A": 30, "B": 25}), "price_direction", 3)
    for _, rows in frame.groupby("symbol"):
        stamps = list(rows["timestamp"])
        ends = list(rows["label_end"])
        assert ends[:-3] == stamps[3:]
        assert all(pd.isna(e) for e in ends[-3:])
        assert rows["label"].iloc[-3:].isna().all()


@pytest.mark.parametrize("horizon", [1, 5])
@pytest.mark.parametrize("gaps", [False, True])
def test_folds_are_time_ordered_and_purged(horizon: int, gaps: bool) -> None:
    frame = add_labels(_long_frame({"A": 300, "B": 280, "C": 250}, gaps=gaps), "price_direction", horizon)
    frame = frame[frame["label"].notna()].reset_index(drop=True)
    folds = walk_forward_folds(frame["timestamp"], frame["label_end"], 5)
    assert len(folds) == 5
    stamps, ends = frame["timestamp"], frame["label_end"]
    previous_end = None
    for fold in folds:
        test_start = stamps.iloc[fold.test].min()
        # No training row's label window reaches into the test fold, nor does any training bar.
        assert ends.iloc[fold.train].max() < test_start
        assert stamps.iloc[fold.train].max() < test_start
        assert not set(fold.train) & set(fold.test)
        # Test blocks move forward in time without overlapping (never shuffled).
        if previous_end is not None:
            assert test_start > previous_end
        previous_end = stamps.iloc[fold.test].max()
        # The whole block of time is tested across all symbols.
        block = frame[(stamps >= test_start) & (stamps <= previous_end)].index
        assert sorted(block) == sorted(fold.test)
        # The purge gap: each symbol's last `horizon` bars before the test block are not trained on.
        for symbol, rows in frame[stamps < test_start].groupby("symbol"):
            trained = set(fold.train) & set(rows.index)
            assert not trained & set(rows.index[-horizon:]), symbol
    # Expanding window: each fold trains on at least as much as the one before.
    assert [len(f.train) for f in folds] == sorted(len(f.train) for f in folds)


def test_calibration_tail_is_after_the_purged_fit_rows() -> None:
    frame = add_labels(_long_frame({"A": 300, "B": 300}), "price_direction", 4)
    frame = frame[frame["label"].notna()].reset_index(drop=True)
    positions = np.arange(len(frame))
    fit, tail = calibration_split(positions, frame["timestamp"], frame["label_end"], frame["symbol"], 0.2)
    assert frame["label_end"].iloc[fit].max() < frame["timestamp"].iloc[tail].min()
    assert 0.15 < len(tail) / len(frame) < 0.25


def test_each_symbol_calibrates_on_its_latest_share() -> None:
    """Histories that end at different times: every symbol has its share of the calibration rows, and no
    fit row's label window overlaps any calibration period."""
    frame = add_labels(_long_frame({"LONG": 600, "EARLY": 300}), "price_direction", 3)
    early = frame["symbol"] == "EARLY"
    frame.loc[early, "timestamp"] -= pd.Timedelta(days=400)  # EARLY ends long before LONG
    frame.loc[early, "label_end"] -= pd.Timedelta(days=400)
    frame = frame[frame["label"].notna()].reset_index(drop=True)
    fit, tail = calibration_split(np.arange(len(frame)), frame["timestamp"], frame["label_end"], frame["symbol"], 0.2)
    shares = frame.iloc[tail]["symbol"].value_counts() / frame["symbol"].value_counts()
    assert shares.min() > 0.15 and shares.max() < 0.25  # a global cut would give EARLY none
    assert not set(fit) & set(tail)
    periods = [(rows["timestamp"].min(), rows["timestamp"].max()) for _, rows in frame.iloc[tail].groupby("symbol")]
    fitted = frame.iloc[fit]
    for start, stop in periods:
        assert not ((fitted["timestamp"] <= stop) & (fitted["label_end"] >= start)).any()
    for symbol, rows in fitted.groupby("symbol"):
        own_start = frame.iloc[tail].loc[lambda f, s=symbol: f["symbol"] == s, "timestamp"].min()
        assert rows["label_end"].max() < own_start
