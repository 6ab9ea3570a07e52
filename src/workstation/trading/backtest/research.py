"""What the backtest panel runs and shows, without Qt: a backtest request over stored bars, the run with
its buy-and-hold comparison, and a stored run loaded back the same way.

Buy-and-hold holds the same symbols with the same starting cash split equally between them, bought at
each symbol's first close with the run's commission model and never sold; the benchmark is the same
for one symbol (e.g. SPY) over the run's dates. Both are marked to every close of the run's timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from workstation.errors import InvalidInputError, RefusedError, WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, no_progress
from workstation.market.bars import load_bars
from workstation.trading.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from workstation.trading.backtest.inputs import stored_bars
from workstation.trading.backtest.store import load_backtest, save_backtest
from workstation.trading.brokers.paper import CommissionModel
from workstation.trading.strategies.base import Strategy
from workstation.trading.strategies.model import ModelStrategy, ModelStrategyConfig, load_predictions
from workstation.trading.strategies.sma_cross import SmaCross


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    strategy: str  # "sma_cross" or "model"
    symbols: tuple[str, ...]
    interval: str = "1d"
    start: datetime | None = None
    end: datetime | None = None
    fast: int = 15
    slow: int = 30
    quantity: Decimal = Decimal(1000)
    model_id: str | None = None
    threshold: Decimal = Decimal("0.55")
    exit_threshold: Decimal = Decimal("0.5")
    config: BacktestConfig = field(default_factory=BacktestConfig)
    benchmark: str | None = None


@dataclass
class RunView:
    """A run as the panel shows it: metrics, equity, trades and the curves it is compared with."""

    run_id: str | None
    strategy: str
    parameters: dict[str, Any]
    symbols: list[str]
    interval: str
    initial_cash: float
    final_value: float
    metrics: dict[str, float | None]
    equity: pd.Series
    trades: list[dict[str, Any]]
    buy_and_hold: pd.Series | None = None
    benchmark: pd.Series | None = None
    benchmark_symbol: str | None = None
    created_at: datetime | None = None


def request_bars(engine: Engine, request: BacktestRequest) -> dict[str, pd.DataFrame]:
    if not request.symbols:
        raise InvalidInputError("choose at least one symbol (select them in the watchlist)")
    return {s: stored_bars(engine, s, request.interval, start=request.start, end=request.end) for s in request.symbols}


def build_strategy(engine: Engine, request: BacktestRequest, bars: Mapping[str, pd.DataFrame]) -> Strategy:
    if request.strategy == "sma_cross":
        return SmaCross(request.fast, request.slow, request.quantity)
    if request.strategy != "model":
        raise InvalidInputError(f"unknown strategy {request.strategy!r}")
    if not request.model_id:
        raise InvalidInputError("the model strategy needs a model")
    config = ModelStrategyConfig(
        model_id=request.model_id,
        entry_threshold=request.threshold,
        exit_threshold=request.exit_threshold,
        shares=request.quantity,
    )
    predictions = load_predictions(engine, config.model_id, list(bars), start=request.start, end=request.end)
    if not any(len(p) for p in predictions.values()):
        raise RefusedError(f"model {config.model_id} has no stored predictions for {', '.join(bars)}")
    return ModelStrategy(config, predictions)


def run_request(
    engine: Engine,
    request: BacktestRequest,
    *,
    save: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RunView:
    bars = request_bars(engine, request)
    strategy = build_strategy(engine, request, bars)
    if cancel is not None:
        cancel.raise_if_cancelled()
    result = run_backtest(bars, strategy, request.config, progress=progress, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()  # a cancelled run is not stored
    result.parameters = dict(result.parameters) | {"interval": request.interval} | _cost_parameters(request.config)
    if save:
        save_backtest(engine, result, model_id=request.model_id if request.strategy == "model" else None)
    view = _view_of(result, request.interval)
    view.buy_and_hold = buy_and_hold(bars, request.config.cash, request.config.commission, view.equity.index)
    if request.benchmark:
        view.benchmark_symbol = request.benchmark.upper()
        view.benchmark = benchmark_curve(engine, view, request.config.cash, request.config.commission)
    return view


def _cost_parameters(config: BacktestConfig) -> dict[str, str]:
    return {
        "cash": str(config.cash),
        "commission_rate": str(config.commission.rate),
        "commission_per_share": str(config.commission.per_share),
        "commission_min": str(config.commission.minimum),
        "slippage_bps": str(config.slippage_bps),
    }


def _view_of(result: BacktestResult, interval: str) -> RunView:
    return RunView(
        run_id=result.run_id,
        strategy=result.strategy,
        parameters=dict(result.parameters),
        symbols=list(result.symbols),
        interval=interval,
        initial_cash=float(result.initial_cash),
        final_value=float(result.final_value),
        metrics=dict(result.metrics),
        equity=result.equity,
        trades=[_trade_row(t.as_json()) for t in result.trades],
    )


def _trade_row(trade: Mapping[str, Any]) -> dict[str, Any]:
    def when(value: Any) -> datetime | None:
        return None if value is None else pd.Timestamp(value).tz_convert("UTC").to_pydatetime()

    return {
        "symbol": str(trade["symbol"]),
        "direction": str(trade["direction"]),
        "quantity": float(trade["quantity"]),
        "entry_time": when(trade["entry_time"]),
        "entry_price": float(trade["entry_price"]),
        "exit_time": when(trade["exit_time"]),
        "exit_price": float(trade["exit_price"]),
        "pnl": float(trade["pnl"]),
        "is_open": bool(trade.get("open", trade.get("is_open", False))),
    }


def load_run_view(engine: Engine, run_id: str, benchmark: str | None = None) -> RunView:
    """A stored run with buy-and-hold recomputed from the stored bars of its symbols and dates."""
    stored = load_backtest(engine, run_id)
    run = stored["run"]
    parameters = dict(run.get("parameters") or {})
    interval = str(parameters.get("interval") or "1d")
    equity = stored["equity"]
    if len(equity) and equity.index.tz is None:
        equity.index = equity.index.tz_localize("UTC")
    metrics = {k: (None if v is None else float(v)) for k, v in (run.get("metrics") or {}).items()}
    view = RunView(
        run_id=str(run["run_id"]),
        strategy=str(run["strategy"]),
        parameters=parameters,
        symbols=[str(s) for s in run.get("symbols") or []],
        interval=interval,
        initial_cash=float(run["initial_cash"]),
        final_value=float(run["final_value"]),
        metrics=metrics,
        equity=equity,
        trades=sorted((_trade_row(t) for t in stored["trades"]), key=lambda t: t["entry_time"]),
        created_at=run.get("created_at"),
    )
    cash = Decimal(str(run["initial_cash"]))
    commission = CommissionModel(
        per_share=Decimal(str(parameters.get("commission_per_share", "0"))),
        rate=Decimal(str(parameters.get("commission_rate", "0"))),
        minimum=Decimal(str(parameters.get("commission_min", "0"))),
    )
    if len(equity):
        start, end = equity.index[0].to_pydatetime(), equity.index[-1].to_pydatetime()
        bars = {s: load_bars(engine, s, interval, start=start, end=end) for s in view.symbols}
        bars = {s: f for s, f in bars.items() if len(f)}
        if bars:
            view.buy_and_hold = buy_and_hold(bars, cash, commission, equity.index)
        if benchmark:
            view.benchmark_symbol = benchmark.upper()
            view.benchmark = benchmark_curve(engine, view, cash, commission)
    return view


def buy_and_hold(
    bars: Mapping[str, pd.DataFrame], cash: Decimal, commission: CommissionModel, timeline: pd.Index
) -> pd.Series:
    """Equal cash per symbol, whole shares bought at the first close (commission paid), held to the end."""
    index = pd.DatetimeIndex(timeline)
    share = cash / len(bars)
    value = np.full(len(index), float(cash))
    for frame in bars.values():
        close = frame["close"].astype(float)
        close.index = pd.DatetimeIndex(close.index).tz_convert("UTC")
        first = Decimal(repr(float(close.iloc[0])))
        shares = (share / first).to_integral_value(rounding=ROUND_FLOOR) if first > 0 else Decimal(0)
        while shares > 0 and shares * first + commission(shares, first) > share:
            shares -= 1
        spent = float(shares * first + (commission(shares, first) if shares else 0))
        marked = close.reindex(index.union(close.index)).ffill().reindex(index)
        held = np.where(index >= close.index[0], float(shares) * marked.fillna(0.0).to_numpy() - spent, 0.0)
        value += held
    return pd.Series(value, index=index, name="buy_and_hold")


def benchmark_curve(engine: Engine, view: RunView, cash: Decimal, commission: CommissionModel) -> pd.Series | None:
    if view.benchmark_symbol is None or not len(view.equity):
        return None
    index = view.equity.index
    frame = load_bars(
        engine, view.benchmark_symbol, view.interval, start=index[0].to_pydatetime(), end=index[-1].to_pydatetime()
    )
    if frame.empty:
        raise WorkstationError(f"no stored {view.interval} bars of the benchmark {view.benchmark_symbol}")
    return buy_and_hold({view.benchmark_symbol: frame}, cash, commission, index).rename("benchmark")


def drawdown(equity: pd.Series) -> pd.Series:
    """Fraction below the running peak (0 at a new high, 0.25 a quarter below it)."""
    values = equity.to_numpy(dtype=np.float64)
    if not len(values):
        return equity.copy()
    peak = np.maximum.accumulate(values)
    return pd.Series(1 - values / peak, index=equity.index, name="drawdown")
