"""kill -9 between "committed" and "sent", and between "sent" and "acknowledged": after a restart
there is no duplicate order at the broker and no lost fill, and no order is declared final on one
"not found" (the unknown window, compressed here to 2 s, must pass first)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca_standin import AlpacaStandIn
from helpers import FAST_ENV
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from workstation.db.trading import Fill as FillRow
from workstation.db.trading import Order as OrderRow
from workstation.trading.execution.timings import TIMINGS_ENV

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _workstation(
    db_url: str, standin: AlpacaStandIn, *args: str, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,  # the standin fixture's keys, URLs and compressed timings
        "PYTHONPATH": SRC,
    }
    env.pop("WORKSTATION_CRASH_AT", None)
    if crash_at:
        env["WORKSTATION_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db_url, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


SUBMIT = ("orders", "submit", "--broker", "alpaca", "--symbol", "AAPL", "--side", "buy", "--qty", "5",
          "--type", "limit", "--limit-price", "150", "--tif", "gtc")  # fmt: skip


def _orders(engine: Engine) -> list[OrderRow]:
    with Session(engine) as session:
        return list(session.scalars(select(OrderRow)).all())


@pytest.mark.slow
def test_killed_after_commit_before_send(
    db_url: str, engine: Engine, standin: AlpacaStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # F2: one "not found" must not make an order final. Each process reads its timings at start, so the
    # first reconciliation runs with a window far longer than any start-up on a busy machine, the second
    # with one already past: no sleeping, and no race with the machine's speed.
    def window(seconds: float) -> None:
        monkeypatch.setenv(TIMINGS_ENV, json.dumps(json.loads(FAST_ENV) | {"unknown_window": seconds}))

    window(300.0)
    crashed = _workstation(db_url, standin, *SUBMIT, crash_at="after_commit")
    assert crashed.returncode == -signal.SIGKILL
    (order,) = _orders(engine)
    assert order.status == "pending"
    assert standin.orders == {}
    restarted = _workstation(db_url, standin, "orders", "reconcile", "--broker", "alpaca", "--json")
    assert restarted.returncode == 3, restarted.stderr  # outcome still unknown: not final on one 404
    assert json.loads(restarted.stdout)["checked"] == 1
    (order,) = _orders(engine)
    assert (order.status, order.unknown_since is not None) == ("pending", True)
    window(0.5)
    time.sleep(max(0.0, 0.5 - (datetime.now(UTC) - order.created_at).total_seconds()) + 0.1)
    settled = _workstation(db_url, standin, "orders", "reconcile", "--broker", "alpaca", "--json")
    assert settled.returncode == 0, settled.stderr
    (order,) = _orders(engine)
    assert order.status == "cancelled"
    assert "never reached alpaca" in (order.status_reason or "")
    assert standin.orders == {}  # nothing was sent behind the user's back


@pytest.mark.slow
def test_killed_after_send_before_acknowledged(db_url: str, engine: Engine, standin: AlpacaStandIn) -> None:
    crashed = _workstation(db_url, standin, *SUBMIT, crash_at="after_send")
    assert crashed.returncode == -signal.SIGKILL
    (order,) = _orders(engine)
    assert order.status == "pending"  # the acknowledgement was never recorded …
    assert list(standin.orders) == [order.order_id]  # … but the broker has it
    standin.fill(order.order_id, "2", "149.5", push=False)
    standin.fill(order.order_id, "3", "149.0", push=False)
    restarted = _workstation(db_url, standin, "orders", "reconcile", "--broker", "alpaca", "--json")
    assert restarted.returncode == 0, restarted.stderr
    (order,) = _orders(engine)
    assert (order.status, order.filled_quantity, order.average_fill_price) == ("filled", Decimal(5), Decimal("149.2"))
    with Session(engine) as session:
        fills = session.scalars(select(FillRow)).all()
    assert sum(f.quantity for f in fills) == 5
    assert standin.post_attempts == 1
    assert len(standin.orders) == 1
    again = _workstation(db_url, standin, "orders", "list", "--json")
    assert [o["status"] for o in json.loads(again.stdout)] == ["filled"]
