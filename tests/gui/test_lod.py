"""The level-of-detail pyramid: merged candles keep the true extremes, live updates match a rebuild."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workstation.gui.chart.lod import OhlcvPyramid

pytestmark = pytest.mark.gui


def _random_bars(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = close + rng.normal(0, 0.5, n)
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    volume = rng.integers(1, 1000, n).astype(float)
    times = np.arange(n, dtype=np.int64) * 60_000_000_000
    return times, open_, high, low, close, volume


def _expected(bars: tuple[np.ndarray, ...], width: int) -> dict[str, list[float]]:
    _, o, h, lo, c, v = bars
    starts = range(0, len(o), width)
    return {
        "open": [o[s] for s in starts],
        "high": [h[s : s + width].max() for s in starts],
        "low": [lo[s : s + width].min() for s in starts],
        "close": [c[min(s + width, len(o)) - 1] for s in starts],
        "volume": [v[s : s + width].sum() for s in starts],
    }


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=1, max_value=700), seed=st.integers(0, 1000))
def test_every_level_keeps_true_high_low_first_open_last_close(n: int, seed: int) -> None:
    bars = _random_bars(n, seed)
    pyramid = OhlcvPyramid(*bars)
    for level in range(pyramid.max_level + 1):
        expected = _expected(bars, 1 << level)
        for name, values in expected.items():
            np.testing.assert_allclose(pyramid.field(name, level), values, err_msg=f"{name} at level {level}")
    assert len(pyramid.field("open", pyramid.max_level)) == 1


def test_level_choice_merges_bars_narrower_than_two_pixels() -> None:
    pyramid = OhlcvPyramid(*_random_bars(1 << 20))
    assert pyramid.level_for(0.1) == 0  # 10 px per bar: every bar drawn
    assert pyramid.level_for(0.5) == 0  # exactly 2 px per bar
    assert pyramid.level_for(1.0) == 1  # 1 px per bar: pairs merged into 2 px candles
    assert pyramid.level_for(1000.0) == 11  # 2048 bars per bucket ≈ 2 px
    # A full zoom-out of a million bars on 1600 px draws about 800 merged candles, not a million.
    level = pyramid.level_for((1 << 20) / 1600)
    assert 400 <= len(pyramid.visible(level, 0, 1 << 20)) <= 1700


def test_visible_slice_covers_the_view_with_a_margin() -> None:
    pyramid = OhlcvPyramid(*_random_bars(10_000))
    buckets = pyramid.visible(3, 1000.2, 2000.7)
    centers = buckets.centers()
    assert centers[0] < 1000.2
    assert centers[-1] > 2000.7
    assert len(buckets) < 140
    low, high = pyramid.price_range(1000, 2000)  # type: ignore[misc]
    _, _, h, lo, _, _ = _random_bars(10_000)
    assert low <= lo[1000:2001].min()
    assert high >= h[1000:2001].max()


def test_live_updates_and_appends_match_a_rebuilt_pyramid() -> None:
    bars = _random_bars(1001, seed=3)
    pyramid = OhlcvPyramid(*(a[:1000] for a in bars))
    pyramid.update_last(bars[1][999], 10_000.0, 0.5, bars[4][999], 99_999.0)
    pyramid.append(int(bars[0][1000]), bars[1][1000], bars[2][1000], bars[3][1000], bars[4][1000], bars[5][1000])
    for extra in range(1, 40):  # enough appends to grow the base buffer and add levels
        t = int(bars[0][1000]) + extra * 60_000_000_000
        pyramid.append(t, 100.0, 101.0 + extra, 99.0, 100.5, 10.0)
    expected_bars = [np.array(a[:1000]) for a in bars]
    expected_bars[2][999], expected_bars[3][999], expected_bars[5][999] = 10_000.0, 0.5, 99_999.0
    full = [np.append(a, b) for a, b in zip(expected_bars, (x[1000:1001] for x in bars), strict=True)]
    tail_t = int(bars[0][1000]) + np.arange(1, 40) * 60_000_000_000
    tail = [
        tail_t,
        np.full(39, 100.0),
        101.0 + np.arange(1, 40),
        np.full(39, 99.0),
        np.full(39, 100.5),
        np.full(39, 10.0),
    ]
    full = [np.append(a, b) for a, b in zip(full, tail, strict=True)]
    rebuilt = OhlcvPyramid(*full)
    assert pyramid.max_level == rebuilt.max_level
    for level in range(rebuilt.max_level + 1):
        for name in ("open", "high", "low", "close", "volume"):
            np.testing.assert_allclose(pyramid.field(name, level), rebuilt.field(name, level))
    np.testing.assert_array_equal(pyramid.times_ns, full[0])
    with pytest.raises(ValueError, match="later"):
        pyramid.append(int(full[0][-1]), 1, 1, 1, 1, 1)


def test_chart_view_draws_merged_candles_at_every_zoom(qtbot: object) -> None:
    from workstation.gui.chart.view import ChartView

    view = ChartView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(800, 500)
    view.show()
    bars = _random_bars(200_000, seed=5)
    view.set_bars(*bars)
    for width in (50, 5_000, 200_000):
        view.set_visible_range(1000, 1000 + width)
        image = view.grab().toImage()
        assert not image.isNull()
        batch = view.candles._batch
        drawn = len(batch.up_lines) + len(batch.down_lines)
        assert 0 < drawn <= 800, f"{drawn} candles drawn for {width} visible bars on 800 px"
    # The y range follows the visible bars (true extremes included).
    view.set_visible_range(5000, 6000)
    y_min, y_max = view.price_plot.getViewBox().viewRange()[1]
    assert y_min <= bars[3][5000:6001].min()
    assert y_max >= bars[2][5000:6001].max()
    view.update_last_bar(100.0, 1e6, 1.0, 100.0, 1.0)
    view.show_last(100)
    assert view.price_plot.getViewBox().viewRange()[1][1] >= 1e6


def test_indicator_panes_are_reused_across_reloads(qtbot: object) -> None:
    from workstation.gui.chart.view import ChartView, SubplotSpec

    view = ChartView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    first = _random_bars(500, seed=1)
    view.set_bars(*first)
    view.set_subplot("RSI 14", SubplotSpec({"rsi": np.linspace(0, 100, 500)}, (0, 100), (30, 70)))
    plot = view.pane("RSI 14").plot
    # A reload (another symbol): the pane stays, blank until its new values arrive — never the old ones.
    view.set_bars(*_random_bars(300, seed=2))
    assert view.subplot_names() == ["RSI 14"]
    assert np.isnan(view.pane("RSI 14").lines[0].values).all()
    assert len(view.pane("RSI 14").lines[0].values) == 300
    view.set_subplot("RSI 14", SubplotSpec({"rsi": np.full(300, 55.0)}, (0, 100), (30, 70)))
    assert view.pane("RSI 14").plot is plot  # no new PlotItem on the GUI thread
    np.testing.assert_array_equal(view.pane("RSI 14").lines[0].values, np.full(300, 55.0))
    # Different lines: the pane is rebuilt.
    view.set_subplot("RSI 14", SubplotSpec({"rsi": np.full(300, 50.0), "signal": np.full(300, 45.0)}))
    assert view.pane("RSI 14").plot is not plot
    assert [line.name for line in view.pane("RSI 14").lines] == ["rsi", "signal"]
