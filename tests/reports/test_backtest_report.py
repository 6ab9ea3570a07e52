"""The backtest report next to buy-and-hold, and a partly closed round trip in its trades and positions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from workstation.db.models import MarketData, StockInfo
from workstation.db.partitions import BAR_TABLES, ensure_partitions_for
from workstation.reports.backtest import BUY_AND_HOLD, build_backtest_report
from workstation.reports.document import KeyValues, LineChart, Paragraph
from workstation.trading.backtest.benchmark import buy_and_hold
from workstation.trading.backtest.engine import BacktestConfig, BacktestResult, equity_curve, run_backtest
from workstation.trading.backtest.inputs import stored_bars
from workstation.trading.backtest.metrics import compute_metrics, trades_from_fills
from workstation.trading.backtest.store import save_backtest
from workstation.trading.domain import Fill
from workstation.trading.strategies.base import BarSeries
from workstation.trading.strategies.sma_cross import SmaCross

DAY0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


def _frame(opens: list[float], closes: list[float]) -> pd.DataFrame:
    index = pd.DatetimeIndex([DAY0 + timedelta(days=i) for i in range(len(closes))])
    return pd.DataFrame(
        {"open": opens, "high": [max(o, c) for o, c in zip(opens, closes, strict=True)],
         "low": [min(o, c) for o, c in zip(opens, closes, strict=True)], "close": closes,
         "volume": [1_000_000] * len(closes)},
        index=index,
    )  # fmt: skip


def test_buy_and_hold_by_hand() -> None:
    """10,000 split in two: 5,000 / 100 = 50 AAA; 5,000 / 30 = 166 BBB (4,980, 20 left over)."""
    bars = {"AAA": _frame([100, 104, 108], [102, 106, 110]), "BBB": _frame([30, 29, 28], [29.5, 28.5, 27])}
    held = buy_and_hold(bars, Decimal(10_000))
    assert [(f.symbol, f.quantity, f.price) for f in held.fills] == [("AAA", 50, 100), ("BBB", 166, 30)]
    assert held.final_cash == Decimal(20)
    assert held.final_value == 20 + 50 * 110 + 166 * 27  # 10,002
    assert held.equity.tolist() == pytest.approx([20 + 50 * 102 + 166 * 29.5, 20 + 50 * 106 + 166 * 28.5, 10_002])
    assert held.metrics["total_return"] == pytest.approx(10_002 / 10_000 - 1)
    assert held.metrics["exposure"] == 1.0
    assert held.metrics["trades"] == 2 and held.metrics["win_rate"] is None  # nothing was closed


def _store_bars(engine: Engine, symbol: str, frame: pd.DataFrame) -> None:
    ensure_partitions_for(engine, BAR_TABLES, list(frame.index.to_pydatetime()))
    rows = [
        {"symbol": symbol, "interval": "1d", "timestamp": stamp.to_pydatetime(), "open": Decimal(str(row.open)),
         "high": Decimal(str(row.high)), "low": Decimal(str(row.low)), "close": Decimal(str(row.close)),
         "volume": int(row.volume), "source": "test"}
        for stamp, row in frame.iterrows()
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(StockInfo).values(symbol=symbol, company_name=f"{symbol} test", exchange="TEST"))
        conn.execute(insert(MarketData), rows)


def _wave(n: int, phase: float) -> pd.DataFrame:
    import math

    closes = [round(100 + 10 * math.sin(i / 6 + phase) + i * 0.05, 4) for i in range(n)]
    return _frame([closes[0], *closes[:-1]], closes)


def test_report_compares_the_strategy_with_buy_and_hold(engine: Engine) -> None:
    for symbol, phase in (("AAA", 0.0), ("BBB", 1.0)):
        _store_bars(engine, symbol, _wave(120, phase))
    bars = {s: stored_bars(engine, s) for s in ("AAA", "BBB")}
    result = run_backtest(bars, SmaCross(5, 15, Decimal(100)), BacktestConfig(cash=Decimal(50_000)))
    run_id = save_backtest(engine, result)
    document = build_backtest_report(engine, run_id)

    expected = buy_and_hold(bars, Decimal(50_000))
    (metrics,) = [b for s in document.sections for b in s.blocks if isinstance(b, KeyValues)]
    assert metrics.value_titles == ("Strategy", BUY_AND_HOLD)
    shown = {label: value for label, value, _fmt in metrics.items}
    assert shown["Final value"] == (result.final_value, expected.final_value)
    assert shown["Total return"] == (pytest.approx(result.metrics["total_return"]), expected.metrics["total_return"])
    assert shown["Max drawdown"][1] == expected.metrics["max_drawdown"]
    assert shown["Sharpe ratio"][1] == expected.metrics["sharpe"]
    equity_chart, drawdown_chart = [b for s in document.sections for b in s.blocks if isinstance(b, LineChart)]
    assert list(equity_chart.series) == ["Strategy", BUY_AND_HOLD]
    assert equity_chart.series[BUY_AND_HOLD] == pytest.approx(expected.equity.tolist())
    assert len(equity_chart.series["Strategy"]) == len(equity_chart.x) == len(result.equity)
    assert list(drawdown_chart.series) == ["Strategy", BUY_AND_HOLD]
    # The tabular formats carry both columns.
    table = next(t for t in document.tables() if t.name == "metrics")
    assert [c.title for c in table.columns] == ["Metric", "Strategy", BUY_AND_HOLD]


def test_report_says_why_buy_and_hold_is_missing(engine: Engine) -> None:
    # The run's bars were never stored (a CSV backtest): no comparison against other bars.
    bars = {"ZZZ": _wave(60, 0.5)}
    run_id = save_backtest(engine, run_backtest(bars, SmaCross(5, 15, Decimal(10)), BacktestConfig()))
    document = build_backtest_report(engine, run_id)
    texts = [b.text for s in document.sections for b in s.blocks if isinstance(b, Paragraph)]
    assert any(t.startswith("Buy-and-hold is not shown: the bars this backtest ran on are not stored") for t in texts)
    (metrics,) = [b for s in document.sections for b in s.blocks if isinstance(b, KeyValues)]
    assert metrics.value_titles == ("Value",)


def test_partly_closed_trip_in_the_backtest_report(engine: Engine) -> None:
    """Bought 10 at 40, sold 5 at 42, last close 45: 5 still open at an average 40, marked at 45."""
    frame = _frame([40, 41, 43, 44], [40.5, 42, 44, 45])
    series = {"AAA": BarSeries.from_frame("AAA", frame)}
    fills = [
        Fill("f1", "o1", "AAA", "buy", Decimal(10), Decimal(40), Decimal("1.00"), DAY0),
        Fill("f2", "o2", "AAA", "sell", Decimal(5), Decimal(42), Decimal("1.00"), DAY0 + timedelta(days=1)),
    ]
    cash = Decimal(1_000)
    equity = equity_curve(series, fills, cash)
    last_close = {"AAA": Decimal(45)}
    trades = trades_from_fills(fills, last_close, {"AAA": DAY0 + timedelta(days=3)})
    final_cash = cash - 400 - 1 + 210 - 1
    final_value = final_cash + 5 * 45
    result = BacktestResult(
        strategy="by_hand", parameters={}, symbols=["AAA"], initial_cash=cash, final_cash=final_cash,
        final_value=final_value, fills=fills, trades=trades, equity=equity,
        metrics=compute_metrics(equity, trades, fills, cash, final_value, series), orders=2, risk_rejections=0,
        start=DAY0, end=DAY0 + timedelta(days=3),
    )  # fmt: skip
    tables = {t.name: t for t in build_backtest_report(engine, save_backtest(engine, result)).tables()}
    (trade,) = tables["trades"].rows
    assert (trade["quantity"], trade["open_quantity"]) == (10, 5)
    assert trade["status"] == "partly closed, rest open (marked)"
    assert trade["pnl"] == 5 * 2 + 5 * 5 - 2  # realised 10, marked 25, commission 2
    (position,) = tables["positions"].rows
    assert (position["quantity"], position["average_price"], position["mark"]) == (5, 40, 45)
    assert position["unrealised_pnl"] == 25
