"""Regression tests of issue 14's F4 (out-of-range input), F5 (per-process risk and paper account),
F6 (401 on submit) and F8 (secrets in free-text fields).

Exit codes are checked through the exception a command raises (``WorkstationError.exit_code``: the
console entry point exits with it) and, for a few, through a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alpaca_standin import AlpacaStandIn
from click.testing import CliRunner, Result
from helpers import FAST, T0, bar, seed_bars
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from workstation.cli import main
from workstation.db.market import MarketData
from workstation.db.partitions import BAR_TABLES, ensure_partitions_for
from workstation.errors import WorkstationError
from workstation.trading.domain import OrderRequest, RiskRejectedError
from workstation.trading.paper_account import starting_cash
from workstation.trading.repository import SqlOrderStore
from workstation.trading.risk import RiskLimits
from workstation.trading.session import open_session

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _cli(db_url: str) -> Callable[..., Result]:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, ["--database-url", db_url, *args])

    return run


def _code(result: Result) -> int:
    """The exit code the console entry point gives (it exits with a WorkstationError's code)."""
    if isinstance(result.exception, WorkstationError):
        return result.exception.exit_code
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code


SUBMIT = ("orders", "submit", "--broker", "alpaca", "--symbol", "AAPL", "--side", "buy")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--qty", "1e30"), "more than the 100,000,000 shares"),
        (("--qty", "0.0000001"), "more than 6 decimals"),
        (("--qty", "1.0000004"), "more than 6 decimals"),
        (("--qty", "NaN"), "finite number"),
        (("--qty", "abc"), "must be a number"),
        (("--qty", "1", "--type", "limit", "--limit-price", "150.001"), "more than 2 decimals"),
        (("--qty", "1", "--type", "limit", "--limit-price", "0.12345"), "more than 4 decimals"),
        (("--qty", "0.5", "--tif", "gtc"), "only allowed on day orders"),
    ],
)
def test_f4_out_of_range_input_is_refused_before_anything_is_written(
    engine: Engine, db_url: str, standin: AlpacaStandIn, args: tuple[str, ...], message: str
) -> None:
    result = _cli(db_url)(*SUBMIT, *args)
    assert _code(result) == 2, result.output
    assert message in str(result.exception)
    assert SqlOrderStore(engine).orders() == []
    assert standin.post_attempts == 0


def test_f4_a_symbol_too_long_or_malformed_is_refused(engine: Engine, db_url: str) -> None:
    run = _cli(db_url)
    for symbol in ("A" * 40, "AAPL;DROP", "1ABC", ""):
        result = run("orders", "submit", "--symbol", symbol, "--side", "buy", "--qty", "1")
        assert _code(result) == 2, (symbol, result.output)
    assert SqlOrderStore(engine).orders() == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("APCA_API_BASE_URL", "http://127.0.0.1:notaport", "invalid port"),
        ("WORKSTATION_RISK_LIMITS", '{"max_order_quantity": "NaN"}', "must be a positive number"),
        ("WORKSTATION_RISK_LIMITS", '{"max_order_quantity": "abc"}', "must be a positive number, got 'abc'"),
        ("WORKSTATION_RISK_LIMITS", '{"max_orders_per_window": 2.5}', "whole number"),
        ("WORKSTATION_EXECUTION_TIMINGS", '{"unknown_window": -1}', "between 0 and 86400"),
    ],
)
def test_f4_bad_configuration_is_one_line_exit_2(
    db_url: str, standin: AlpacaStandIn, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = _cli(db_url)(*SUBMIT, "--qty", "1")
    assert _code(result) == 2, result.output
    assert message in str(result.exception)
    assert standin.post_attempts == 0


def test_f4_no_traceback_from_a_real_process(db_url: str, standin: AlpacaStandIn) -> None:
    env = {**os.environ, "PYTHONPATH": SRC, "APCA_API_BASE_URL": "http://127.0.0.1:notaport"}
    done = subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db_url, *SUBMIT, "--qty", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def _store_a_bad_row(engine: Engine) -> None:
    # What the code before the bounds let through: 1e30 shares (SQLite keeps it as a double),
    # or on PostgreSQL the largest quantity the column holds.
    quantity = "1e30" if engine.dialect.name == "sqlite" else "500000000000"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO orders (order_id, symbol, side, quantity, order_type, status, broker, time_in_force, "
                f"filled_quantity, version, check_attempts, created_at, updated_at) VALUES ('ws-bad', 'AAPL', 'buy', "
                f"{quantity}, 'market', 'accepted', 'paper', 'day', 0, 0, 0, :now, :now)"
            ),
            {"now": T0 if engine.dialect.name == "postgresql" else T0.replace(tzinfo=None).isoformat(" ")},
        )


