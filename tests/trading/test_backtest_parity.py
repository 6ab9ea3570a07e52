"""sma_cross backtest == an independent numpy recomputation of the rule, fill by fill."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from workstation.trading.backtest.engine import BacktestConfig, run_backtest
from workstation.trading.backtest.inputs import csv_bars
from workstation.trading.brokers.paper import CommissionModel
from workstation.trading.strategies.sma_cross import SmaCross


def _reference(path: Path, fast: int, slow: int, qty: int, cash: float, rate: float) -> tuple[list[tuple], float]:
    """The rule as the issue states it, in plain numpy and a loop (no TA-Lib, no pandas)."""
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    dates = [r["Date"] for r in rows]
    opens = np.array([float(r["Open"]) for r in rows])
    close = np.array([float(r["Close"]) for r in rows])

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        out = np.full(len(values), np.nan)
        sums = np.cumsum(np.insert(values, 0, 0.0))
        out[n - 1 :] = (sums[n:] - sums[:-n]) / n
        return out

    diff = sma(close, fast) - sma(close, slow)
    fills: list[tuple] = []
    last_sign = 0.0
    held = 0
    for i in range(len(close)):
        if np.isnan(diff[i]) or abs(diff[i]) < 1e-12:
            continue
        sign = float(np.sign(diff[i]))
        crossed = last_sign != 0 and sign != last_sign
        last_sign = sign
        if not crossed or i + 1 >= len(close):
            continue
        price = round(opens[i + 1], 6)
        if sign > 0 and held == 0:
            fills.append((dates[i + 1], "buy", qty, price, round(rate * qty * price, 6)))
            cash -= qty * price + rate * qty * price
            held = qty
        elif sign < 0 and held > 0:
            fills.append((dates[i + 1], "sell", held, price, round(rate * held * price, 6)))
            cash += held * price - rate * held * price
            held = 0
    return fills, cash + held * close[-1]


@pytest.fixture
def orcl(shared_data: Path) -> Path:
    return shared_data / "orcl-1995-2014.txt"


def test_sma_cross_matches_independent_recomputation(orcl: Path) -> None:
    expected, expected_value = _reference(orcl, 15, 30, 1000, 100_000.0, 0.001)
    result = run_backtest(
        csv_bars(orcl).bars,
        SmaCross(15, 30, Decimal(1000)),
        BacktestConfig(cash=Decimal(100_000), commission=CommissionModel(rate=Decimal("0.001"))),
    )
    got = [
        (f.timestamp.date().isoformat(), f.side, int(f.quantity), float(f.price), float(f.commission))
        for f in result.fills
    ]
    assert got[0] == ("1995-05-16", "buy", 1000, 2.518518, 2.518518)
    assert len(got) == len(expected) == 175
    assert got == expected
    assert float(result.final_value) == pytest.approx(expected_value, abs=1e-6)
    # The position still open at the end is marked to the last close, not closed.
    assert result.trades[-1].is_open
    assert result.metrics["commission"] == pytest.approx(sum(f[4] for f in expected), abs=1e-6)


def test_backtest_cli_json_shape(orcl: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    db = f"sqlite:///{tmp_path / 'w.db'}"
    subprocess.run([sys.executable, "-m", "workstation", "--database-url", db, "db", "upgrade"], check=True, env=env)
    args = ["--strategy", "sma_cross", "--fast", "15", "--slow", "30", "--csv", str(orcl), "--cash", "100000"]
    args += ["--qty", "1000", "--commission-rate", "0.001", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db, "backtest", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert {"final_value", "final_cash", "total_return", "fills", "trades", "metrics"} <= set(payload)
    assert payload["fills"][0] == {
        "timestamp": "1995-05-16T04:00:00+00:00",  # the bar of 1995-05-16, midnight New York time
        "symbol": "ORCL",
        "order_id": "bt-0000001",  # with the run id, what ``workstation explain RUN_ID:ID`` takes
        "fill_id": "paper-bt-0000001-1000",
        "side": "buy",
        "quantity": 1000,
        "price": 2.518518,
        "commission": 2.518518,
    }
    for key in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "win_rate", "profit_factor"):
        assert key in payload["metrics"]
    assert payload["run_id"].startswith("bt-")
    bad = subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db, "backtest", "--csv", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: no such file")
