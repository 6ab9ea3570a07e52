"""The manual trading CLI against the persisted paper account (each call a fresh invocation)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from helpers import seed_bars
from sqlalchemy import Engine

from workstation.cli import main
from workstation.errors import WorkstationError


@pytest.fixture
def cli(engine: Engine, db_url: str) -> Any:
    seed_bars(engine, "AAPL", [100.0, 101.0, 102.0])
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(main, ["--database-url", db_url, *args], catch_exceptions=True)
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return run


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def test_submit_list_cancel_positions_account(cli: Any) -> None:
    filled = _json(cli("orders", "submit", "--symbol", "aapl", "--side", "buy", "--qty", "10", "--json"))
    assert filled["status"] == "filled"
    assert filled["average_fill_price"] == "102.000000"
    resting = _json(
        cli("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "5", "--type", "limit",
            "--limit-price", "90", "--tif", "gtc", "--json")
    )  # fmt: skip
    assert resting["status"] == "accepted"
    open_orders = _json(cli("orders", "list", "--open", "--json"))
    assert [o["order_id"] for o in open_orders] == [resting["order_id"]]
    positions = _json(cli("positions", "--json"))
    assert positions[0]["symbol"] == "AAPL"
    assert positions[0]["quantity"] == "10"
    account = _json(cli("account", "--json"))
    assert account["cash"] == "98980.000000"
    assert account["buying_power"] == "98530.000000"  # 450 reserved for the resting buy
    cancelled = _json(cli("orders", "cancel", resting["order_id"], "--json"))
    assert cancelled["status"] == "cancelled"
    fills = _json(cli("fills", "--json"))
    assert len(fills) == 1
    assert fills[0]["order_id"] == filled["order_id"]


def test_rejections_are_one_line_errors(cli: Any) -> None:
    unknown = cli("orders", "submit", "--symbol", "ZZZ", "--side", "buy", "--qty", "1", ok=False)
    assert isinstance(unknown.exception, WorkstationError)
    assert "unknown symbol ZZZ" in str(unknown.exception)
    bad_qty = cli("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "-3", ok=False)
    assert isinstance(bad_qty.exception, WorkstationError)
    assert bad_qty.exception.exit_code == 2
    limit_without_price = cli("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1", "--type", "limit",
                              ok=False)  # fmt: skip
    assert "needs --limit-price" in str(limit_without_price.exception)


def test_kill_switch_flattens_and_halts_until_resumed(cli: Any) -> None:
    cli("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "3")
    result = _json(cli("kill-switch", "--flatten", "--json"))
    assert result["flatten_orders"][0]["side"] == "sell"
    assert result["flatten_orders"][0]["status"] == "filled"
    assert _json(cli("positions", "--json")) == []
    halted = cli("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1", ok=False)
    assert "halted" in str(halted.exception)
    cli("kill-switch", "--resume")
    cli("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1")


def test_paper_cash_is_configurable(cli: Any) -> None:
    account = _json(cli("account", "--set-paper-cash", "25000", "--json"))
    assert account["cash"] == "25000.000000"
    too_big = cli("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "300", ok=False)
    assert "insufficient buying power" in str(too_big.exception)