def test_f4_a_bad_stored_row_never_bricks_a_command(engine: Engine, db_url: str) -> None:
    seed_bars(engine, "AAPL", [100.0, 101.0])
    _store_a_bad_row(engine)
    run = _cli(db_url)
    listed = run("orders", "list", "--json")
    assert _code(listed) == 0, listed.output
    assert json.loads(listed.stdout) == []
    assert "ws-bad skipped" in listed.stderr
    commands = [
        ("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "2"),
        ("orders", "reconcile", "--broker", "paper"),
        ("orders", "cancel-all"),
        ("positions",),
        ("account",),
        ("kill-switch",),
    ]
    for args in commands:
        result = run(*args)
        assert _code(result) == 0, (args, result.output, result.exception)


def test_f5_daily_loss_limit_bites_across_processes(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_bars(engine, "AAPL", [100.0])
    seed_bars(engine, "MSFT", [200.0])
    monkeypatch.setenv("WORKSTATION_RISK_LIMITS", json.dumps({"daily_loss_limit": 500}))
    run = _cli(db_url)
    assert _code(run("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "100")) == 0
    ensure_partitions_for(engine, BAR_TABLES, [T0.replace(year=2030)])  # PostgreSQL's range for the new bar
    with Session(engine) as session, session.begin():
        price = Decimal(94)  # the position is now 600 under water
        session.add(MarketData(symbol="AAPL", interval="1d", timestamp=T0.replace(year=2030), open=price, high=price,
                               low=price, close=price, volume=1, source="test"))  # fmt: skip
    refused = run("orders", "submit", "--symbol", "MSFT", "--side", "buy", "--qty", "1")
    assert _code(refused) == 1
    assert "daily_loss_limit" in str(refused.exception)
    assert _code(run("orders", "submit", "--symbol", "AAPL", "--side", "sell", "--qty", "100")) == 0  # exits pass


def test_f5_order_rate_limit_counts_every_process(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_bars(engine, "AAPL", [100.0])
    monkeypatch.setenv("WORKSTATION_RISK_LIMITS", json.dumps({"max_orders_per_window": 2, "rate_window_seconds": 600}))
    run = _cli(db_url)
    for _ in range(2):
        assert _code(run("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1")) == 0
    refused = run("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "1")
    assert _code(refused) == 1 and "order_rate_limit" in str(refused.exception)


def _race(engine: Engine, requests: list[OrderRequest], limits: RiskLimits | None = None) -> list[Any]:
    """Each request from its own session (as from its own process), released together."""
    sessions = [open_session(engine, "paper", risk_limits=limits or RiskLimits(), timings=FAST) for _ in requests]
    barrier = threading.Barrier(len(requests))
    results: list[Any] = [None] * len(requests)

    def place(i: int) -> None:
        barrier.wait()
        try:
            results[i] = sessions[i].manager.submit(requests[i])
        except RiskRejectedError as exc:
            results[i] = exc

    threads = [threading.Thread(target=place, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for session in sessions:
        session.close()
    return results


def _held(engine: Engine, symbol: str) -> Decimal:
    return SqlOrderStore(engine).position_book("paper").quantity(symbol)


def test_f5_two_concurrent_sells_of_the_whole_position_cannot_both_fill(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0])
    session = open_session(engine, "paper", risk_limits=RiskLimits())
    session.manager.submit(OrderRequest("AAPL", "buy", Decimal(416)))
    session.close()
    results = _race(engine, [OrderRequest("AAPL", "sell", Decimal(416))] * 2)
    assert sorted(r.status for r in results) == ["filled", "rejected"]
    assert "insufficient position" in str([r.status_reason for r in results])
    assert _held(engine, "AAPL") == 0  # shorting is off: never −416


def test_f5_two_concurrent_buys_cannot_spend_the_same_cash(engine: Engine, db_url: str) -> None:
    seed_bars(engine, "AAPL", [100.0])
    assert _code(_cli(db_url)("account", "--set-paper-cash", "5000")) == 0
    results = _race(engine, [OrderRequest("AAPL", "buy", Decimal(41))] * 2)
    assert sorted(r.status for r in results) == ["filled", "rejected"]
    fills = SqlOrderStore(engine).fills(broker="paper")
    assert starting_cash(engine) - sum(f.quantity * f.price for f in fills) >= 0


def test_f5_max_position_holds_across_concurrent_orders(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0])
    session = open_session(engine, "paper", risk_limits=RiskLimits())
    session.manager.submit(OrderRequest("AAPL", "buy", Decimal(400)))
    session.close()
    limits = RiskLimits(max_position_quantity=Decimal(410))
    results = _race(engine, [OrderRequest("AAPL", "buy", Decimal(8))] * 2, limits)
    assert sorted(type(r).__name__ for r in results) == ["Order", "RiskRejectedError"]
    assert _held(engine, "AAPL") == 408


def test_f5_two_real_processes_selling_the_same_shares(engine: Engine, db_url: str) -> None:
    seed_bars(engine, "AAPL", [100.0])
    assert _code(_cli(db_url)("orders", "submit", "--symbol", "AAPL", "--side", "buy", "--qty", "416")) == 0
    env = {**os.environ, "PYTHONPATH": SRC}
    argv = [sys.executable, "-m", "workstation", "--database-url", db_url, "orders", "submit", "--symbol", "AAPL",
            "--side", "sell", "--qty", "416", "--json"]  # fmt: skip
    processes = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]  # fmt: skip
    codes = sorted(p.wait(120) for p in processes)
    assert codes == [0, 1]  # one filled, one refused by the broker
    assert _held(engine, "AAPL") == 0


def test_f6_a_401_on_submit_rejects_with_the_reason_exit_2(engine: Engine, db_url: str, standin: AlpacaStandIn) -> None:
    standin.faults.append("401")
    result = _cli(db_url)(*SUBMIT, "--qty", "1")
    assert _code(result) == 2
    (order,) = SqlOrderStore(engine).orders()
    assert order.status == "rejected"
    assert "HTTP 401" in str(order.status_reason) and "not authorized" in str(order.status_reason)


def test_f8_a_broker_error_echoing_the_keys_is_stored_redacted(
    engine: Engine, db_url: str, standin: AlpacaStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, secret = "PKCHAOS1234567890", "sEcReT-9f8e7d6c5b4a"
    monkeypatch.setenv("APCA_API_KEY_ID", key)
    monkeypatch.setenv("APCA_API_SECRET_KEY", secret)
    standin.faults.append("echo_secret")
    result = _cli(db_url)(*SUBMIT, "--qty", "1")
    assert _code(result) == 2
    assert key not in str(result.exception) and secret not in str(result.exception)
    (order,) = SqlOrderStore(engine).orders()
    assert "***" in str(order.status_reason)
    with engine.connect() as conn:
        for table in ("orders", "fills", "trading_events", "system_logs", "error_logs", "user_action_logs"):
            dump = json.dumps([list(map(str, row)) for row in conn.execute(text(f"SELECT * FROM {table}"))])
            assert key not in dump and secret not in dump, table


def test_alpaca_tick_rules_apply_on_the_paper_broker_but_not_in_backtests(engine: Engine) -> None:
    from workstation.trading.brokers.paper import PaperBroker, PaperConfig

    seed_bars(engine, "AAPL", [100.0])
    session = open_session(engine, "paper", risk_limits=RiskLimits())
    with pytest.raises(WorkstationError, match="more than 2 decimals"):
        session.manager.submit(OrderRequest("AAPL", "buy", Decimal(1), "limit", Decimal("99.999")))
    session.close()
    backtest = PaperBroker(Decimal(10_000), PaperConfig(mode="backtest"))
    backtest.on_bar("AAPL", bar(0, "100", "101", "99", "100"))
    backtest.check_request(OrderRequest("AAPL", "buy", Decimal("0.5"), "limit", Decimal("99.999"), "gtc"))
