"""backtestPanel (Ctrl+8) on the real window: run, cancel, trade click → chart, compare, export, sweep heatmap.

The database holds three symbols of 300 synthetic daily bars (tests/gui/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workstation.ml.executors import SerialExecutor

pytestmark = pytest.mark.gui
WAIT = 30_000


@pytest.fixture
def panel(qtbot: Any, window_factory: Any, filled_url: str) -> Any:
    window = window_factory(filled_url)
    panel = window.docks["backtestPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=WAIT)  # the watchlist has loaded
    qtbot.waitUntil(lambda: panel.form.symbols.text() == "AAPL", timeout=WAIT)  # and the form follows it
    window.context.set_selected_symbols(["AAPL", "MSFT"])
    panel.form.fast.setValue(5)
    panel.form.slow.setValue(20)
    panel.form.commission.setCurrentIndex(1)  # rate of traded value
    panel.window_ = window
    return panel


def _run(qtbot: Any, panel: Any) -> Any:
    assert panel.run() is not None
    qtbot.waitUntil(lambda: panel.job is None, timeout=WAIT)
    assert panel.view is not None, panel.status.text()
    return panel.view


def test_panel_is_registered_on_ctrl_8(panel: Any) -> None:
    from workstation.gui.registry import PANEL_SLOTS

    assert PANEL_SLOTS["backtestPanel"] == 8
    assert panel.window_.docks["backtestPanel"].objectName() == "backtestPanel"
    assert panel.form.symbols.text() == "AAPL, MSFT"  # the watchlist's selection


def test_run_shows_curves_metrics_and_a_trade_click_moves_the_chart(qtbot: Any, panel: Any) -> None:
    panel.form.benchmark.setText("XOM")
    view = _run(qtbot, panel)
    assert view.run_id and view.run_id in panel.status.text()
    assert panel.plot.curve_names == ["sma_cross fast=5 slow=20", "Buy and hold", "Benchmark XOM"]
    assert float(view.buy_and_hold.iloc[0]) <= view.initial_cash  # bought at the first close, commission paid
    labels = [panel.metrics.item(r, 0).text() for r in range(panel.metrics.rowCount())]
    assert {"Total return", "Sharpe ratio", "Max drawdown", "Final value", "Buy-and-hold return"} <= set(labels)
    assert panel.trade_model.rowCount() == len(view.trades) > 0

    chart = panel.window_.docks["chartPanel"].widget()
    proxy = panel.trades.model()
    row = next(r for r in range(proxy.rowCount()) if proxy.index(r, 0).data() == "MSFT")  # not the chart's symbol
    focus = panel.trade_focus(row)
    assert focus is not None and focus.symbol == "MSFT" and len(focus.marks) in (1, 2)
    panel.trades.clicked.emit(proxy.index(row, 0))
    qtbot.waitUntil(lambda: panel.window_.context.symbol == focus.symbol, timeout=WAIT)
    qtbot.waitUntil(lambda: chart.focus_marker_count() == len(focus.marks), timeout=WAIT)
    qtbot.waitUntil(lambda: chart._loaded is not None and chart._loaded.data.symbol == focus.symbol, timeout=WAIT)
    times = chart.view.pyramid.times_ns
    low, high = chart.view.visible_range()
    import pandas as pd

    entry = int(pd.Timestamp(focus.start).as_unit("ns").value)
    entry_index = int((times < entry).sum())
    assert low <= entry_index <= high
    assert high - low < len(times)  # zoomed onto the trade, not the whole history
    # The chart followed the trade; what to backtest stays the user's selection.
    qtbot.wait(300)
    assert panel.form.symbols.text() == "AAPL, MSFT"


def test_cancel_a_sweep_leaves_nothing_running(qtbot: Any, panel: Any) -> None:
    sweep = panel.sweep
    sweep.executor = SerialExecutor()
    sweep.grid.setText("fast=2:60:1,slow=61:120:1")
    with qtbot.waitSignal(sweep.progress.valueChanged, timeout=WAIT):
        assert sweep.run() is not None
    sweep.cancel_button.click()
    qtbot.waitUntil(lambda: sweep.job is None, timeout=WAIT)
    assert sweep.status.text() == "Sweep cancelled."
    assert sweep.run_button.isEnabled() and not sweep.cancel_button.isEnabled()
    assert sweep.view is None


def test_compare_two_stored_runs_side_by_side(qtbot: Any, panel: Any) -> None:
    first = _run(qtbot, panel).run_id
    panel.form.fast.setValue(10)
    panel.form.slow.setValue(40)
    second = _run(qtbot, panel).run_id
    runs = panel.runs
    qtbot.waitUntil(lambda: {first, second} <= set(runs.run_ids()), timeout=WAIT)
    runs.select([first, second])
    assert runs.compare_selected() is not None
    qtbot.waitUntil(lambda: runs.compared is not None, timeout=WAIT)
    table = runs.compare_table
    rows = {
        table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())
    }
    assert set(rows["Run"]) == {first, second}
    assert {rows["fast"], rows["slow"]} == {("5", "10"), ("20", "40")} or {rows["fast"], rows["slow"]} == {
        ("10", "5"),
        ("40", "20"),
    }
    assert "Sharpe ratio" in rows and "Final value" in rows
    assert len(runs.compare_plot.curve_names) == 2


@pytest.mark.parametrize("fmt", ["html", "pdf", "csv", "xlsx"])
def test_export_the_run_in_every_report_format(qtbot: Any, panel: Any, tmp_path: Path, fmt: str) -> None:
    view = _run(qtbot, panel)
    assert panel.export_button.isEnabled()
    assert panel.export_run(fmt, tmp_path / f"run.{fmt}") is not None
    qtbot.waitUntil(lambda: panel.export_job is None, timeout=WAIT)
    assert panel.written, panel.status.text()
    assert all(Path(p).stat().st_size > 0 for p in panel.written)
    if fmt == "html":
        assert view.run_id in Path(panel.written[0]).read_text(encoding="utf-8")


def test_sweep_heatmap_best_point_and_export(qtbot: Any, panel: Any, tmp_path: Path) -> None:
    sweep = panel.sweep  # the default executor: the local process pool
    sweep.grid.setText("fast=5:15:5,slow=20:40:10")
    sweep.walk_forward.setText("150:75")
    assert sweep.run() is not None
    qtbot.waitUntil(lambda: sweep.job is None, timeout=120_000)
    view = sweep.view
    assert view is not None, sweep.status.text()
    assert view.tried == 9 and view.sweep_id in sweep.status.text()
    assert sweep.heatmap.values.shape == (3, 3)
    assert sweep.heatmap.names == ("fast", "slow")
    assert "Best of 9 points tried" in sweep.best.text() and "deflated Sharpe ratio" in sweep.best.text()
    assert sweep.windows.rowCount() == len(view.walk_forward["windows"]) + 1  # and the mean row
    qtbot.waitUntil(lambda: sweep.stored.findData(view.sweep_id) >= 0, timeout=WAIT)
    sweep.shown_metric.setCurrentText("total_return")
    assert sweep.ranking.horizontalHeaderItem(1).text() == "total_return"

    assert sweep.export_sweep("xlsx", tmp_path / "sweep.xlsx") is not None
    qtbot.waitUntil(lambda: sweep.export_job is None, timeout=WAIT)
    assert sweep.written and Path(sweep.written[0]).stat().st_size > 0

    sweep.heatmap.cellClicked.emit({"fast": 10, "slow": 30})  # a cell → that point as a single backtest
    qtbot.waitUntil(lambda: panel.view is not None and panel.job is None, timeout=WAIT)
    assert panel.view.parameters["fast"] == 10 and panel.view.parameters["slow"] == 30
    assert panel.view.symbols == ["AAPL", "MSFT"]
    point = next(p for p in view.points if p["params"] == {"fast": 10, "slow": 30})
    assert point["metrics"]["final_value"] == panel.view.final_value
