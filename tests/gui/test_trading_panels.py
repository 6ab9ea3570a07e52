"""Order ticket, blotter, kill switch and broker status on the real paper broker (pytest-qt, offscreen)."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog
from sqlalchemy import select

from workstation.db.logs import TradingEvent
from workstation.trading.repository import SqlOrderStore

pytestmark = pytest.mark.gui


def _ready(qtbot: Any, window: Any) -> tuple[Any, Any]:
    """The ticket and the blotter once the window has loaded its symbols (AAPL selected first)."""
    ticket = window.docks["orderTicketPanel"].widget()
    blotter = window.docks["blotterPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=15_000)
    qtbot.waitUntil(lambda: ticket.symbol.text() == "AAPL" and ticket._last is not None, timeout=15_000)
    return ticket, blotter


def _fill_ticket(ticket: Any, *, side: str = "buy", quantity: float = 10, limit: float | None = None) -> None:
    ticket.set_side(side)
    ticket.quantity.setValue(quantity)
    ticket.order_type.setCurrentText("limit" if limit is not None else "market")
    if limit is not None:
        ticket.limit_price.setValue(limit)


def _wait_ready(qtbot: Any, ticket: Any) -> None:
    """The ticket enables submit once the preview of exactly this form is back and passes."""
    qtbot.waitUntil(lambda: ticket.submit_button.isEnabled(), timeout=15_000)


def _submit(qtbot: Any, window: Any, ticket: Any) -> None:
    _wait_ready(qtbot, ticket)
    handle = ticket.submit()
    assert handle is not None
    qtbot.waitUntil(lambda: handle.state != "running", timeout=20_000)
    assert handle.state == "succeeded", handle.error


def _orders(blotter: Any) -> list[Any]:
    return blotter.orders_model.records()


def _last_close(engine: Any, symbol: str) -> Decimal:
    from workstation.trading.preview import latest_close

    close = latest_close(engine, symbol)
    assert close is not None
    return close


def test_paper_order_from_the_ticket_reaches_blotter_fills_positions_and_events(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    engine = window.context.engine
    last = _last_close(engine, "AAPL")
    _fill_ticket(ticket, quantity=10)
    # The estimate and the live risk preview are there before anything is sent.
    assert f"{last * 10:,.2f}" in ticket.notional.text()
    qtbot.waitUntil(lambda: ticket.risk.text().startswith("✓"), timeout=15_000)
    assert "position 0 → 10" in ticket.risk.text()
    assert ticket.submit_button.text() == "Buy 10 AAPL"
    _submit(qtbot, window, ticket)
    assert "filled" in ticket.status.text()
    qtbot.waitUntil(lambda: any(o.status == "filled" for o in _orders(blotter)), timeout=10_000)
    order = _orders(blotter)[0]
    assert (order.symbol, order.side, order.quantity, order.broker) == ("AAPL", "buy", Decimal(10), "paper")
    shown = [blotter.orders_model.index(0, c).data() for c in range(4)]
    assert shown[1:] == ["AAPL", "BUY", "10"]
    events = {e.event_type for e in SqlOrderStore(engine).events(order_id=order.order_id)}
    assert {"order_placed", "order_filled"} <= events
    with engine.connect() as conn:
        correlation = conn.execute(
            select(TradingEvent.correlation_id).where(
                TradingEvent.order_id == order.order_id, TradingEvent.event_type == "order_placed"
            )
        ).scalar()
    assert correlation and correlation.startswith("order-")
    # Fills and positions follow.
    qtbot.waitUntil(lambda: blotter.fills_model.rowCount() == 1, timeout=10_000)
    fill = blotter.fills_model.record(0)
    assert (fill.quantity, fill.price) == (Decimal(10), last)
    qtbot.waitUntil(lambda: blotter.positions_model.rowCount() == 1, timeout=10_000)
    position = blotter.positions_model.record(0)
    assert (position.symbol, position.quantity, position.average_price, position.last_price) == (
        "AAPL",
        Decimal(10),
        last,
        last,
    )
    assert position.unrealised_pnl == 0 and position.realised_pnl == 0
    # Selling half realises nothing at the same price but halves the position; the table keeps its row.
    _fill_ticket(ticket, side="sell", quantity=4)
    _submit(qtbot, window, ticket)
    qtbot.waitUntil(lambda: blotter.positions_model.record(0).quantity == 6, timeout=10_000)
    assert blotter.positions_model.rowCount() == 1
    # The status bar shows the paper account.
    status = window.broker_status
    qtbot.waitUntil(lambda: "Equity" in status.account.text(), timeout=10_000)
    assert status.broker.text().startswith("Paper (simulated) · ready")
    assert status.pnl.text().startswith("Day P&L")


def test_cancel_from_the_blotter_cancels_a_resting_limit_order(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    low = float(_last_close(window.context.engine, "AAPL")) * 0.5
    _fill_ticket(ticket, quantity=5, limit=round(low, 2))
    _submit(qtbot, window, ticket)
    qtbot.waitUntil(lambda: [o.status for o in _orders(blotter)] == ["accepted"], timeout=10_000)
    blotter.orders.selectRow(0)
    blotter.orders.setFocus()
    window.activateWindow()
    QTest.keyClick(blotter.orders, Qt.Key.Key_Delete)  # the "Cancel selected orders" shortcut
    qtbot.waitUntil(lambda: [o.status for o in _orders(blotter)] == ["cancelled"], timeout=10_000)
    order = _orders(blotter)[0]
    assert "order_cancelled" in {
        e.event_type for e in SqlOrderStore(window.context.engine).events(order_id=order.order_id)
    }
    # The selection survived the refreshes (rows are merged, not reset).
    assert blotter.orders.selectionModel().isRowSelected(0)


def test_kill_switch_shortcut_confirms_cancels_flattens_and_halts(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    _fill_ticket(ticket, quantity=10)
    _submit(qtbot, window, ticket)
    low = round(float(_last_close(window.context.engine, "AAPL")) * 0.5, 2)
    for quantity in (3, 4):
        _fill_ticket(ticket, quantity=quantity, limit=low)
        _submit(qtbot, window, ticket)

    def statuses() -> list[str]:
        return sorted(o.status for o in _orders(blotter))

    qtbot.waitUntil(lambda: statuses() == ["accepted", "accepted", "filled"], timeout=10_000)
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: blotter.kill_dialog is not None and blotter.kill_dialog.isVisible(), timeout=5_000)
    assert "2 open order(s)" in blotter.kill_dialog.findChild(type(blotter.status)).text()
    blotter.kill_dialog.reject()  # nothing happens without the confirmation
    QTest.qWait(300)
    assert statuses() == ["accepted", "accepted", "filled"]
    dialog = blotter.open_kill_switch()
    dialog.flatten.setChecked(True)
    dialog.accept()
    qtbot.waitUntil(lambda: statuses() == ["cancelled", "cancelled", "filled", "filled"], timeout=10_000)
    flatten = [o for o in _orders(blotter) if o.strategy == "kill_switch"]
    assert [(o.side, o.quantity) for o in flatten] == [("sell", Decimal(10))]
    qtbot.waitUntil(lambda: blotter.positions_model.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: blotter.positions_model.record(0).quantity == 0, timeout=10_000)
    qtbot.waitUntil(lambda: blotter.halt_banner.isVisible(), timeout=10_000)
    assert "TRADING HALTED" in blotter.halt_banner.text.text()
    assert blotter.resume_button.isVisible()
    assert SqlOrderStore(window.context.engine).events(event_type="kill_switch")
    # While halted, a new order cannot be sent and the ticket says why; after resuming it goes through.
    _fill_ticket(ticket, quantity=1)
    qtbot.waitUntil(lambda: "halted" in ticket.risk.text(), timeout=10_000)
    assert not ticket.submit_button.isEnabled()
    assert ticket.submit() is None and "halted" in ticket.status.text()
    blotter.resume()
    qtbot.waitUntil(lambda: blotter.halt_banner.isHidden(), timeout=10_000)
    _submit(qtbot, window, ticket)
    assert "filled" in ticket.status.text()


def test_risk_rejection_shows_the_rule_and_reason(
    window_factory: Any, filled_url: str, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSTATION_RISK_LIMITS", '{"max_order_quantity": 100}')
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    _fill_ticket(ticket, quantity=500)
    qtbot.waitUntil(lambda: ticket.risk.text().startswith("✗ Order size limit"), timeout=15_000)
    assert "exceeds the limit 100" in ticket.risk.text()
    # The ticket refuses to send it; the core's own check refuses it too if it is asked anyway.
    assert not ticket.submit_button.isEnabled() and ticket.submit() is None
    ticket.sending.send(ticket.choice(), ticket.request())
    qtbot.waitUntil(lambda: "Order size limit" in ticket.status.text(), timeout=15_000)
    assert "exceeds the limit 100" in ticket.status.text()
    qtbot.waitUntil(lambda: any("exceeds the limit 100" in t.message for t in window.notifications.active()))
    rejected = SqlOrderStore(window.context.engine).events(event_type="risk_rejected")
    assert [e.metadata["rule"] for e in rejected if e.metadata] == ["max_order_quantity"]
    blotter.poll(force=True)
    QTest.qWait(300)
    assert blotter.orders_model.rowCount() == 0  # nothing was placed
    # The preview counts no order towards the rate limit and places nothing.
    assert SqlOrderStore(window.context.engine).orders() == []


def test_export_csv_from_the_orders_context_menu(
    window_factory: Any, filled_url: str, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    _fill_ticket(ticket, quantity=7)
    _submit(qtbot, window, ticket)
    qtbot.waitUntil(lambda: blotter.orders_model.rowCount() == 1, timeout=10_000)
    target = tmp_path / "orders.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    for view in (blotter.orders, blotter.fills, blotter.positions):
        assert view.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
        assert [a.text() for a in view.actions()][-1] == "Export CSV…"
    # Orders and fills can also be explained from the menu; positions cannot (there is no single trade).
    assert [a.text() for a in blotter.positions.actions()] == ["Export CSV…"]
    assert blotter.explain_action in blotter.orders.actions() and blotter.explain_action in blotter.fills.actions()
    next(a for a in blotter.orders.actions() if a.text() == "Export CSV…").trigger()
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    assert (rows[0]["Symbol"], rows[0]["Side"], rows[0]["Qty"], rows[0]["Status"]) == ("AAPL", "buy", "7", "filled")


def test_buy_and_sell_ticket_shortcuts(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket, _blotter = _ready(qtbot, window)
    # The symbol box completes from stock_info.
    qtbot.waitUntil(lambda: ticket.symbol.completer().model().rowCount() == 3, timeout=10_000)
    completer = ticket.symbol.completer()
    completer.setCompletionPrefix("ms")
    assert completer.currentCompletion() == "MSFT"
    window.context.set_symbol("MSFT")
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_F9, Qt.KeyboardModifier.ShiftModifier)
    assert ticket.side() == "sell" and ticket.symbol.text() == "MSFT"
    assert ticket.quantity.hasFocus()
    QTest.keyClick(window, Qt.Key.Key_F9)
    assert ticket.side() == "buy"
    assert window.shortcuts.get("trading.kill_switch").sequences() == ["Ctrl+Shift+X"]
    # Ctrl+Return inside the ticket submits it.
    ticket.quantity.setValue(2)
    _wait_ready(qtbot, ticket)
    QTest.keyClick(ticket.quantity, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "filled" in ticket.status.text(), timeout=15_000)
    assert "BUY 2 MSFT" in ticket.status.text()


def test_live_orders_need_live_typed(
    window_factory: Any, filled_url: str, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys marked for live trading offer the live broker; its orders wait for the typed confirmation."""
    from workstation.trading.brokers.paper import PaperBroker
    from workstation.trading.paper_account import latest_bar_lookup
    from workstation.trading.positions import Position
    from workstation.trading.session import open_session

    monkeypatch.setenv("APCA_API_KEY_ID", "key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "secret")
    monkeypatch.setenv("APCA_API_BASE_URL", "https://api.alpaca.markets")
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    service = window.context.trading
    qtbot.waitUntil(lambda: ticket.broker.count() == 2, timeout=10_000)
    assert ticket.broker.itemData(1) == "alpaca-live"

    class StandInLiveBroker(PaperBroker):  # Alpaca is unreachable here: a simulated account named like it
        name = "alpaca"

        def positions(self) -> list[Position]:  # plus a holding the workstation never traded
            return [*super().positions(), Position("XOM", Decimal(7), Decimal(50), last_price=Decimal(55))]

    opened: list[str] = []

    def factory(engine: Any, choice: Any) -> Any:
        opened.append(choice.key)
        broker = StandInLiveBroker(Decimal(50_000), price_lookup=latest_bar_lookup(engine))
        return open_session(engine, "alpaca", broker=broker)

    service.session_factory = factory
    ticket.broker.setCurrentIndex(1)
    assert "LIVE" in ticket.submit_button.text()
    _fill_ticket(ticket, quantity=1)
    _wait_ready(qtbot, ticket)
    assert ticket.submit() is None
    dialog = ticket.live_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.entry.setText("live")
    assert not dialog.ok.isEnabled()
    dialog.accept()
    assert dialog.isVisible()  # still waiting for the exact word
    dialog.entry.setText("LIVE")
    dialog.ok.click()
    qtbot.waitUntil(lambda: "filled" in ticket.status.text(), timeout=15_000)
    assert "alpaca-live" in opened
    orders = SqlOrderStore(window.context.engine).orders(broker="alpaca")
    assert [(o.symbol, o.status) for o in orders] == [("AAPL", "filled")]

    # The blotter shows the remote broker's own positions, marked at its prices.
    def alpaca_positions() -> dict[str, tuple[Decimal, Decimal | None]]:
        rows = [blotter.positions_model.record(r) for r in range(blotter.positions_model.rowCount())]
        return {p.symbol: (p.quantity, p.unrealised_pnl) for p in rows if p.broker == "alpaca"}

    qtbot.waitUntil(lambda: "XOM" in alpaca_positions(), timeout=10_000)
    assert alpaca_positions() == {"AAPL": (Decimal(1), Decimal(0)), "XOM": (Decimal(7), Decimal(35))}


def test_clicking_submit_is_a_user_action_whose_id_the_order_carries(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    from workstation.db.logs import UserActionLog

    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    context = window.context
    qtbot.waitUntil(lambda: context.monitoring is not None, timeout=15_000)
    _fill_ticket(ticket, quantity=3)
    _wait_ready(qtbot, ticket)
    qtbot.mouseClick(ticket.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(o.status == "filled" for o in _orders(blotter)), timeout=20_000)
    order = _orders(blotter)[0]
    assert context.monitoring.flush(10)
    with context.engine.connect() as conn:
        action = conn.execute(select(UserActionLog).where(UserActionLog.request_path == "ticket/submit")).one()
        placed = conn.execute(
            select(TradingEvent.correlation_id).where(
                TradingEvent.order_id == order.order_id, TradingEvent.event_type == "order_placed"
            )
        ).scalar_one()
    assert action.session_id == context.session_id
    assert action.correlation_id.startswith("gui-")
    assert placed == action.correlation_id
