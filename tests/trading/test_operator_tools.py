"""``positions --compare-broker``: the book's positions next to the broker's, exit 1 where they differ."""

from __future__ import annotations

import json
from decimal import Decimal

from alpaca_standin import AlpacaStandIn
from click.testing import CliRunner
from helpers import FAST
from sqlalchemy import Engine

from workstation.cli import main
from workstation.errors import WorkstationError
from workstation.trading.brokers.alpaca import AlpacaBroker
from workstation.trading.credentials import load_credentials
from workstation.trading.domain import OrderRequest
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import SqlOrderStore


def _compare(db_url: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        main, ["--database-url", db_url, "positions", "--broker", "alpaca", "--compare-broker", "--json"]
    )
    code = result.exception.exit_code if isinstance(result.exception, WorkstationError) else result.exit_code
    return code, json.loads(result.stdout)


def test_positions_compare_broker_says_where_the_book_and_the_broker_differ(
    engine: Engine, db_url: str, standin: AlpacaStandIn
) -> None:
    standin.dynamic_positions = True
    broker = AlpacaBroker(load_credentials(), timings=FAST)
    manager = OrderManager(SqlOrderStore(engine), broker, timings=FAST)
    order = manager.submit(OrderRequest("AAPL", "buy", Decimal(5)))
    standin.fill(order.order_id, "5", "100", push=False)
    manager.reconcile()
    broker.close()
    code, agree = _compare(db_url)
    assert code == 0 and agree["differences"] == 0
    assert agree["positions"] == [{"symbol": "AAPL", "book": "5", "broker": "5", "difference": "0"}]
    outside = standin.add_foreign_order("placed-in-the-web-ui", "MSFT", "buy", "3")  # not ours: never adopted
    standin.fill(outside["client_order_id"], "3", "50", push=False)
    code, differ = _compare(db_url)
    assert code == 1
    assert {"symbol": "MSFT", "book": "0", "broker": "3", "difference": "3"} in differ["positions"]
