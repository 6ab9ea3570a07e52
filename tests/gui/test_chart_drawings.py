"""Issue 16, item 3: drawing tools (horizontal line, trend line, price alert) saved per symbol; live bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

pytestmark = pytest.mark.gui


def _chart(qtbot: Any, window: Any) -> Any:
    window.resize(1920, 1200)
    chart = window.docks["chartPanel"].widget()
    qtbot.waitUntil(lambda: chart.view.bar_count() > 0, timeout=15_000)
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)
    layout = getattr(window, "dock_layout", None)
    qtbot.waitUntil(lambda: layout is None or layout.settled(), timeout=5_000)
    qtbot.wait(100)
    return chart


def _point(view: Any, index: float, price: float) -> QPoint:
    """The viewport pixel of bar ``index`` at ``price`` on the price pane."""
    scene = view.price_plot.getViewBox().mapViewToScene(QPointF(index, price))
    return view.mapFromScene(scene)


def _click(qtbot: Any, view: Any, index: float, price: float) -> None:
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, _point(view, index, price)
    )
    qtbot.wait(20)


def _loaded(qtbot: Any, window: Any, chart: Any, symbol: str) -> None:
    window.context.set_symbol(symbol)
    qtbot.waitUntil(
        lambda: chart.title.text().startswith(f"{symbol} ·") and "bars" in chart.title.text(), timeout=10_000
    )


def test_horizontal_and_trend_lines_by_mouse_are_saved_per_symbol(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    from workstation.dashboard.drawings import DrawingStore

    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    view, layer = chart.view, chart.tools.layer
    low, high = view.price_plot.getViewBox().viewRange()[1]
    level = low + (high - low) * 0.3
    chart.tools.buttons["hline"].click()
    assert layer.tool == "hline"
    _click(qtbot, view, 250, level)
    assert layer.tool is None and not chart.tools.buttons["hline"].isChecked()  # one drawing per pick
    chart.tools.buttons["trend"].click()
    _click(qtbot, view, 200, low + (high - low) * 0.2)
    _click(qtbot, view, 280, low + (high - low) * 0.8)
    kinds = sorted(d.kind for d in layer.drawings())
    assert kinds == ["hline", "trend"]
    hline = next(d for d in layer.drawings() if d.kind == "hline")
    assert hline.price == pytest.approx(level, rel=0.01)
    trend = next(d for d in layer.drawings() if d.kind == "trend")
    times = view.pyramid.times_ns
    assert trend.points[0][0] == datetime.fromtimestamp(int(times[200]) / 1e9, UTC)
    assert trend.points[1][0] == datetime.fromtimestamp(int(times[280]) / 1e9, UTC)
    # Saved with the symbol (a JSON file in the user data directory), not shown on another symbol …
    assert sorted(d.kind for d in DrawingStore().load("AAPL")) == ["hline", "trend"]
    _loaded(qtbot, window, chart, "MSFT")
    assert layer.drawings() == []
    # … and back, on the same bars, after a restart too.
    _loaded(qtbot, window, chart, "AAPL")
    assert sorted(d.kind for d in layer.drawings()) == ["hline", "trend"]
    window.close()
    second = _chart(qtbot, window_factory(filled_url))
    restored = {d.kind: d for d in second.tools.layer.drawings()}
    assert restored["hline"].price == pytest.approx(level, rel=0.01)
    roi = second.tools.layer.item(restored["trend"].id)
    assert [round(h["pos"].x()) for h in roi.handles] == [200, 280]


def test_price_alert_notifies_once_when_the_live_price_crosses_it(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    from workstation.dashboard.drawings import DrawingStore

    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    view, layer = chart.view, chart.tools.layer
    last = view.last_close()
    assert last is not None
    chart.tools.buttons["alert"].click()
    _click(qtbot, view, 290, last * 1.02)
    (alert,) = layer.drawings()
    assert alert.kind == "alert" and alert.direction == "above" and alert.armed

    def alert_toasts() -> list[str]:
        return [t.message for t in window.notifications.active() if t.message.startswith("Price alert")]

    stamp = datetime.fromtimestamp(int(view.pyramid.times_ns[-1]) / 1e9, UTC)
    # A forming bar below the level: nothing.
    assert chart.update_live_bar("AAPL", "1d", stamp, last, last * 1.01, last, last * 1.01, 10)
    assert alert_toasts() == []
    # Through it: one notification, the alert drawn as fired, and saved as fired.
    chart.update_live_bar("AAPL", "1d", stamp, last, last * 1.03, last, last * 1.03, 20)
    qtbot.waitUntil(lambda: len(alert_toasts()) == 1, timeout=5_000)
    assert "AAPL rose to" in alert_toasts()[0]
    assert not layer.drawings()[0].armed and not DrawingStore().load("AAPL")[0].armed
    # Further prices above it do not repeat it.
    chart.update_live_bar("AAPL", "1d", stamp + timedelta(days=1), last, last * 1.05, last, last * 1.04, 5)
    qtbot.wait(100)
    assert len(alert_toasts()) == 1
    assert view.bar_count() == 301  # the live path appended the new bar
    assert view.pane("price").axis.tag("last").text == f"{last * 1.04:,.2f}"


def test_alerts_fire_for_symbols_not_on_the_chart(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    from workstation.dashboard.drawings import price_alert

    window = window_factory(filled_url)
    _chart(qtbot, window)
    window.context.drawings.save("XOM", [price_alert(50.0, last_price=60.0)])
    window.context.publish_price("XOM", Decimal("49.5"))
    qtbot.waitUntil(lambda: any("XOM fell to 50.00" in t.message for t in window.notifications.active()), timeout=5_000)


def test_dragging_a_pane_border_with_the_mouse(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    view = _chart(qtbot, window).view
    price, volume = view.pane("price").plot, view.pane("volume").plot
    before = price.geometry().height(), volume.geometry().height()
    border = view.mapFromScene(QPointF(10, price.sceneBoundingRect().bottom()))
    target = QPoint(border.x(), border.y() - 60)
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, border)
    QTest.mouseMove(view.viewport(), target)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    qtbot.wait(50)
    assert price.geometry().height() == pytest.approx(before[0] - 60, abs=3)
    assert volume.geometry().height() == pytest.approx(before[1] + 60, abs=3)


def test_live_bar_timestamp_must_be_aware(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    naive = pd.Timestamp(int(chart.view.pyramid.times_ns[-1])).to_pydatetime()
    with pytest.raises(ValueError, match="timezone-aware"):
        chart.update_live_bar("AAPL", "1d", naive, 1, 1, 1, 1, 1)
