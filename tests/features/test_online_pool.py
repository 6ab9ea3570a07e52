"""A batch of online rows over several processes: the same bits as one at a time, whatever happens to the helpers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from workstation.features import online_pool
from workstation.features.online import WINDOW_BARS, Bar, OnlineFeatures

pytestmark = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="helpers are used with two cores or more")


def _universe(make_bars: Callable[..., pd.DataFrame], symbols: int, bars: int) -> dict[str, pd.DataFrame]:
    return {f"S{n:02d}": make_bars(bars - n, seed=100 + n) for n in range(symbols)}  # windows of several lengths


def _bar(frame: pd.DataFrame, i: int) -> tuple[datetime, Bar]:
    b = frame.iloc[i]
    return frame.index[i].to_pydatetime(), (b.open, b.high, b.low, b.close, float(b.volume))


def _primed(universe: dict[str, pd.DataFrame], keep_rows: int = 1) -> OnlineFeatures:
    online = OnlineFeatures(keep_rows=keep_rows)
    for symbol, frame in universe.items():
        online.prime(symbol, frame.iloc[:-3])
    return online


def test_a_batch_equals_one_update_at_a_time_bit_for_bit(make_bars: Callable[..., pd.DataFrame]) -> None:
    universe = _universe(make_bars, online_pool.MIN_PARALLEL + 4, WINDOW_BARS + 40)
    one_by_one, batched = _primed(universe, keep_rows=2), _primed(universe, keep_rows=2)
    for back in (3, 2, 1):  # three closes of every symbol, each a batch
        items = [(s, *_bar(f, len(f) - back), "test") for s, f in universe.items()]
        expected = [one_by_one.update(s, when, bar, source=src) for s, when, bar, src in items]
        got = batched.update_many(items)
        assert [(r.symbol, r.timestamp, r.source) for r in got] == [(r.symbol, r.timestamp, r.source) for r in expected]
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a.features, b.features)  # NaN where undefined, equal bits elsewhere
    for symbol in universe:
        assert [r.timestamp for r in batched.recent_rows(symbol)] == [
            r.timestamp for r in one_by_one.recent_rows(symbol)
        ]
    assert len(batched.take_pending()) == 3 * len(universe)


def test_a_batch_with_a_revision_and_two_bars_of_one_symbol(make_bars: Callable[..., pd.DataFrame]) -> None:
    """Bars of one symbol in one batch are taken in order: the second sees the first (or replaces it)."""
    universe = _universe(make_bars, online_pool.MIN_PARALLEL, WINDOW_BARS + 10)
    one_by_one, batched = _primed(universe), _primed(universe)
    first = next(iter(universe))
    frame = universe[first]
    when, bar = _bar(frame, len(frame) - 3)
    revised = (bar[0], bar[1], bar[2], bar[3] * 1.01, bar[4])
    items = [(s, *_bar(f, len(f) - 3), "") for s, f in universe.items()]
    items += [(first, when, revised, ""), (first, *_bar(frame, len(frame) - 2), "")]
    expected = [one_by_one.update(s, t, b, source=src) for s, t, b, src in items]
    got = batched.update_many(items)
    for a, b in zip(got, expected, strict=True):
        assert (a.symbol, a.timestamp, a.bar) == (b.symbol, b.timestamp, b.bar)
        np.testing.assert_array_equal(a.features, b.features)


def test_a_helper_that_dies_costs_speed_not_rows(make_bars: Callable[..., pd.DataFrame]) -> None:
    universe = _universe(make_bars, online_pool.MIN_PARALLEL, WINDOW_BARS)
    windows = [f[["open", "high", "low", "close", "volume"]].to_numpy(np.float64) for f in universe.values()]
    expected = online_pool.last_rows(windows)
    _warm_helpers()
    pool = online_pool._helpers.get()
    for pid in list(pool._processes):  # the executor's own record of its workers
        os.kill(pid, signal.SIGKILL)
    got = online_pool.batch_last_rows(windows)  # the dead helper's share is computed here
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not online_pool._helpers.is_warm()
    again = online_pool.batch_last_rows(windows)  # computed here while fresh helpers start
    _warm_helpers()
    assert online_pool._helpers.get() is not pool
    once_more = online_pool.batch_last_rows(windows)  # and on the fresh helpers
    for rows in (again, once_more):
        for a, b in zip(rows, expected, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_batch_does_not_wait_for_helpers_to_start(make_bars: Callable[..., pd.DataFrame]) -> None:
    online_pool._helpers.shutdown()
    frame = make_bars(200, seed=3)
    windows = [frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)] * online_pool.MIN_PARALLEL
    assert len(online_pool.batch_last_rows(windows)) == online_pool.MIN_PARALLEL
    _warm_helpers()  # that batch started them in the background


def _warm_helpers() -> None:
    online_pool.warm_up()
    deadline = time.monotonic() + 60
    while not online_pool._helpers.is_warm():
        assert time.monotonic() < deadline, "the helpers did not start"
        time.sleep(0.05)


def test_a_small_batch_stays_in_this_process(
    monkeypatch: pytest.MonkeyPatch, make_bars: Callable[..., pd.DataFrame]
) -> None:
    def no_helpers() -> None:
        raise AssertionError("a small batch must not start helpers")

    monkeypatch.setattr(online_pool._helpers, "get", no_helpers)
    frame = make_bars(200, seed=3)
    windows = [frame[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)] * (online_pool.MIN_PARALLEL - 1)
    assert len(online_pool.batch_last_rows(windows)) == online_pool.MIN_PARALLEL - 1


def test_helpers_end_with_a_killed_process() -> None:
    """A CLI killed outright runs no atexit; its helpers must not outlive it holding the caller's stdout."""
    code = (
        "import time\nfrom workstation.features import online_pool\n"
        "online_pool._helpers.get().submit(int, 0).result()\nprint('up', flush=True)\ntime.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "up"
    process.kill()
    process.communicate(timeout=15)  # EOF on both pipes: no helper holds them any more


def test_a_refused_bar_moves_no_window(make_bars: Callable[..., pd.DataFrame]) -> None:
    """A bar older than its window's last refuses the whole share before any window moves."""
    universe = _universe(make_bars, online_pool.MIN_PARALLEL, WINDOW_BARS + 10)
    one_by_one, batched = _primed(universe), _primed(universe)
    items = [(s, *_bar(f, len(f) - 3), "") for s, f in universe.items()]
    first, frame = next(iter(universe.items()))
    stale = (first, *_bar(frame, 0), "")
    with pytest.raises(ValueError, match="older"):
        batched.update_many([*items[1:], stale])
    assert batched.pending == []
    expected = [one_by_one.update(s, t, b, source=src) for s, t, b, src in items]
    for a, b in zip(batched.update_many(items), expected, strict=True):
        np.testing.assert_array_equal(a.features, b.features)
