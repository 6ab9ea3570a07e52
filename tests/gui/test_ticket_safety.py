"""Issue 16, item 1: a ticket that cannot send an order that cannot be valid (pytest-qt, paper broker)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from workstation.trading.preview import latest_close

pytestmark = pytest.mark.gui


def _ready(qtbot: Any, window: Any) -> Any:
    ticket = window.docks["orderTicketPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=15_000)
    qtbot.waitUntil(lambda: ticket.symbol.text() == "AAPL" and ticket._last is not None, timeout=15_000)
    qtbot.waitUntil(lambda: getattr(ticket, "_known", True) is not None, timeout=15_000)
    return ticket


def to_tick(price: Decimal) -> Decimal:
    """A US equity price at its tick: cents from $1."""
    return price.quantize(Decimal("0.01") if price >= 1 else Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _close(window: Any, symbol: str) -> Decimal:
    close = latest_close(window.context.engine, symbol)
    assert close is not None
    return close


def _blocked(qtbot: Any, ticket: Any, words: str) -> None:
    qtbot.waitUntil(lambda: words in (ticket.blocked_reason or ""), timeout=15_000)
    assert not ticket.submit_button.isEnabled()
    assert words in ticket.risk.text()  # the reason is on screen, not only in a tooltip
    assert ticket.submit() is None


def _enabled(qtbot: Any, ticket: Any) -> None:
    qtbot.waitUntil(lambda: ticket.submit_button.isEnabled(), timeout=15_000)
    assert ticket.risk.text().startswith("✓")


def test_limit_price_follows_the_symbol_never_the_previous_one(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.order_type.setCurrentText("limit")
    assert ticket.limit_price.price() == to_tick(_close(window, "AAPL"))
    ticket.limit_price.setValue(150.0)  # the user's own price for AAPL
    window.context.set_symbol("MSFT")
    # Not even for a moment does MSFT's ticket carry AAPL's price.
    assert ticket.limit_price.price() != Decimal(150)
    qtbot.waitUntil(lambda: ticket.limit_price.price() == to_tick(_close(window, "MSFT")), timeout=10_000)
    window.context.set_symbol("XOM")
    qtbot.waitUntil(lambda: ticket.limit_price.price() == to_tick(_close(window, "XOM")), timeout=10_000)


def test_a_cleared_limit_price_cannot_be_sent(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.order_type.setCurrentText("limit")
    _enabled(qtbot, ticket)
    ticket.limit_price.setValue(0)
    _blocked(qtbot, ticket, "Enter a limit price above 0")
    assert "--" not in ticket.risk.text()  # plain language, no command-line flag


def test_zero_quantity_disables_submit(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    _enabled(qtbot, ticket)
    ticket.quantity.setValue(0)
    _blocked(qtbot, ticket, "Enter a quantity above 0")


def test_beyond_buying_power_is_refused_before_the_broker(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.quantity.setValue(99_999_999)
    _blocked(qtbot, ticket, "Not enough buying power")
    assert "buying power is 100,000.00" in ticket.risk.text()
    assert "✓" not in ticket.risk.text()


def test_a_quantity_beyond_what_an_order_may_hold_is_refused(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.quantity.setValue(999_999_999)  # the quantity: beyond the 100,000,000-share bound
    _blocked(qtbot, ticket, "This order cannot be placed")
    assert "100,000,000 shares" in ticket.risk.text() and "✓" not in ticket.risk.text()


def test_unknown_symbol_is_refused(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.symbol.setText("ZZZZ")
    ticket.symbol.editingFinished.emit()
    _blocked(qtbot, ticket, "ZZZZ is not a known symbol")


def test_risk_line_follows_the_halt_without_touching_the_form(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    blotter = window.docks["blotterPanel"].widget()
    _enabled(qtbot, ticket)
    blotter.run_kill_switch(False)
    _blocked(qtbot, ticket, "Trading is halted")
    assert "workstation" not in ticket.risk.text() and "Resume trading" in ticket.risk.text()
    blotter.resume()
    _enabled(qtbot, ticket)


def test_halt_shows_in_the_status_bar_and_the_banner_with_resume(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    window.resize(1920, 1200)
    _ready(qtbot, window)
    blotter = window.docks["blotterPanel"].widget()
    status = window.halt_status
    assert not status.isVisible()
    blotter.run_kill_switch(False)
    qtbot.waitUntil(lambda: status.isVisible(), timeout=10_000)
    assert "halted" in status.label.text().lower() and status.resume_button.isVisible()
    qtbot.waitUntil(lambda: "halted" in window.broker_status.broker.text(), timeout=10_000)
    assert "ready" not in window.broker_status.broker.text()
    banner = blotter.halt_banner
    qtbot.waitUntil(lambda: banner.isVisible(), timeout=10_000)
    text = banner.text
    # The whole message fits (not cut off), names the button instead of a command, and the button is beside it.
    assert text.height() >= text.heightForWidth(text.width())
    assert "workstation kill-switch" not in text.text() and "Resume trading" in text.text()
    assert banner.resume_button.isVisible()
    assert banner.resume_button.geometry().left() >= text.geometry().right()
    status.resume_button.click()
    qtbot.waitUntil(lambda: not status.isVisible() and banner.isHidden(), timeout=10_000)
    qtbot.waitUntil(lambda: "ready" in window.broker_status.broker.text(), timeout=10_000)


def test_preview_follows_a_new_price(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    last = _close(window, "AAPL")
    # Just within buying power at the stored close …
    quantity = int(Decimal(99_000) / last)
    ticket.quantity.setValue(quantity)
    _enabled(qtbot, ticket)
    # … and beyond it once the price doubles (a live bar): the ticket re-checks by itself.
    window.context.publish_price("AAPL", last * 2)
    _blocked(qtbot, ticket, "Not enough buying power")
    # An unedited limit price follows the new last.
    ticket.order_type.setCurrentText("limit")
    window.context.publish_price("AAPL", Decimal("123.456"))
    assert ticket.limit_price.price() == Decimal("123.46")


def test_preview_follows_new_fills(window_factory: Any, filled_url: str, qtbot: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("WORKSTATION_RISK_LIMITS", '{"max_position_quantity": 5}')
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.quantity.setValue(3)
    _enabled(qtbot, ticket)  # a position of 3 is within the limit of 5
    service = window.context.trading
    # Another order (the CLI, a strategy) buys 3: the same ticket would now reach a position of 6.
    from workstation.trading.domain import OrderRequest

    service.use("paper", lambda s: s.manager.submit(OrderRequest("AAPL", "buy", Decimal(3))))
    service.fillsChanged.emit()
    _blocked(qtbot, ticket, "Position limit")


def test_selling_what_the_paper_account_does_not_hold_is_refused(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.set_side("sell")
    ticket.quantity.setValue(2)
    _blocked(qtbot, ticket, "cannot sell short: you hold 0 AAPL")


def test_prices_at_tick_precision_and_quantities_without_trailing_zeros(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    window = window_factory(filled_url)
    ticket = _ready(qtbot, window)
    ticket.order_type.setCurrentText("limit")
    ticket.limit_price.setValue(186.570723)
    ticket.limit_price.editingFinished.emit()
    assert ticket.limit_price.text() == "186.57" and ticket.limit_price.price() == Decimal("186.57")
    ticket.limit_price.setValue(0.123456)
    assert ticket.limit_price.text() == "0.1235"
    ticket.quantity.setValue(3)
    assert ticket.submit_button.text() == "Buy 3 AAPL"
    from workstation.gui.panels.ticket_support import describe
    from workstation.trading.domain import Order

    order = Order(
        order_id="x", symbol="AAPL", side="buy", quantity=Decimal("3.000000"), order_type="market", limit_price=None,
        time_in_force="day",
        status="filled", broker="paper", average_fill_price=Decimal("186.570723"),
    )  # fmt: skip
    assert describe(order) == "BUY 3 AAPL filled at 186.57 (paper)"


def test_formatting_rules() -> None:
    from workstation.gui.panels.ticket_rules import (
        format_price,
        format_quantity,
        halted_message,
        plain_reason,
    )
    from workstation.gui.panels.ticket_rules import to_tick as tick

    assert format_price(Decimal("186.570723")) == "186.57"
    assert format_price(Decimal("0.123456")) == "0.1235"
    assert format_price(Decimal("1234.5")) == "1,234.50"
    assert format_quantity(Decimal("3.000000")) == "3"
    assert format_quantity(Decimal("0.500000")) == "0.5"
    assert tick(Decimal("186.575")) == Decimal("186.58")
    reason = "new orders are halted: kill switch (run 'workstation kill-switch --resume' to trade again)"
    assert "workstation" not in plain_reason(reason)
    assert halted_message(reason).startswith("Trading is halted (kill switch)")
    assert plain_reason("limit 18.830000 is 90.00% from the last price 186.570723") == (
        "Limit 18.83 is 90.00% from the last price 186.57"
    )
