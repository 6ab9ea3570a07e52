"""No look-ahead (prefix property) and the incremental replay window (equal to a full recompute)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from workstation.features.catalog import CATALOG, FEATURE_NAMES, HISTORY_BARS
from workstation.features.compute import compute_features

Mismatch = Callable[[pd.DataFrame, pd.DataFrame, float], dict[str, int]]


@pytest.mark.parametrize("length", [1, 30, 250, 1001, 3333])
def test_prefix_features_equal_full_history_features(orcl: pd.DataFrame, length: int, mismatch: Mismatch) -> None:
    full = compute_features(orcl)
    prefix = compute_features(orcl.iloc[:length])
    assert list(prefix.columns) == list(FEATURE_NAMES)
    # Same start, causal computations: equal to the bit, which is within the required 1e-9.
    assert mismatch(prefix, full.iloc[:length], 1e-9) == {}
    np.testing.assert_array_equal(prefix.to_numpy(), full.iloc[:length].to_numpy())


def test_a_future_bar_never_changes_past_features(make_bars: Callable[..., pd.DataFrame]) -> None:
    bars = make_bars(900, seed=3)
    base = compute_features(bars)
    shocked = bars.copy()
    shocked.iloc[700:, :4] *= 3.0  # a crash in the future
    shocked.iloc[700:, 4] *= 10
    after = compute_features(shocked)
    np.testing.assert_array_equal(after.iloc[:700].to_numpy(), base.iloc[:700].to_numpy())


@pytest.mark.parametrize("cut", [700, 1500, 2600, 4100, 5000])
def test_tail_from_the_replay_window_equals_full_recompute(orcl: pd.DataFrame, cut: int, mismatch: Mismatch) -> None:
    """What an incremental build does: recompute bars >= cut from HISTORY_BARS bars of replayed history."""
    full = compute_features(orcl)
    window = compute_features(orcl.iloc[cut - HISTORY_BARS :])
    tail = window.loc[orcl.index[cut] :]
    assert mismatch(tail, full.iloc[cut:], 1e-6) == {}
    # The window is what makes it work: half of it is not enough for the EMA-like features.
    short = compute_features(orcl.iloc[cut - HISTORY_BARS // 8 :]).loc[orcl.index[cut] :]
    assert mismatch(short, full.iloc[cut:], 1e-6)


def test_every_feature_has_a_history_long_enough_for_itself(orcl: pd.DataFrame, mismatch: Mismatch) -> None:
    full = compute_features(orcl)
    cut = 3000
    for spec in CATALOG:
        part = compute_features(orcl.iloc[cut - spec.history :])
        got = part[[spec.name]].loc[orcl.index[cut] :]
        assert mismatch(got, full[[spec.name]].iloc[cut:], 1e-6) == {}, spec.name
