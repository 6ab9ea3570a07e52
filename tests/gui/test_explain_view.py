"""The Explain view from the blotter and from a fill's chart marker, on the real window and paper broker."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from workstation.gui.panels.explain import ExplainDialog

pytestmark = pytest.mark.gui


def _order_from_the_ticket(qtbot: Any, window: Any) -> tuple[Any, Any]:
    """A market buy clicked in the ticket (the click is the recorded user action), filled on the paper broker."""
    ticket = window.docks["orderTicketPanel"].widget()
    blotter = window.docks["blotterPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=15_000)
    qtbot.waitUntil(lambda: ticket.symbol.text() == "AAPL" and ticket._last is not None, timeout=15_000)
    ticket.set_side("buy")
    ticket.quantity.setValue(7)
    ticket.order_type.setCurrentText("market")
    qtbot.waitUntil(lambda: ticket.submit_button.isEnabled(), timeout=15_000)
    qtbot.mouseClick(ticket.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(o.status == "filled" for o in blotter.orders_model.records()), timeout=20_000)
    qtbot.waitUntil(lambda: blotter.fills_model.rowCount() == 1, timeout=10_000)
    assert window.context.monitoring is not None
    window.context.monitoring.flush(10)  # the click's user_action_logs row is written
    return ticket, blotter


def _explained(qtbot: Any, window: Any) -> ExplainDialog:
    qtbot.waitUntil(lambda: window.findChild(ExplainDialog, "explainDialog") is not None, timeout=5_000)
    dialog = window.findChild(ExplainDialog, "explainDialog")
    qtbot.waitUntil(lambda: dialog.explanation is not None, timeout=15_000)
    return dialog  # type: ignore[no-any-return]


def test_blotter_explains_a_ticket_order_with_the_click_as_origin(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    _ticket, blotter = _order_from_the_ticket(qtbot, window)
    order = blotter.orders_model.record(0)
    blotter.tabs.setCurrentWidget(blotter.orders)
    blotter.orders.selectRow(0)
    assert blotter.explain_action in blotter.orders.actions()  # on the right-click menu
    blotter.orders.setFocus()
    blotter.explain_action.trigger()
    dialog = _explained(qtbot, window)
    e = dialog.explanation
    assert e is not None and e.order["order_id"] == order.order_id
    assert e.origin is not None and e.origin["kind"] == "click" and e.origin["action"] == "ticket/submit"
    assert e.order["correlation_id"] == e.origin["correlation_id"]
    assert "click 'ticket/submit' in the window" in dialog.section_text("Origin")
    assert "order_placed → pending" in dialog.section_text("Order")
    assert dialog.section_text("Risk").startswith("Risk: passed")
    assert dialog.section_text("Signal").startswith("Signal: none")
    # The chart jumps to the trade: a manual order has no driving bar, so its fill's bar (the newest).
    chart = window.docks["chartPanel"].widget()
    qtbot.waitUntil(lambda: chart.focused_bars is not None, timeout=10_000)
    newest = chart.view.bar_count() - 1
    assert chart.focused_bars == (newest, newest)
    low, high = chart.view.visible_range()
    assert low < newest < high
    # The Fills tab explains the fill: the same order.
    blotter.tabs.setCurrentWidget(blotter.fills)
    blotter.fills.selectRow(0)
    blotter.explain_button.click()
    fill_id = blotter.fills_model.record(0).fill_id
    qtbot.waitUntil(lambda: dialog.trade_id == fill_id and dialog.explanation is not None, timeout=10_000)
    qtbot.waitUntil(lambda: dialog.explanation.fills[0]["fill_id"] == fill_id, timeout=10_000)
    assert dialog.explanation.order["order_id"] == order.order_id


def test_a_fill_marker_click_opens_the_explanation(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    _ticket, blotter = _order_from_the_ticket(qtbot, window)
    fill_id = blotter.fills_model.record(0).fill_id
    chart = window.docks["chartPanel"].widget()
    chart.reload()
    layer = chart.view._marker_layer
    qtbot.waitUntil(lambda: any(m.kind == "fill" for m in layer._markers), timeout=10_000)
    position = next(i for i, m in enumerate(layer._markers) if m.kind == "fill")
    assert layer._markers[position].key == fill_id
    scatter = chart.view._markers[0]
    point = scatter.points()[position]
    scatter.sigClicked.emit(scatter, [point], None)  # what pyqtgraph emits for a click on the spot
    dialog = _explained(qtbot, window)
    assert dialog.trade_id == fill_id
    assert dialog.explanation is not None and dialog.explanation.fills[0]["fill_id"] == fill_id
    assert dialog.explanation.origin is not None and dialog.explanation.origin["kind"] == "click"
    # A click on a prediction marker explains nothing (no trade): only fills carry a key of kind "fill".
    assert all(m.kind == "prediction" for i, m in enumerate(layer._markers) if i != position)
