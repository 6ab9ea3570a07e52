"""Order types through the installed ``workstation`` (a real subprocess) and the persisted paper account."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal as D

import pytest
from helpers import T0, Bar, seed_bars
from sqlalchemy import Engine

from workstation.trading.domain import OrderRequest
from workstation.trading.order_manager import OrderManager
from workstation.trading.paper_account import load_paper_broker
from workstation.trading.repository import SqlOrderStore

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/orders.db"


def _json(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_bracket_replace_and_close_through_the_installed_command(
    workstation_cli: Cli, engine: Engine, db_url: str
) -> None:
    seed_bars(engine, "AAPL", [100.0, 101.0, 102.0])  # last close 102

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return workstation_cli("--database-url", db_url, *args)

    placed = _json(run("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "10", "--order-class",
                       "bracket", "--take-profit", "110", "--stop-loss", "95", "--tif", "gtc", "--json"))  # fmt: skip
    assert isinstance(placed, dict)
    assert (placed["status"], placed["average_fill_price"], placed["order_class"]) == (
        "filled",
        "102.000000",
        "bracket",
    )
    legs = {leg["order_type"]: leg for leg in placed["legs"]}
    assert (D(legs["limit"]["limit_price"]), D(legs["stop"]["stop_price"])) == (D(110), D(95))
    assert {leg["status"] for leg in legs.values()} == {"accepted"}
    assert {leg["parent_order_id"] for leg in legs.values()} == {placed["order_id"]}

    moved = _json(run("orders", "replace", legs["stop"]["order_id"], "--stop-price", "97", "--json"))
    assert isinstance(moved, dict)
    assert (moved["replaces"], D(moved["stop_price"]), moved["status"]) == (legs["stop"]["order_id"], D(97), "accepted")
    assert moved["parent_order_id"] == placed["order_id"]

    closed = _json(run("positions", "close", "aapl", "--json"))
    assert isinstance(closed, dict)
    assert closed["orders"][0]["side"] == "sell" and closed["orders"][0]["status"] == "filled"
    assert _json(run("orders", "list", "--open", "--json")) == []  # the legs went before the close
    assert _json(run("positions", "--json")) == []
    nothing = run("positions", "close", "AAPL")
    assert nothing.returncode == 1 and "no open position" in nothing.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--type", "trailing_stop"],
        ["--type", "trailing_stop", "--trail-percent", "2", "--trail-price", "1"],
        ["--type", "stop"],
        ["--order-class", "bracket", "--take-profit", "90", "--stop-loss", "95"],
        ["--order-class", "oco", "--take-profit", "110"],
        ["--type", "limit", "--limit-price", "100", "--extended-hours", "--tif", "ioc"],
        ["--type", "stop", "--stop-price", "105", "--tif", "opg"],
    ],
)
def test_invalid_combinations_exit_2_and_record_nothing(workstation_cli: Cli, sqlite_url: str, args: list[str]) -> None:
    result = workstation_cli("--database-url", sqlite_url, "orders", "submit", "--symbol", "AAPL", "--side", "buy",
                             "--qty", "1", *args, "--json")  # fmt: skip
    assert result.returncode == 2, (result.stdout, result.stderr)
    error = json.loads(result.stdout)
    assert error["exit_code"] == 2 and "Traceback" not in result.stderr


def test_persisted_paper_account_keeps_marks_triggers_and_legs_between_processes(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0])

    def manager() -> OrderManager:  # a fresh process: everything re-read from the database
        store = SqlOrderStore(engine)
        return OrderManager(store, load_paper_broker(engine, store=store))

    entry = manager().submit(
        OrderRequest("AAPL", "buy", D(10), order_class="bracket", take_profit=D(110), stop_loss=D(95))
    )
    assert entry.status == "filled"
    trailing = manager().submit(OrderRequest("AAPL", "buy", D(1), "trailing_stop", trail_price=D(12)))
    stop_limit = manager().submit(
        OrderRequest("AAPL", "buy", D(1), "stop_limit", limit_price=D("105.5"), stop_price=D(105))
    )
    step = T0 + timedelta(days=1)
    # Both legs reached (the stop is taken first); the trailing buy's stop 112 not reached, its mark moves to
    # 94; the stop-limit is triggered at the 106 open, above its limit.
    manager().on_bar("AAPL", Bar(step, D(106), D(111), D(94), D(100), D(1000)))
    store = SqlOrderStore(engine)
    tp, sl = store.get_order(f"{entry.order_id}-tp"), store.get_order(f"{entry.order_id}-sl")
    assert tp is not None and sl is not None
    assert (sl.status, sl.average_fill_price, tp.status) == ("filled", D(95), "cancelled")
    moved = store.get_order(trailing.order_id)
    assert moved is not None and (moved.hwm, moved.stop_price) == (D(94), D(106))  # low-water 94 + 12
    triggered = store.get_order(stop_limit.order_id)
    assert triggered is not None and triggered.triggered_at == step and triggered.status == "accepted"
    manager().on_bar("AAPL", Bar(step + timedelta(minutes=1), D(104), D(108), D(101), D(103), D(1000)))
    bought = store.get_order(stop_limit.order_id)
    assert bought is not None and (bought.status, bought.average_fill_price) == ("filled", D(104))  # a limit now
    bought_trail = store.get_order(trailing.order_id)
    assert bought_trail is not None and (bought_trail.status, bought_trail.average_fill_price) == ("filled", D(106))
