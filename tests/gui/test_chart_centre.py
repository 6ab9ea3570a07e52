"""Issue 16, item 3: the chart a trader reads — tags, last price, ticks, legend, parameters, panes, time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import talib
from PySide6.QtCore import QPoint, QPointF, QRect
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton
from sqlalchemy import insert

from workstation.db.engine import create_db_engine
from workstation.db.models import MarketData

pytestmark = pytest.mark.gui


def _chart(qtbot: Any, window: Any, size: tuple[int, int] = (1920, 1200)) -> Any:
    window.resize(*size)
    chart = window.docks["chartPanel"].widget()
    qtbot.waitUntil(lambda: chart.view.bar_count() > 0, timeout=15_000)
    qtbot.waitUntil(lambda: not window.context.jobs.running_jobs(), timeout=15_000)
    layout = getattr(window, "dock_layout", None)
    qtbot.waitUntil(lambda: layout is None or layout.settled(), timeout=5_000)
    qtbot.wait(100)
    return chart


def _hover(view: Any, pane: str, index: int, fraction: float = 0.5) -> QPointF:
    """Move the mouse over bar ``index`` of ``pane`` at ``fraction`` of its height (scene position)."""
    plot = view.pane(pane).plot
    box = plot.getViewBox()
    rect = plot.sceneBoundingRect()
    x = box.mapViewToScene(QPointF(index, 0)).x()
    position = QPointF(x, rect.top() + rect.height() * fraction)
    view._on_mouse_moved((position,))
    return position


def _with_hourly_bars(url: str, bars: int = 50) -> datetime:
    engine = create_db_engine(url)
    start = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
    rows = [
        {
            "symbol": "AAPL", "interval": "1h", "timestamp": start + timedelta(hours=i), "open": Decimal(100 + i),
            "high": Decimal(102 + i), "low": Decimal(99 + i), "close": Decimal(101 + i), "volume": 1000 + i,
            "source": "test",
        }
        for i in range(bars)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(MarketData), rows)
    engine.dispose()
    return start


def test_crosshair_tags_on_both_axes(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    view = _chart(qtbot, window).view
    position = _hover(view, "price", 250, 0.4)
    price = view.pane("price").plot.getViewBox().mapSceneToView(position).y()
    tag = view.pane("price").axis.tag("crosshair")
    assert tag is not None and abs(tag.value - price) < 1e-6 and tag.text == f"{price:,.2f}"
    bottom = view.pane(view.pane_names()[-1])
    date_tag = bottom.dates.tag("crosshair")
    assert date_tag is not None and date_tag.value == 250
    assert date_tag.text == bottom.dates.format_index(250) and "2023" in date_tag.text
    # In an indicator pane, the tag is on that pane's axis; leaving the chart removes the tags.
    _hover(view, "rsi", 250, 0.5)
    assert view.pane("rsi").axis.tag("crosshair") is not None
    assert view.pane("price").axis.tag("crosshair") is None
    view._on_mouse_moved((QPointF(-1e6, -1e6),))
    assert view.pane("rsi").axis.tag("crosshair") is None and bottom.dates.tag("crosshair") is None


def test_last_price_line_and_label(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    view = _chart(qtbot, window).view
    last = float(view.pyramid.field("close")[-1])
    assert view.last_line.line.isVisible() and view.last_line.line.value() == pytest.approx(last)
    tag = view.pane("price").axis.tag("last")
    assert tag is not None and tag.text == f"{last:,.2f}"


def test_readable_tick_density(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    view = _chart(qtbot, window).view
    axis = view.pane("price").axis
    height = axis.geometry().height()
    labels = axis.tickValues(*axis.range, height)[0][1]
    assert height > 300 and len(labels) >= height / 60, (height, labels)  # a label every 60 px at least
    dates = view.pane(view.pane_names()[-1]).dates
    width = dates.geometry().width()
    assert len(dates.tickValues(*dates.range, width)[0][1]) >= width / 200


def test_no_labels_collide_where_panes_meet(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    chart.set_indicator("macd", True)
    chart.set_indicator("atr", True)
    qtbot.wait(100)
    view = chart.view
    for name in view.pane_names():
        axis = view.pane(name).axis
        low, high = axis.range
        height = axis.geometry().height()
        for value in axis.tickValues(low, high, height)[0][1]:
            from_top, from_bottom = (high - value) / (high - low) * height, (value - low) / (high - low) * height
            assert min(from_top, from_bottom) >= 8, f"{name}: label {value} sits on the pane's edge"


def test_legend_shows_parameters_and_the_value_under_the_crosshair(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    view = _chart(qtbot, window).view
    close = view.pyramid.field("close")
    _hover(view, "price", 200)
    sma = talib.SMA(close, timeperiod=20)
    legend = view.pane("price").legend.text()
    assert f"SMA(20) {sma[200]:.2f}" in legend and "SMA(50)" in legend
    rsi = talib.RSI(close, timeperiod=14)
    assert f"RSI(14) {rsi[200]:.2f}" in view.pane("rsi").legend.text()
    # Without the mouse: the last bar's values.
    view._on_mouse_moved((QPointF(-1e6, -1e6),))
    assert f"SMA(20) {sma[-1]:.2f}" in view.pane("price").legend.text()


def test_indicator_parameters_are_editable_and_kept(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    # A click on the legend's name opens the indicator's parameters.
    chart.view.legendLinkActivated.emit("sma20")
    dialog = chart.indicators.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.inputs["period"].setValue(30)
    dialog.accept()
    close = chart.view.pyramid.field("close")
    expected = talib.SMA(close, timeperiod=30)
    qtbot.waitUntil(lambda: "SMA(30)" in chart.view.pane("price").legend.text(), timeout=10_000)
    drawn = chart.view._overlays["sma20:SMA(30)"].values
    np.testing.assert_allclose(drawn, expected, equal_nan=True)
    assert any(a.text() == "SMA(30)" for a in chart.picker.menu().actions())
    window.close()
    again = _chart(qtbot, window_factory(filled_url))
    assert "SMA(30)" in again.view.pane("price").legend.text()


def test_adding_macd_keeps_the_price_pane_readable_and_heights_are_adjustable(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    chart.set_indicator("macd", True)
    chart.set_indicator("atr", True)
    qtbot.wait(100)
    view = chart.view
    heights = {name: view.pane(name).plot.geometry().height() for name in view.pane_names()}
    total = sum(heights.values())
    assert heights["price"] >= 0.5 * total and heights["price"] >= 250, heights
    # Drag the border under the price pane 80 px up: the price pane shrinks, the volume pane grows.
    view.drag_border(0, -80)
    qtbot.wait(50)
    after = {name: view.pane(name).plot.geometry().height() for name in view.pane_names()}
    assert after["price"] == pytest.approx(heights["price"] - 80, abs=3)
    assert after["volume"] == pytest.approx(heights["volume"] + 80, abs=3)
    window.close()
    second = _chart(qtbot, window_factory(filled_url))
    qtbot.wait(100)
    ratio = second.view.pane("price").plot.geometry().height() / second.view.pane("volume").plot.geometry().height()
    assert ratio == pytest.approx(after["price"] / after["volume"], rel=0.05)


def test_exchange_time_by_default_with_the_zone_shown_and_selectable(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    _with_hourly_bars(filled_url)
    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    chart.interval.setCurrentText("1h")
    chart._interval_picked()
    qtbot.waitUntil(lambda: "1h · 50 bars" in chart.title.text(), timeout=10_000)
    # The readout follows the interval change at once: the newest 1h bar, not a 1d bar.
    last = datetime(2024, 3, 4, 14, 30, tzinfo=UTC) + timedelta(hours=49)  # 2024-03-06 15:30 UTC
    assert chart.readout_text().startswith("2024-03-06 10:30 EST"), chart.readout_text()
    assert "New York (E" in chart.tools.zone_button.text()
    _hover(chart.view, "price", 0)
    assert chart.readout_text().startswith("2024-03-04 09:30 EST")
    bottom = chart.view.pane(chart.view.pane_names()[-1]).dates
    assert bottom.format_index(0).endswith("09:30")
    window.context.display_time.set_name("UTC")
    assert bottom.format_index(0).endswith("14:30")
    chart._show_readout(-1)
    assert chart.readout_text().startswith(f"{last:%Y-%m-%d %H:%M} UTC")
    assert chart.tools.zone_button.text() == "UTC"


def test_daily_bars_read_as_session_dates(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    # The fixture's daily bars are stamped 21:00 UTC: in New York that is the same trading day.
    assert chart.readout_text()[:10] == chart.view.pane("price").dates.format_index(299, "%Y-%m-%d")
    assert ":" not in chart.readout_text().split("  ")[0]


def test_home_and_end_rescale_every_axis(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    chart = _chart(qtbot, window)
    view = chart.view
    view.show_last(20)
    qtbot.wait(50)
    near = view.volume_plot.getViewBox().viewRange()[1][1]
    view.show_all()
    qtbot.wait(50)
    x_min, x_max = view.visible_range()
    pixel = (x_max - x_min) / view.volume_plot.getViewBox().width()
    drawn = view.pyramid.volume_max(view.pyramid.level_for(pixel), x_min, x_max)
    top = view.volume_plot.getViewBox().viewRange()[1][1]
    assert top >= drawn, "the volume pane must show the tallest bar drawn after Home"
    assert top <= drawn * 1.2
    view.show_last(20)
    qtbot.wait(50)
    assert view.volume_plot.getViewBox().viewRange()[1][1] == pytest.approx(near)
    rsi_range = view.pane("rsi").plot.getViewBox().viewRange()[1]
    assert rsi_range == pytest.approx([0.0, 100.0])


def test_light_theme_grid_is_subtle(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    view = _chart(qtbot, window).view
    window.set_theme("light")
    for name in view.pane_names():
        grid = QColor(view.pane(name).grid._pen.color())
        assert grid.lightness() >= 230, f"{name}: grid {grid.name()} is not subtle on white"
    window.set_theme("dark")
    background = QColor(view.theme.background)
    for name in view.pane_names():
        grid = QColor(view.pane(name).grid._pen.color())
        assert abs(grid.lightness() - background.lightness()) <= 25


def test_dark_theme_dock_close_button_is_visible(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _chart(qtbot, window)
    window.set_theme("dark")
    qtbot.wait(100)
    dock = window.docks["chartPanel"]
    button = dock.findChild(QAbstractButton, "qt_dockwidget_closebutton")
    assert button is not None and button.isVisible()
    image = window.grab(QRect(button.mapTo(window, QPoint(0, 0)), button.size())).toImage()
    lightness = [QColor(image.pixel(x, y)).lightness() for x in range(image.width()) for y in range(image.height())]
    assert max(lightness) - min(lightness) >= 80, "the close icon does not stand out from the title bar"


def test_marker_clicks_are_announced(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    from workstation.gui.chart.markers import Marker

    window = window_factory(filled_url)
    view = _chart(qtbot, window).view
    view.set_markers([Marker(10, 100.0, True, "a", key="order-1"), Marker(20, 90.0, False, "b", key="order-2")])
    item = view._markers[0]
    with qtbot.waitSignal(view.markerClicked) as clicked:
        item.sigClicked.emit(item, [item.points()[1]], None)
    assert clicked.args[0].key == "order-2"
