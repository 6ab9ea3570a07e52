"""F7: ``trade run`` against Alpaca survives a database outage (and a broker outage) without a
traceback; a fill pushed on the stream while the database is down is written once it is back;
``--json`` is JSON Lines.

The outage is real: the command reaches PostgreSQL through a TCP proxy the test cuts for ~3 s
(an embedded SQLite file cannot become unreachable that way, so this runs on PostgreSQL only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca_standin import AlpacaStandIn, wait_for
from helpers import FAST, T0, seed_bars
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from tcp_proxy import TcpProxy

from workstation.db.trading import Model, Prediction
from workstation.trading.brokers.alpaca import AlpacaBroker
from workstation.trading.credentials import load_credentials
from workstation.trading.domain import OrderRequest
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import SqlOrderStore

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _seed(engine: Engine) -> None:
    seed_bars(engine, "AAPL", [100.0 + i for i in range(25)])
    with Session(engine) as session, session.begin():
        session.add(Model(model_id="m1", name="test model", version="1", model_type="test"))
        session.flush()
        session.add(
            Prediction(prediction_id="p1", model_id="m1", symbol="AAPL", timestamp=T0 + timedelta(days=24),
                       prediction_type="direction", prediction_value=Decimal(1), confidence=Decimal("0.9"))
        )  # fmt: skip


@pytest.mark.slow
def test_f7_trade_run_survives_a_database_outage_and_loses_no_fill(pg_engine: Engine, standin: AlpacaStandIn) -> None:
    engine = pg_engine
    db_url = engine.url.render_as_string(hide_password=False)
    _seed(engine)
    broker = AlpacaBroker(load_credentials(), timings=FAST)
    order = OrderManager(SqlOrderStore(engine), broker, timings=FAST).submit(
        OrderRequest("AAPL", "buy", Decimal(5), "limit", Decimal("150"), time_in_force="gtc")
    )
    broker.close()
    url = make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": SRC}
    process = subprocess.Popen(
        [sys.executable, "-m", "workstation", "--database-url", proxied, "trade", "run", "--broker", "alpaca",
         "--model-id", "m1", "--symbols", "AAPL", "--predictions", "stored", "--poll", "0.2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(standin.clients), timeout=60)  # the trade stream is connected
        time.sleep(0.5)
        proxy.cut()
        time.sleep(0.5)
        standin.fill(order.order_id, "5", "149.5")  # pushed while the database is down
        time.sleep(2.5)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        proxy.resume()
        store = SqlOrderStore(engine)
        wait_for(lambda: store.get_order(order.order_id).status == "filled", timeout=30)  # type: ignore[union-attr]
        standin.fault_plan = lambda _kind: "503"  # now the broker is down for a while
        time.sleep(1.5)
        standin.fault_plan = None
        time.sleep(0.5)
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        proxy.close()
    assert process.returncode in (0, 130), err
    assert "Traceback" not in err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]  # JSON Lines: one object per line
    notices = [line["notice"] for line in lines if "notice" in line]
    assert "database_unavailable" in notices and "database_back" in notices
    fills = SqlOrderStore(engine).fills(order_id=order.order_id)
    assert [(f.quantity, f.price) for f in fills] == [(5, Decimal("149.5"))]
