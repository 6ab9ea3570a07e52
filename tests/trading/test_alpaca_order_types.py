"""Order types, classes, replace and close through the Alpaca adapter against the local stand-in.

The stand-in answers with the shapes of ../shared/alpaca-fixtures (order bodies, the replace answer, a
closing order); legs are nested in their order as Alpaca nests them, with client ids of their own.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

from alpaca_standin import AlpacaStandIn
from alpaca_standin import wait_for as _wait
from helpers import FAST
from sqlalchemy import Engine

from workstation.trading.brokers.alpaca import AlpacaBroker
from workstation.trading.brokers.alpaca_parse import order_from_body, report_from_order
from workstation.trading.credentials import load_credentials
from workstation.trading.domain import Order, OrderRequest
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import SqlOrderStore


def _setup(engine: Engine, *, stream: bool = False) -> tuple[AlpacaBroker, OrderManager]:
    broker = AlpacaBroker(load_credentials(), timings=FAST)
    manager = OrderManager(SqlOrderStore(engine), broker, timings=FAST)
    if stream:
        broker.start_stream(on_connected=manager.reconcile, min_backoff=0.05, max_backoff=0.2)
        assert broker._stream.wait_connected(10)
    return broker, manager


def _get(manager: OrderManager, order_id: str) -> Order:
    order = manager.get(order_id)
    assert order is not None
    return order


def test_each_type_maps_to_its_request(engine: Engine, standin: AlpacaStandIn) -> None:
    broker, manager = _setup(engine)
    try:
        stop = manager.submit(OrderRequest("AAPL", "sell", D(1), "stop", stop_price=D(140)))
        stop_limit = manager.submit(
            OrderRequest(
                "AAPL", "buy", D(1), "stop_limit", limit_price=D("151.5"), stop_price=D(151), time_in_force="gtc"
            )
        )
        trailing = manager.submit(OrderRequest("AAPL", "sell", D(1), "trailing_stop", trail_percent=D(5)))
        extended = manager.submit(OrderRequest("AAPL", "buy", D(1), "limit", D(99), extended_hours=True))
        sent = standin.orders
        assert (sent[stop.order_id]["type"], D(sent[stop.order_id]["stop_price"])) == ("stop", D(140))
        body = sent[stop_limit.order_id]
        assert (body["type"], D(body["stop_price"]), D(body["limit_price"]), body["time_in_force"]) == (
            "stop_limit", D(151), D("151.5"), "gtc")  # fmt: skip
        assert (sent[trailing.order_id]["type"], D(sent[trailing.order_id]["trail_percent"])) == ("trailing_stop", D(5))
        assert sent[extended.order_id]["extended_hours"] is True
        # The broker's stop and mark of the trailing stop reach the book (100 − 5 %).
        booked = _get(manager, trailing.order_id)
        assert (booked.hwm, booked.stop_price, booked.trail_percent) == (D(100), D(95), D(5))
    finally:
        broker.close()


def test_bracket_legs_are_booked_under_their_parent_and_follow_the_stream(
    engine: Engine, standin: AlpacaStandIn
) -> None:
    broker, manager = _setup(engine, stream=True)
    try:
        entry = manager.submit(
            OrderRequest("AAPL", "buy", D(10), "limit", D(150), time_in_force="gtc", order_class="bracket",
                         take_profit=D(160), stop_loss=D(145), stop_loss_limit=D(144))
        )  # fmt: skip
        sent = standin.orders[entry.order_id]
        assert sent["order_class"] == "bracket"
        legs = {leg["type"]: leg for leg in sent["legs"]}
        assert D(legs["limit"]["limit_price"]) == D(160)
        assert (D(legs["stop_limit"]["stop_price"]), D(legs["stop_limit"]["limit_price"])) == (D(145), D(144))
        tp, sl = _get(manager, f"{entry.order_id}-tp"), _get(manager, f"{entry.order_id}-sl")
        assert (tp.broker_order_id, sl.broker_order_id) == (legs["limit"]["id"], legs["stop_limit"]["id"])
        assert tp.status == sl.status == "accepted"  # Alpaca's "held"
        standin.fill(entry.order_id, "10", "150")
        _wait(lambda: _get(manager, entry.order_id).status == "filled")
        # The take-profit fills (reported under Alpaca's own client id of the leg): the stop-loss is cancelled.
        standin.fill(legs["limit"]["client_order_id"], "10", "160")
        _wait(lambda: _get(manager, tp.order_id).status == "filled")
        _wait(lambda: _get(manager, sl.order_id).status == "cancelled")
        assert manager.position_quantity("AAPL") == 0
        # A look-up of a leg finds it by its broker id.
        report = broker.lookup(_get(manager, sl.order_id))
        assert report is not None and (report.order_id, report.status) == (sl.order_id, "cancelled")
    finally:
        broker.close()


def test_replace_creates_the_new_order_under_our_id_and_the_old_one_ends_replaced(
    engine: Engine, standin: AlpacaStandIn
) -> None:
    broker, manager = _setup(engine)
    try:
        old = manager.submit(OrderRequest("AAPL", "buy", D(5), "limit", D(140), time_in_force="gtc"))
        new = manager.replace(old.order_id, quantity=D(7), limit_price=D(141))
        assert new.order_id != old.order_id and new.replaces == old.order_id
        at_broker = standin.orders[new.order_id]
        assert (at_broker["replaces"], str(at_broker["qty"]), D(at_broker["limit_price"])) == (
            old.broker_order_id, "7", D(141))  # fmt: skip
        assert standin.orders[old.order_id]["status"] == "replaced"
        assert (new.status, new.broker_order_id) == ("accepted", at_broker["id"])
        replaced = _get(manager, old.order_id)
        assert (replaced.status, replaced.replaced_by) == ("replaced", new.order_id)
    finally:
        broker.close()


def test_close_position_adopts_the_closing_order(engine: Engine, standin: AlpacaStandIn) -> None:
    broker, manager = _setup(engine)
    try:
        bought = manager.submit(OrderRequest("AAPL", "buy", D(3)))
        standin.fill(bought.order_id, "3", "150", push=False)
        manager.reconcile()
        assert manager.position_quantity("AAPL") == 3
        closing = manager.close_position("AAPL")
        assert (closing.strategy, closing.side, closing.quantity, closing.status) == ("close", "sell", D(3), "filled")
        assert manager.position_quantity("AAPL") == 0
    finally:
        broker.close()


def test_reconcile_adopts_legs_and_a_replacement_made_at_the_broker(engine: Engine, standin: AlpacaStandIn) -> None:
    broker, manager = _setup(engine)
    try:
        # A bracket the book never recorded (placed from a lost database) under this workstation's prefix.
        standin.book({"client_order_id": "ws-lost", "symbol": "AAPL", "qty": "2", "side": "buy", "type": "limit",
                      "limit_price": "150", "time_in_force": "gtc", "order_class": "bracket",
                      "take_profit": {"limit_price": "160"}, "stop_loss": {"stop_price": "145"}})  # fmt: skip
        kept = manager.submit(OrderRequest("AAPL", "buy", D(1), "limit", D(130), time_in_force="gtc"))
        status, body = standin.replace(str(kept.broker_order_id), {"limit_price": "131"})  # from Alpaca's web page
        assert status == 200
        result = manager.reconcile()
        assert result.adopted == 4, result  # the bracket, its two legs, the replacement
        legs = SqlOrderStore(engine).legs("ws-lost")
        assert {(leg.order_type, leg.parent_order_id) for leg in legs} == {("limit", "ws-lost"), ("stop", "ws-lost")}
        replaced = _get(manager, kept.order_id)
        assert (replaced.status, replaced.replaced_by) == ("replaced", body["client_order_id"])
        replacement = _get(manager, body["client_order_id"])
        assert (replacement.replaces, replacement.limit_price, replacement.status) == (
            kept.order_id,
            D(131),
            "accepted",
        )
    finally:
        broker.close()


def test_fixture_shapes_parse(alpaca_fixtures: Path) -> None:
    replaced = json.loads((alpaca_fixtures / "order_replace.json").read_text())
    report = report_from_order(replaced)
    assert (report.order_id, report.status) == (replaced["client_order_id"], "accepted")
    closing = json.loads((alpaca_fixtures / "positions_close_all_multistatus.json").read_text())[0]["body"]
    found = order_from_body(closing)
    assert found is not None and (found.order_class, found.side, found.quantity) == ("simple", "sell", D("0.0283"))
    closed_qty = json.loads((alpaca_fixtures / "position_close_qty_order.json").read_text())
    assert order_from_body(closed_qty) is None  # a notional order: nothing to book by quantity


def test_oco_and_oto_requests_carry_their_legs_as_alpaca_expects() -> None:
    from alpaca.trading.enums import OrderClass

    from workstation.trading.brokers.alpaca_orders import order_request
    from workstation.trading.domain import utcnow
    from workstation.trading.execution.legs import legs_for, order_from_request

    def build(request: OrderRequest) -> object:
        request = request.normalised()
        order = order_from_request(request, "ws-1", "alpaca", None, utcnow())
        order.legs = tuple(legs_for(request, order))
        return order_request(order)

    oco = build(OrderRequest("AAPL", "sell", D(5), order_class="oco", take_profit=D(160), stop_loss=D(140),
                             stop_loss_limit=D(139)))  # fmt: skip
    assert (oco.order_class, oco.type.value, oco.limit_price) == (OrderClass.OCO, "limit", 160.0)  # type: ignore[attr-defined]
    assert (oco.take_profit.limit_price, oco.stop_loss.stop_price, oco.stop_loss.limit_price) == (160.0, 140.0, 139.0)  # type: ignore[attr-defined]
    oto = build(OrderRequest("AAPL", "buy", D(5), "stop", stop_price=D(151), order_class="oto", take_profit=D(170)))
    assert (oto.order_class, oto.type.value, oto.stop_price) == (OrderClass.OTO, "stop", 151.0)  # type: ignore[attr-defined]
    assert oto.take_profit.limit_price == 170.0 and oto.stop_loss is None  # type: ignore[attr-defined]
