"""``workstation trade run --strategy``: sma_cross and a model on streamed bars, headless.

Bars arrive as the feed stores them (``BarWriter``: stored and announced, LISTEN/NOTIFY on
PostgreSQL, the announcement table on SQLite); every order must be traceable to its bar.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from workstation.db.engine import create_db_engine
from workstation.market.store import store_bars
from workstation.market.stream.events import StreamBar
from workstation.market.stream.writer import BarWriter, bars_to_frame
from workstation.trading.live_trace import bar_of, signals_by_correlation
from workstation.trading.store_sql import SqlOrderStore

WORKSTATION = str(Path(sys.executable).parent / "workstation")
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _minute(symbol: str, i: int, close: float) -> StreamBar:
    return StreamBar(symbol, T0 + i * MINUTE, close, close + 0.05, close - 0.05, close, 1000)


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _next_json(lines: queue.Queue[str], until: float, want: Any) -> dict[str, Any]:
    while time.monotonic() < until:
        try:
            line = lines.get(timeout=max(0.05, until - time.monotonic()))
        except queue.Empty:
            break
        if line.strip():
            item = json.loads(line)
            if want(item):
                return item  # type: ignore[no-any-return]
    raise AssertionError("no such line before the deadline")


def test_trade_run_sma_cross_orders_on_streamed_bars_traceable_to_their_bar(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        # A falling market: SMA(2) below SMA(4) at the start.
        falling = [_minute("AAA", i, 110.0 - i) for i in range(10)]
        assert not store_bars(engine, bars_to_frame(falling, "alpaca")).failures
        env = {**os.environ, "WORKSTATION_RISK_LIMITS": "{}"}
        process = subprocess.Popen(
            [WORKSTATION, "--database-url", db_url, "trade", "run", "--strategy", "sma_cross", "--fast", "2",
             "--slow", "4", "--qty", "10", "--symbols", "AAA", "--interval", "1m", "--poll", "30",
             "--duration", "40", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
        writer = BarWriter(engine, max_delay=0.02).start()
        try:
            ready = _next_json(lines, time.monotonic() + 30, lambda x: x.get("notice") == "ready")
            assert "1 of 1" in ready["message"]
            for i, close in enumerate((101.0, 104.0, 108.0), start=10):  # it turns: a cross up
                writer.put(_minute("AAA", i, close))
                assert writer.flush(10)
            traded = _next_json(lines, time.monotonic() + 20, lambda x: bool(x.get("orders")))
        finally:
            writer.stop()
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=30)
        assert process.returncode in (0, 130), err
        assert "Traceback" not in err
        order = traded["orders"][0]
        assert (order["symbol"], order["side"], Decimal(order["quantity"])) == ("AAA", "buy", Decimal(10))
        assert order["strategy"] == "sma_cross"
        assert traded["prediction"] == "1"
        # Traceable: the order's correlation id is its bar's, and the bar's signal event names the bar.
        assert order["correlation_id"] == traded["correlation_id"]
        stored = SqlOrderStore(engine).get_order(order["order_id"])
        assert stored is not None and stored.correlation_id == traded["correlation_id"]
        event = signals_by_correlation(engine, [traded["correlation_id"]])[traded["correlation_id"]]
        assert pd.Timestamp(bar_of(event)) == pd.Timestamp(traded["bar"])
        assert pd.Timestamp(traded["bar"]) in {pd.Timestamp(T0 + i * MINUTE) for i in (11, 12)}
        assert event.metadata is not None and event.metadata["fast"] == 2
    finally:
        engine.dispose()


def test_trade_run_refuses_a_model_strategy_without_a_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'never.db'}"
    result = subprocess.run(
        [WORKSTATION, "--database-url", url, "trade", "run", "--strategy", "model", "--symbols", "AAA", "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--model-id" in json.loads(result.stdout)["error"]
