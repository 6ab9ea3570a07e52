"""The strategies panel (Ctrl+7): a strategy started in the panel trades the paper broker on streamed bars,
every order traceable to its bar; stop keeps positions, stop with flatten closes them; quitting asks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt

from workstation.db.engine import create_db_engine
from workstation.market.bars import load_bars
from workstation.market.stream.events import StreamBar
from workstation.market.stream.writer import BarWriter
from workstation.trading.live_trace import bar_of, signals_by_correlation
from workstation.trading.store_sql import SqlOrderStore

pytestmark = pytest.mark.gui


def _panel(qtbot: Any, window: Any) -> Any:
    panel = window.docks["strategiesPanel"].widget()
    chart = window.docks["chartPanel"].widget()
    qtbot.waitUntil(lambda: chart.view.bar_count() > 0, timeout=15_000)
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)
    return panel


def _start_sma(qtbot: Any, panel: Any) -> Any:
    panel.kind.setCurrentText("sma_cross")
    panel.fast.setValue(2)
    panel.slow.setValue(3)
    panel.quantity.setText("10")
    panel.broker.setCurrentIndex(panel.broker.findData("paper"))
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    run = panel.runs[-1]
    qtbot.waitUntil(lambda: run.state == "running", timeout=20_000)
    return run


def _stop(qtbot: Any, panel: Any, run: Any, *, flatten: bool) -> None:
    panel.run_table.selectRow(panel.runs.index(run))
    panel.flatten.setChecked(flatten)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: run.state == "stopped", timeout=20_000)


def test_a_strategy_started_in_the_panel_trades_streamed_bars(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    panel = _panel(qtbot, window)
    assert window.docks["strategiesPanel"].objectName() == "strategiesPanel"
    assert "strategies" in window.context.quit_guards.names()
    window.context.set_symbol("AAPL")
    window.context.set_selected_symbols(["AAPL"])
    assert panel.symbols.text() == "AAPL"  # the watchlist's selection by default
    engine = create_db_engine(filled_url)
    writer = BarWriter(engine, source="test", max_delay=0.02).start()
    try:
        run = _start_sma(qtbot, panel)
        assert window.context.quit_guards.reasons() and "sma_cross 2/3 on AAPL" in panel.quit_reason()
        bars = load_bars(engine, "AAPL", "1d")
        last, close = bars.index[-1].to_pydatetime(), float(bars["close"].iloc[-1])
        # Two days down (SMA(2) under SMA(3)), then a jump: a cross up, a buy on that bar.
        path = [close * 0.85, close * 0.85 * 0.85, close * 0.85 * 0.85 * 1.6]
        stamps = [last + timedelta(days=k) for k in (1, 2, 3)]
        for stamp, price in zip(stamps, path, strict=True):
            writer.put(StreamBar("AAPL", stamp, price, price * 1.01, price * 0.99, price, 2_000_000, interval="1d"))
            assert writer.flush(10)
        qtbot.waitUntil(lambda: run.latest is not None and bool(run.latest.orders), timeout=20_000)
        qtbot.waitUntil(lambda: run.latest.orders[0].status == "filled", timeout=10_000)
        line = run.latest.orders[0]
        assert (line.symbol, line.side, line.quantity) == ("AAPL", "buy", 10)
        assert line.bar == stamps[2]
        # Traceable: the order's correlation id leads to the signal event of its bar.
        event = signals_by_correlation(engine, [line.correlation_id])[line.correlation_id]
        assert bar_of(event) is not None and str(bar_of(event)).startswith(stamps[2].date().isoformat())
        stored = SqlOrderStore(engine).get_order(line.order_id)
        assert stored is not None and stored.strategy == "sma_cross" and stored.correlation_id == line.correlation_id
        # The table row and the orders below it.
        assert panel.run_table.item(0, 2).text() == "running"
        qtbot.waitUntil(lambda: panel.run_table.item(0, 5).text() == "AAPL 10", timeout=10_000)  # between bars
        assert panel.order_table.rowCount() == 1
        assert panel.order_table.item(0, 7).text() == line.correlation_id
        # The chart shows the signal and the fill.
        chart = window.docks["chartPanel"].widget()
        qtbot.waitUntil(lambda: any(m.key == "sma_cross" for m in chart.view._marker_layer._markers), timeout=10_000)
        # Stop: the position stays.
        _stop(qtbot, panel, run, flatten=False)
        assert panel.quit_reason() is None
        assert run.flattened == []
        manager_position = _position(engine, "AAPL")
        assert manager_position == 10
        # Again, and stop with flatten: the position is closed by a sell.
        second = _start_sma(qtbot, panel)
        assert not window.close()  # quitting asks while a strategy runs
        assert "strategy(ies) running" in window.quit_dialog.text.text()
        window.quit_dialog.reject()
        _stop(qtbot, panel, second, flatten=True)
        assert len(second.flattened) == 1
        flat = SqlOrderStore(engine).get_order(second.flattened[0])
        assert flat is not None and (flat.side, flat.quantity, flat.status) == ("sell", 10, "filled")
        assert _position(engine, "AAPL") == 0
        assert second.latest is not None and [o.order_id for o in second.latest.orders] == second.flattened
    finally:
        writer.stop()
        engine.dispose()


def _position(engine: Any, symbol: str) -> Any:
    from workstation.trading.session import open_session

    session = open_session(engine, "paper")
    try:
        return session.manager.position_quantity(symbol)
    finally:
        session.close()


def test_the_form_refuses_what_cannot_run(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    panel = _panel(qtbot, window)
    panel.symbols.setText("")
    panel._symbols_typed = True
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert "choose the symbols" in panel.message.text()
    panel.symbols.setText("AAPL")
    panel.fast.setValue(30)
    panel.slow.setValue(10)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert "fast < slow" in panel.message.text()
    panel.kind.setCurrentText("model")
    panel.model_id.setCurrentText("")
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert "choose the model" in panel.message.text()
    assert panel.runs == []


def test_a_live_strategy_needs_the_typed_confirmation(
    window_factory: Any, filled_url: str, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workstation.gui import strategy_run
    from workstation.gui.trading_service import ALPACA_LIVE, PAPER

    window = window_factory(filled_url)
    panel = _panel(qtbot, window)
    trading = window.context.trading
    monkeypatch.setattr(trading, "choices", lambda: [PAPER, ALPACA_LIVE])
    monkeypatch.setattr(trading, "choice", lambda key: {"paper": PAPER, "alpaca-live": ALPACA_LIVE}[key])
    started: list[str] = []
    monkeypatch.setattr(strategy_run.StrategyRun, "start", lambda self: started.append(self.config.broker_key))
    panel._fill_brokers()
    panel.symbols.setText("AAPL")
    panel._symbols_typed = True
    panel.broker.setCurrentIndex(panel.broker.findData("alpaca-live"))
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    dialog = panel.live_dialog
    assert dialog is not None and dialog.isVisible() and started == []
    assert not dialog.ok.isEnabled()
    dialog.entry.setText("live")  # not the word: still refused
    assert not dialog.ok.isEnabled()
    dialog.entry.setText("LIVE")
    dialog.ok.click()
    assert started == ["alpaca-live"]
    for run in panel.runs:  # never started for real: nothing to stop
        run.state = "stopped"
