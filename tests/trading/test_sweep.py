"""Parameter sweeps: grid parsing, point = single backtest, walk-forward windows, deflated Sharpe, the CLI."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workstation.errors import InvalidInputError, JobCancelledError
from workstation.jobs import CancelToken
from workstation.ml.executors import SerialExecutor
from workstation.trading.backtest.deflated import ReturnMoments, deflated_sharpe, expected_max_sharpe
from workstation.trading.backtest.engine import BacktestConfig, run_backtest
from workstation.trading.backtest.grid import parse_grid
from workstation.trading.backtest.sweep import SweepSettings, evaluate_point, run_sweep
from workstation.trading.backtest.walkforward import WindowSpec, run_walk_forward, split_windows, window_bars
from workstation.trading.brokers.paper import CommissionModel
from workstation.trading.strategies.sma_cross import SmaCross

SETTINGS = SweepSettings(
    quantity=Decimal(1000),
    config=BacktestConfig(cash=Decimal(100_000), commission=CommissionModel(rate=Decimal("0.001"))),
)


def _bars(count: int = 400, seed: int = 3) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-02", periods=count, freq="B", tz="UTC")
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.02, count))), 2)
    frame = pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1e6}, index=index
    )
    return {"SYN": frame}


def test_grid_ranges_are_inclusive_and_fast_not_below_slow_is_skipped() -> None:
    grid = parse_grid("fast=5:50:5,slow=20:200:10")
    assert grid.axes["fast"] == tuple(range(5, 51, 5))
    assert grid.axes["slow"][0] == 20 and grid.axes["slow"][-1] == 200
    assert all(p["fast"] < p["slow"] for p in grid.points)
    assert len(grid.points) + grid.skipped == 10 * 19
    assert grid.skipped == sum(1 for f in range(5, 51, 5) for s in range(20, 201, 10) if f >= s)
    assert parse_grid("fast=10|5", fixed={"fast": 1, "slow": 30}).points == [
        {"fast": 5, "slow": 30},
        {"fast": 10, "slow": 30},
    ]


@pytest.mark.parametrize(
    "text",
    ["fast=5:50:0", "fast=5-50", "fast=a:b", "speed=1:3", "fast=50:5", "fast=1:2,fast=3", "", "fast=40,slow=30"],
)
def test_malformed_grids_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_grid(text)


def test_a_point_is_the_single_backtest() -> None:
    bars = _bars()
    single = run_backtest(bars, SmaCross(15, 30, Decimal(1000)), SETTINGS.config)
    swept = run_sweep(bars, parse_grid("fast=10:20:5,slow=30:40:10").points, SETTINGS, executor=SerialExecutor())
    point = next(p for p in swept.results if p.params == {"fast": 15, "slow": 30})
    assert point.metrics == dict(single.metrics) | {"final_value": float(single.final_value)}
    assert swept.tried == 6 and swept.best is not None


def test_cancel_stops_the_sweep() -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelledError):
        run_sweep(_bars(), parse_grid("fast=5:10:5,slow=30").points, SETTINGS, executor=SerialExecutor(), cancel=token)


def test_walk_forward_windows_roll_by_the_test_length() -> None:
    timeline = pd.date_range("2021-01-01", periods=10, freq="D", tz="UTC")
    windows = split_windows(timeline, WindowSpec(4, 3))
    assert [(w.train_start.day, w.train_end.day, w.test_start.day, w.test_end.day) for w in windows] == [
        (1, 4, 5, 7),
        (4, 7, 8, 10),
    ]
    with pytest.raises(InvalidInputError):
        WindowSpec.parse("500")


def test_walk_forward_chooses_on_training_and_reports_the_next_window() -> None:
    bars = _bars(400)
    points = parse_grid("fast=5:15:5,slow=30:40:10").points
    walk = run_walk_forward(bars, points, SETTINGS, WindowSpec(200, 100), executor=SerialExecutor())
    assert len(walk.windows) == 2
    for result in walk.windows:
        train = window_bars(bars, result.window.train_start, result.window.train_end)
        test = window_bars(bars, result.window.test_start, result.window.test_end)
        assert len(train["SYN"]) == 200 and len(test["SYN"]) == 100
        in_sample = run_sweep(train, points, SETTINGS, executor=SerialExecutor())
        assert in_sample.best is not None and result.params == in_sample.best.params
        assert result.out_of_sample == evaluate_point(test, result.params, SETTINGS).metrics
    summary = walk.summary()
    assert set(summary) == {
        "in_sample_sharpe",
        "out_of_sample_sharpe",
        "in_sample_total_return",
        "out_of_sample_total_return",
    }


def test_deflated_sharpe_matches_a_hand_worked_value() -> None:
    # N = 10 trials, V[SR] = 0.0004: SR0 = 0.02·(0.4227843·1.2815516 + 0.5772157·1.7892418) = 0.0314920.
    assert expected_max_sharpe(10, 0.0004) == pytest.approx(0.0314920, abs=1e-7)
    # SR* = 0.1 per bar, T = 1000, skew −0.5, kurtosis 5: denominator sqrt(1 + 0.05 + 0.01) = 1.0295630,
    # z = (0.1 − 0.0314920)·sqrt(999)/1.0295630 = 2.1031552, Φ(z) = 0.9822739.
    best = ReturnMoments(0.1, 1000, -0.5, 5.0)
    trials = [0.1, 0.1 - math.sqrt(0.0008)]  # variance (ddof 1) 0.0004
    assert deflated_sharpe(best, trials, trials=10) == pytest.approx(0.9822739, abs=1e-6)
    assert deflated_sharpe(ReturnMoments(None, 5, 0.0, 3.0), trials) is None


# -- the installed command ----------------------------------------------------------------------------------
def _workstation(*args: str, db: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("workstation")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "workstation"]
    return subprocess.run(
        [*command, "--database-url", db, *args], capture_output=True, text=True, timeout=300, **kwargs
    )  # type: ignore[call-overload, no-any-return]


@pytest.fixture
def orcl(shared_data: Path) -> Path:
    return shared_data / "orcl-1995-2014.txt"


def test_sweep_cli_point_equals_backtest_cli(orcl: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    assert _workstation("db", "upgrade", db=db).returncode == 0
    costs = ["--csv", str(orcl), "--qty", "1000", "--cash", "100000", "--commission-rate", "0.001"]
    swept = _workstation("sweep", "--grid", "fast=10:15:5,slow=30", *costs, "--workers", "1", "--json", db=db)
    assert swept.returncode == 0, swept.stderr
    payload = json.loads(swept.stdout)
    assert payload["points_tried"] == 2 and payload["sweep_id"].startswith("sw-")
    point = next(r for r in payload["results"] if r["params"] == {"fast": 15, "slow": 30})
    single = _workstation("backtest", "--fast", "15", "--slow", "30", *costs, "--no-save", "--json", db=db)
    expected = json.loads(single.stdout)
    assert point["metrics"] == expected["metrics"] | {"final_value": expected["final_value"]}
    assert "deflated_sharpe" in payload["best"]

    bad = _workstation("sweep", "--grid", "fast=5:x", *costs, "--json", db=db)
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["exit_code"] == 2
    plain = _workstation("sweep", "--grid", "fast=5:50:0", *costs, db=db)
    assert plain.returncode == 2 and len(plain.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_sweep_cli_ctrl_c_exits_130(orcl: Path, tmp_path: Path) -> None:
    """Ctrl+C in a terminal reaches the whole process group: the command and its worker processes."""
    db = f"sqlite:///{tmp_path / 'w.db'}"
    exe = Path(sys.executable).with_name("workstation")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "workstation"]
    # 4,720 points: ~20 s on an idle machine, so the Ctrl+C at 8 s lands mid-sweep (1,180 took 7.7 s and
    # the signal could land while the finished result was being printed).
    args = ["sweep", "--csv", str(orcl), "--grid", "fast=2:60:1,slow=61:140:1", "--no-save", "--json"]
    process = subprocess.Popen(
        [*command, "--database-url", db, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ}, start_new_session=True,
    )  # fmt: skip
    time.sleep(8)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert json.loads(out) == {"error": "cancelled by the user", "exit_code": 130}


def test_return_moments_are_the_bias_corrected_sample_moments() -> None:
    stats = pytest.importorskip("scipy.stats")
    returns = np.random.default_rng(1).standard_t(5, 500) * 0.01
    moments = ReturnMoments.of(returns)
    assert moments.skewness == pytest.approx(stats.skew(returns, bias=False), rel=1e-9)
    assert moments.kurtosis == pytest.approx(stats.kurtosis(returns, fisher=False, bias=False), rel=1e-9)
    assert moments.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1), rel=1e-12)
