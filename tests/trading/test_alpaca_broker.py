"""The Alpaca adapter end to end against the local stand-in (REST + trade_updates websocket)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca_standin import AlpacaStandIn
from alpaca_standin import wait_for as _wait
from helpers import FAST
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from workstation.db.trading import Fill as FillRow
from workstation.errors import ConfigurationError
from workstation.trading.brokers.alpaca import AlpacaBroker
from workstation.trading.credentials import load_credentials
from workstation.trading.domain import BrokerAuthError, OrderRequest
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import SqlOrderStore


def _broker() -> AlpacaBroker:
    return AlpacaBroker(load_credentials(), timings=FAST)


def _manager(engine: Engine, broker: AlpacaBroker) -> OrderManager:
    return OrderManager(SqlOrderStore(engine), broker, timings=FAST)


def _fill_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(FillRow)) or 0)


def test_credentials_fall_back_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "APCA_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="set APCA_API_KEY_ID and APCA_API_SECRET_KEY"):
        load_credentials()
    monkeypatch.setenv("APCA_API_KEY_ID", "k")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "s")
    monkeypatch.setenv("APCA_API_BASE_URL", "ftp://nowhere")
    with pytest.raises(ConfigurationError, match="must be an http"):
        load_credentials()


def test_submit_partial_fill_then_fill_via_trade_updates(engine: Engine, standin: AlpacaStandIn) -> None:
    broker = _broker()
    manager = _manager(engine, broker)
    broker.start_stream(on_connected=manager.reconcile, min_backoff=0.05, max_backoff=0.2)
    assert broker._stream.wait_connected(10)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(10), "limit", Decimal("150"), time_in_force="gtc"))
    assert order.status == "accepted"
    assert order.broker_order_id
    standin.fill(order.order_id, "4", "149.5")
    _wait(lambda: manager.get(order.order_id).status == "partially_filled")  # type: ignore[union-attr]
    standin.fill(order.order_id, "6", "149.9")
    _wait(lambda: manager.get(order.order_id).status == "filled")  # type: ignore[union-attr]
    final = manager.get(order.order_id)
    assert final is not None
    assert final.filled_quantity == Decimal(10)
    assert final.average_fill_price == Decimal("149.740000")
    assert _fill_count(engine) == 2
    assert manager.book.quantity("AAPL") == Decimal(10)
    assert broker.account().buying_power == Decimal("262113.632")
    broker.close()


def test_cancel(engine: Engine, standin: AlpacaStandIn) -> None:
    broker = _broker()
    manager = _manager(engine, broker)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(1), "limit", Decimal("100")))
    manager.cancel(order.order_id)
    assert manager.get(order.order_id).status == "cancelled"  # type: ignore[union-attr]
    assert standin.orders[order.order_id]["status"] == "canceled"
    broker.close()


def test_broker_rejection_is_final_with_its_reason(engine: Engine, standin: AlpacaStandIn) -> None:
    standin.faults.append("422")
    broker = _broker()
    order = _manager(engine, broker).submit(OrderRequest("AAPL", "buy", Decimal(1)))
    assert order.status == "rejected"
    assert "qty or notional is required" in (order.status_reason or "")
    assert standin.orders == {}
    broker.close()


@pytest.mark.parametrize("fault", ["401", "403"])
def test_401_403_reject_the_order_at_once_with_the_reason(engine: Engine, standin: AlpacaStandIn, fault: str) -> None:
    # F6: a 401 used to leave the order pending with no reason (later "interrupted before it was sent").
    standin.faults.append(fault)
    broker = _broker()
    with pytest.raises(BrokerAuthError) as caught:
        _manager(engine, broker).submit(OrderRequest("AAPL", "buy", Decimal(1)))
    assert caught.value.exit_code == 2
    (order,) = SqlOrderStore(engine).orders()
    assert order.status == "rejected"
    assert f"HTTP {fault}" in (order.status_reason or "")
    assert standin.post_attempts == 1  # refused, not retried
    broker.close()


def test_429_then_success_leaves_exactly_one_order(engine: Engine, standin: AlpacaStandIn) -> None:
    standin.faults.append("429")
    broker = _broker()
    order = _manager(engine, broker).submit(OrderRequest("AAPL", "buy", Decimal(3)))
    assert order.status == "accepted"
    assert standin.post_attempts == 2
    assert list(standin.orders) == [order.order_id]
    broker.close()


def test_connection_dropped_after_accept_is_found_by_client_order_id(engine: Engine, standin: AlpacaStandIn) -> None:
    standin.faults.append("drop")
    broker = _broker()
    order = _manager(engine, broker).submit(OrderRequest("AAPL", "buy", Decimal(2)))
    assert order.status == "accepted"
    assert standin.post_attempts == 1  # looked up, never resent
    assert list(standin.orders) == [order.order_id]
    broker.close()


def test_restart_with_open_orders_reconciles_fills(engine: Engine, standin: AlpacaStandIn) -> None:
    store = SqlOrderStore(engine)
    broker = _broker()
    first = OrderManager(store, broker, timings=FAST)
    filled = first.submit(OrderRequest("AAPL", "buy", Decimal(5), "limit", Decimal("150"), time_in_force="gtc"))
    still_open = first.submit(OrderRequest("AAPL", "buy", Decimal(5), "limit", Decimal("140"), time_in_force="gtc"))
    broker.close()
    # While we are down the broker fills one order (nobody listens to the stream).
    standin.fill(filled.order_id, "5", "149", push=False)
    second = OrderManager(store, _broker(), timings=FAST)
    result = second.reconcile()
    assert (result.checked, result.changed, result.fills_recovered, result.adopted) == (2, 1, 1, 0)
    assert second.get(filled.order_id).status == "filled"  # type: ignore[union-attr]
    assert second.get(still_open.order_id).status == "accepted"  # type: ignore[union-attr]
    assert _fill_count(engine) == 1
    second.reconcile()
    assert _fill_count(engine) == 1


def test_stream_disconnect_resumes_and_reconciles(engine: Engine, standin: AlpacaStandIn) -> None:
    broker = _broker()
    manager = _manager(engine, broker)
    broker.start_stream(on_connected=manager.reconcile, min_backoff=0.05, max_backoff=0.2)
    assert broker._stream.wait_connected(10)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(10), "limit", Decimal("150"), time_in_force="gtc"))
    standin.drop_stream_clients()
    standin.fill(order.order_id, "4", "150", push=False)  # happens while the stream is down
    _wait(lambda: broker._stream.connections >= 2 and bool(standin.clients))
    _wait(lambda: manager.get(order.order_id).filled_quantity == Decimal(4))  # type: ignore[union-attr]
    standin.fill(order.order_id, "6", "150")  # and the resumed stream delivers the rest
    _wait(lambda: manager.get(order.order_id).status == "filled")  # type: ignore[union-attr]
    assert _fill_count(engine) == 2
    broker.close()


def test_cli_account_positions_and_orders_on_the_standin(engine: Engine, db_url: str, standin: AlpacaStandIn) -> None:
    import json

    from click.testing import CliRunner

    from workstation.cli import main

    runner = CliRunner()

    def run(*args: str) -> object:
        result = runner.invoke(main, ["--database-url", db_url, *args])
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    account = run("account", "--broker", "alpaca", "--json")
    assert account["equity"] == "103820.56"
    assert "is_open" in account
    positions = run("positions", "--broker", "alpaca", "--json")
    assert positions[0]["symbol"] == "AAPL"
    order = run("orders", "submit", "--broker", "alpaca", "--symbol", "AAPL", "--side", "buy", "--qty", "1", "--json")
    assert order["status"] == "accepted"
    assert list(standin.orders) == [order["order_id"]]
    assert run("orders", "cancel-all", "--broker", "alpaca", "--json")[0]["status"] == "cancelled"
