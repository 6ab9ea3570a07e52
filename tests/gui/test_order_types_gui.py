"""Every order type from the ticket, modify from the blotter, close a position and close all (paper broker)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from workstation.gui.tables import record_at
from workstation.trading.domain import Order
from workstation.trading.repository import SqlOrderStore

pytestmark = pytest.mark.gui


def _ready(qtbot: Any, window: Any) -> tuple[Any, Any]:
    ticket = window.docks["orderTicketPanel"].widget()
    blotter = window.docks["blotterPanel"].widget()
    qtbot.waitUntil(lambda: window.context.symbol == "AAPL", timeout=15_000)
    qtbot.waitUntil(lambda: ticket.symbol.text() == "AAPL" and ticket._last is not None, timeout=15_000)
    return ticket, blotter


def _choose(combo: Any, data: str) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def _form(ticket: Any, side: str, quantity: float, kind: str = "market", order_class: str = "simple",
          tif: str = "day", **prices: float) -> None:  # fmt: skip
    ticket.set_side(side)
    ticket.quantity.setValue(quantity)
    _choose(ticket.order_class, order_class)
    _choose(ticket.order_type, kind)
    _choose(ticket.tif, tif)
    ticket.extended_hours.setChecked(False)
    for name in ("limit_price", "stop_price", "take_profit", "stop_loss"):
        getattr(ticket, name).setValue(prices.get(name, 0.0))
    ticket.trail.setValue(prices.get("trail", 0.0))
    _choose(ticket.trail_unit, "percent" if "trail" in prices else "price")


def _place(qtbot: Any, ticket: Any, store: SqlOrderStore) -> Order:
    before = {o.order_id for o in store.orders()}
    try:
        qtbot.waitUntil(lambda: ticket.submit_button.isEnabled(), timeout=15_000)
    except Exception:
        raise AssertionError(f"not enabled: {ticket.blocked_reason}") from None
    handle = ticket.submit()
    assert handle is not None
    qtbot.waitUntil(lambda: handle.state != "running", timeout=20_000)
    assert handle.state == "succeeded", handle.error
    placed = [o for o in store.orders() if o.order_id not in before and o.parent_order_id is None]
    assert len(placed) == 1, placed
    return placed[0]


def test_every_order_type_and_class_from_the_ticket(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    store = SqlOrderStore(window.context.engine)
    last = float(ticket._last[0])
    up, down = round(last * 1.1, 2), round(last * 0.9, 2)

    _form(ticket, "buy", 20)
    assert _place(qtbot, ticket, store).status == "filled"

    _form(ticket, "sell", 10, order_class="oco", take_profit=up, stop_loss=down)
    assert not ticket.stop_price.isVisible() and ticket.take_profit.isVisible()
    oco = _place(qtbot, ticket, store)
    assert (oco.order_class, oco.order_type, oco.limit_price, oco.status) == (
        "oco",
        "limit",
        Decimal(str(up)),
        "accepted",
    )
    assert [(leg.order_type, leg.stop_price) for leg in store.legs(oco.order_id)] == [("stop", Decimal(str(down)))]

    _form(
        ticket,
        "buy",
        5,
        "limit",
        "bracket",
        tif="gtc",
        limit_price=down,
        take_profit=up,
        stop_loss=round(down * 0.95, 2),
    )
    bracket = _place(qtbot, ticket, store)
    legs = store.legs(bracket.order_id)
    assert (bracket.order_class, bracket.time_in_force, len(legs)) == ("bracket", "gtc", 2)
    assert {leg.status for leg in legs} == {"accepted"}

    _form(ticket, "buy", 1, "stop", stop_price=up)
    stop = _place(qtbot, ticket, store)
    assert (stop.order_type, stop.stop_price, stop.status) == ("stop", Decimal(str(up)), "accepted")

    _form(ticket, "buy", 1, "stop_limit", stop_price=up, limit_price=round(up + 1, 2))
    stop_limit = _place(qtbot, ticket, store)
    assert (stop_limit.order_type, stop_limit.limit_price) == ("stop_limit", Decimal(str(round(up + 1, 2))))

    _form(ticket, "sell", 5, "trailing_stop", trail=5)
    trailing = _place(qtbot, ticket, store)
    assert (trailing.trail_percent, trailing.hwm) == (Decimal(5), ticket._last[0])

    _form(ticket, "buy", 1, "limit", "oto", limit_price=down, stop_loss=round(down * 0.95, 2))
    oto = _place(qtbot, ticket, store)
    assert [leg.leg_role for leg in store.legs(oto.order_id)] == ["stop_loss"]

    _form(ticket, "buy", 1, "limit", tif="gtc", limit_price=down)
    ticket.extended_hours.setChecked(True)
    extended = _place(qtbot, ticket, store)
    assert extended.extended_hours

    for tif in ("opg", "cls", "ioc", "fok"):
        _form(ticket, "buy", 1, "limit", tif=tif, limit_price=down)
        assert _place(qtbot, ticket, store).time_in_force == tif

    # The blotter shows the legs right under their order.
    qtbot.waitUntil(
        lambda: any(o.parent_order_id == bracket.order_id for o in blotter.orders_model.records()), timeout=10_000
    )
    rows = [record_at(blotter.orders, row).order_id for row in range(blotter.orders.model().rowCount())]
    at = rows.index(bracket.order_id)
    assert set(rows[at + 1 : at + 3]) == {leg.order_id for leg in legs}
    _settle(qtbot, ticket)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"kind": "trailing_stop"}, "Enter a trail above 0"),
        ({"kind": "stop"}, "Enter a stop price above 0"),
        (
            {"order_class": "bracket", "take_profit": 1.0, "stop_loss": 0.5},
            "take-profit 1.00 must be above the last price",
        ),
        ({"order_class": "bracket", "take_profit": 1.0}, "Enter a take-profit and a stop-loss price for the bracket"),
        ({"kind": "stop", "stop_price": 1.0, "tif": "opg"}, "market or limit orders only"),
    ],
)
def test_an_invalid_ticket_says_why_and_cannot_be_sent(
    window_factory: Any, filled_url: str, qtbot: Any, setup: dict[str, Any], reason: str
) -> None:
    window = window_factory(filled_url)
    ticket, _ = _ready(qtbot, window)
    prices = {k: v for k, v in setup.items() if k not in ("kind", "order_class", "tif")}
    _form(ticket, "buy", 1, setup.get("kind", "market"), setup.get("order_class", "simple"), setup.get("tif", "day"),
          **prices)  # fmt: skip
    qtbot.waitUntil(lambda: reason.lower() in (ticket.blocked_reason or "").lower(), timeout=15_000)
    assert not ticket.submit_button.isEnabled()
    assert ticket.submit() is None
    _settle(qtbot, ticket)


def _select(view: Any, wanted: Any) -> None:
    for row in range(view.model().rowCount()):
        if wanted(record_at(view, row)):
            view.selectRow(row)
            return
    raise AssertionError("row not found")


def test_modify_from_the_blotter_and_close_positions(window_factory: Any, filled_url: str, qtbot: Any) -> None:
    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    store = SqlOrderStore(window.context.engine)
    last = float(ticket._last[0])
    _form(ticket, "buy", 4, "limit", tif="gtc", limit_price=round(last * 0.9, 2))
    resting = _place(qtbot, ticket, store)
    _form(ticket, "buy", 10)
    _place(qtbot, ticket, store)
    window.context.symbolChanged.emit("MSFT")
    qtbot.waitUntil(lambda: ticket.symbol.text() == "MSFT" and ticket._last is not None, timeout=15_000)
    _form(ticket, "buy", 3)
    _place(qtbot, ticket, store)

    # Modify: the resting limit gets a new quantity and price; the broker replaces it by a new order.
    qtbot.waitUntil(lambda: any(o.order_id == resting.order_id for o in blotter.orders_model.records()), timeout=10_000)
    _select(blotter.orders, lambda o: o.order_id == resting.order_id)
    dialog = blotter.modify_selected()
    assert dialog is not None and dialog.limit_price.isVisibleTo(dialog) and not dialog.stop_price.isVisibleTo(dialog)
    dialog.quantity.setValue(6)
    dialog.limit_price.setValue(round(last * 0.92, 2))
    dialog.ok.click()
    qtbot.waitUntil(lambda: (store.get_order(resting.order_id) or resting).status == "replaced", timeout=15_000)
    old = store.get_order(resting.order_id)
    assert old is not None and old.replaced_by is not None
    new = store.get_order(old.replaced_by)
    assert new is not None and (new.quantity, new.limit_price, new.status) == (
        Decimal(6), Decimal(str(round(last * 0.92, 2))), "accepted")  # fmt: skip

    # Close one position (AAPL): its resting order goes first, then it is sold at market.
    qtbot.waitUntil(lambda: len([p for p in blotter.positions_model.records() if p.quantity]) == 2, timeout=10_000)
    _select(blotter.positions, lambda p: p.symbol == "AAPL")
    confirm = blotter.close_selected()
    assert confirm is not None and "Sell 10 AAPL" in confirm.text.text()
    confirm.confirm.click()
    book = lambda: store.position_book("paper")  # noqa: E731
    qtbot.waitUntil(lambda: book().quantity("AAPL") == 0, timeout=15_000)
    assert (store.get_order(new.order_id) or new).status == "cancelled"
    assert book().quantity("MSFT") == 3

    # Close all, after confirmation.
    qtbot.waitUntil(lambda: len([p for p in blotter.positions_model.records() if p.quantity]) == 1, timeout=10_000)
    confirm = blotter.close_all()
    assert confirm is not None
    confirm.confirm.click()
    qtbot.waitUntil(lambda: not book().open_positions(), timeout=15_000)
    _settle(qtbot, ticket)


def _settle(qtbot: Any, ticket: Any) -> None:
    """Let the last preview come back before the window closes."""
    qtbot.waitUntil(lambda: not ticket.check._timer.isActive(), timeout=5_000)
    qtbot.wait(500)


def test_a_resting_stop_placed_in_the_window_works_on_announced_live_bars(
    window_factory: Any, filled_url: str, qtbot: Any
) -> None:
    import pandas as pd

    from workstation.market.notify import announce

    window = window_factory(filled_url)
    ticket, blotter = _ready(qtbot, window)
    store = SqlOrderStore(window.context.engine)
    last = float(ticket._last[0])
    stop_price = round(last + 2, 2)
    _form(ticket, "buy", 3, "stop", tif="gtc", stop_price=stop_price)
    stop = _place(qtbot, ticket, store)
    assert stop.status == "accepted"
    qtbot.waitUntil(lambda: blotter._relay._subscriber is not None, timeout=10_000)  # relaying from now on
    minute = pd.Timestamp.now(tz="UTC").floor("min")
    bars = pd.DataFrame(
        {"symbol": ["AAPL"], "interval": ["1m"], "source": ["test"], "timestamp": [minute], "open": [last + 1],
         "high": [last + 3], "low": [last + 0.5], "close": [last + 2.5], "volume": [1000], "revised": [False]}
    )  # fmt: skip
    with window.context.engine.begin() as conn:
        announce(conn, bars)
    qtbot.waitUntil(lambda: (store.get_order(stop.order_id) or stop).status == "filled", timeout=15_000)
    filled = store.get_order(stop.order_id)
    assert filled is not None and filled.average_fill_price == Decimal(str(stop_price))  # traded through the stop
    _settle(qtbot, ticket)
