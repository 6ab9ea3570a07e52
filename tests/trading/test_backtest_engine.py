"""Backtester beyond parity: several symbols sharing cash, the model strategy on stored predictions,
volume-limited partial fills, metrics and stored results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from helpers import T0
from sqlalchemy import Engine

from workstation.trading.backtest.engine import BacktestConfig, run_backtest
from workstation.trading.backtest.metrics import compute_metrics, periods_per_year
from workstation.trading.backtest.store import list_backtests, load_backtest, save_backtest
from workstation.trading.brokers.paper import CommissionModel
from workstation.trading.risk import RiskLimits
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig
from workstation.trading.strategies.sma_cross import SmaCross, cross_signals


def _frame(closes: list[float], volume: float = 1e6) -> pd.DataFrame:
    index = pd.date_range(T0, periods=len(closes), freq="D", tz="UTC")
    close = np.array(closes)
    return pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": volume}, index=index
    )


def _zigzag(n: int = 120, phase: float = 0.0) -> list[float]:
    return [round(100 + 10 * np.sin(i / 8 + phase), 2) for i in range(n)]


def test_cross_signals_ignore_ties() -> None:
    close = np.array([1.0, 2, 3, 4, 4, 4, 4, 3, 2, 1, 2, 3, 4, 5])
    signals = cross_signals(close, 2, 3)
    assert signals.tolist().count(1) + signals.tolist().count(-1) == 2


def test_portfolio_of_symbols_shares_cash_and_risk_limits(engine: Engine) -> None:
    bars = {"AAA": _frame(_zigzag()), "BBB": _frame(_zigzag(phase=1.5))}
    limits = RiskLimits(max_position_quantity=Decimal(50))
    config = BacktestConfig(cash=Decimal(20_000), commission=CommissionModel(per_share=Decimal("0.01")), risk=limits)
    result = run_backtest(bars, SmaCross(3, 8, Decimal(100)), config)
    assert result.fills == []
    assert result.risk_rejections > 0
    ok = run_backtest(bars, SmaCross(3, 8, Decimal(50)), config)
    assert {f.symbol for f in ok.fills} == {"AAA", "BBB"}
    assert ok.fills == sorted(ok.fills, key=lambda f: (f.timestamp, f.symbol))
    assert len(ok.equity) == 120
    assert float(ok.final_value) == pytest.approx(float(ok.equity.iloc[-1]), abs=1e-6)
    assert ok.metrics["commission"] == pytest.approx(0.5 * len(ok.fills))
    run_id = save_backtest(engine, ok)
    stored = load_backtest(engine, run_id)
    assert len(stored["fills"]) == len(ok.fills)
    assert len(stored["trades"]) == len(ok.trades)
    assert stored["equity"].iloc[-1] == pytest.approx(float(ok.final_value), abs=1e-6)
    assert list_backtests(engine)[0]["run_id"] == run_id


def test_volume_limited_orders_fill_across_bars() -> None:
    bars = {"AAA": _frame(_zigzag(), volume=200)}
    config = BacktestConfig(cash=Decimal(100_000), max_volume_share=Decimal("0.1"))
    result = run_backtest(bars, SmaCross(3, 8, Decimal(50)), config)
    assert result.fills
    assert max(f.quantity for f in result.fills) == Decimal(20)
    first_buy = [f for f in result.fills if f.side == "buy"][:3]
    assert [f.quantity for f in first_buy] == [Decimal(20), Decimal(20), Decimal(10)]


def test_model_strategy_thresholds_sizing_and_exits() -> None:
    bars = {"AAA": _frame([100.0 + i for i in range(40)])}
    stamps = [T0 + timedelta(days=d) for d in (25, 27, 30, 33, 36)]
    predictions = pd.DataFrame(
        {
            "value": [Decimal("0.7"), Decimal("0.8"), Decimal("0.6"), Decimal("0.3"), Decimal("0.9")],
            "confidence": [Decimal("0.4"), Decimal("0.9"), Decimal("0.52"), Decimal("0.9"), Decimal("0.6")],
            "prediction_type": ["up_probability"] * 5,
        },
        index=pd.DatetimeIndex(stamps),
    )
    config = ModelStrategyConfig(model_id="m", sizing="fixed_notional", notional=Decimal(5000))
    result = run_backtest(bars, ModelStrategy(config, {"AAA": predictions}), BacktestConfig())
    # day 25: confidence too low; day 27: enter (5000/127 → 39 shares at the next open 128);
    # day 30: still up with 0.52 ≥ exit 0.5: hold; day 33: value below 0.5 flips → exit; day 36: re-enter.
    assert [(f.side, f.quantity, (f.timestamp - T0).days) for f in result.fills] == [
        ("buy", Decimal(39), 28),
        ("sell", Decimal(39), 34),
        ("buy", Decimal(36), 37),
    ]
    assert result.trades[-1].is_open


def test_volatility_targeted_sizing() -> None:
    strategy = ModelStrategy(ModelStrategyConfig(model_id="m", sizing="volatility", target_volatility=0.2))
    assert strategy.size(Decimal(100), 0.4, Decimal(100_000)) == Decimal(500)  # half the equity
    assert strategy.size(Decimal(100), 0.1, Decimal(100_000)) == Decimal(1000)  # capped at 1× equity


def test_metrics_on_a_known_curve() -> None:
    index = pd.date_range(T0, periods=5, freq="D", tz="UTC")
    equity = pd.Series([100.0, 110.0, 99.0, 120.0, 120.0], index=index)
    metrics = compute_metrics(equity, [], [], Decimal(100), Decimal(120), {})
    assert metrics["total_return"] == pytest.approx(0.2)
    assert metrics["max_drawdown"] == pytest.approx(0.1)
    assert metrics["win_rate"] is None


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_metrics_do_not_depend_on_the_index_time_unit(unit: str) -> None:
    # pandas keeps the unit it parsed with; the annualisation and the CAGR must read the same calendar.
    index = pd.date_range(T0, periods=505, freq="B", tz="UTC").as_unit(unit)
    assert periods_per_year(index) == 252.0
    equity = pd.Series(np.linspace(100.0, 121.0, len(index)), index=index)
    metrics = compute_metrics(equity, [], [], Decimal(100), Decimal(121), {})
    years = (index[-1] - index[0]).total_seconds() / (365.25 * 86400)
    assert metrics["cagr"] == pytest.approx(1.21 ** (1 / years) - 1)
