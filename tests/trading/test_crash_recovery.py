"""kill -9 between "committed" and "sent", and between "sent" and "acknowledged": after a restart
there is no duplicate order at the broker and no lost fill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca_standin import AlpacaStandIn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from workstation.db.trading import Fill as FillRow
from workstation.db.trading import Order as OrderRow

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def standin(alpaca_fixtures: Path) -> Iterator[AlpacaStandIn]:
    server = AlpacaStandIn(alpaca_fixtures).start()
    yield server
    server.stop()


def _workstation(
    db_url: str, standin: AlpacaStandIn, *args: str, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "APCA_API_KEY_ID": "test-key",
        "APCA_API_SECRET_KEY": "test-secret",
        "APCA_API_BASE_URL": standin.base_url,
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
def test_killed_after_commit_before_send(db_url: str, engine: Engine, standin: AlpacaStandIn) -> None:
    crashed = _workstation(db_url, standin, *SUBMIT, crash_at="after_commit")
    assert crashed.returncode == -signal.SIGKILL
    (order,) = _orders(engine)
    assert order.status == "pending"
    assert standin.orders == {}
    restarted = _workstation(db_url, standin, "orders", "reconcile", "--broker", "alpaca", "--json")
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(restarted.stdout)["checked"] == 1
    (order,) = _orders(engine)
    assert order.status == "cancelled"
    assert "never reached the broker" in (order.status_reason or "")
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
