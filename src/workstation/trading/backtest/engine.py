"""The backtester: a strategy over bars through the same order manager, risk checks and paper broker.

Signals are computed vectorised per symbol; the event loop then visits only the bars where
something can happen (a strategy decision, or a bar on which a working order may fill), in time
order across symbols so that cash is shared correctly. Orders and fills take the one real path:
strategy → risk → OrderManager → PaperBroker(mode="backtest").
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from workstation.errors import WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.trading.backtest.metrics import Trade, compute_metrics, trades_from_fills
from workstation.trading.brokers.paper import Bar, CommissionModel, PaperBroker, PaperConfig
from workstation.trading.domain import ZERO, Fill, RiskRejectedError, to_price
from workstation.trading.order_manager import OrderManager
from workstation.trading.repository import MemoryOrderStore
from workstation.trading.risk import RiskEngine, RiskLimits
from workstation.trading.strategies.base import BarSeries, DecisionContext, Strategy


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    cash: Decimal = Decimal(100_000)
    commission: CommissionModel = field(default_factory=CommissionModel)
    slippage_bps: Decimal = ZERO
    max_volume_share: Decimal | None = None
    risk: RiskLimits = field(default_factory=RiskLimits)


@dataclass
class BacktestResult:
    strategy: str
    parameters: dict[str, Any]
    symbols: list[str]
    initial_cash: Decimal
    final_cash: Decimal
    final_value: Decimal
    fills: list[Fill]
    trades: list[Trade]
    equity: pd.Series
    metrics: dict[str, float | None]
    orders: int
    risk_rejections: int
    start: datetime | None
    end: datetime | None
    run_id: str | None = None

    @property
    def total_return(self) -> float:
        return float(self.final_value / self.initial_cash - 1)

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "strategy": self.strategy,
            "parameters": self.parameters,
            "symbols": self.symbols,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "initial_cash": float(self.initial_cash),
            "final_value": float(self.final_value),
            "final_cash": float(self.final_cash),
            "total_return": self.total_return,
            "fills": [
                {
                    "timestamp": f.timestamp.isoformat(),
                    "symbol": f.symbol,
                    "side": f.side,
                    "quantity": _number(f.quantity),
                    "price": float(f.price),
                    "commission": float(f.commission),
                }
                for f in self.fills
            ],
            "trades": [t.as_json() for t in self.trades],
            "metrics": self.metrics,
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _bar(series: BarSeries, i: int, when: datetime) -> Bar:
    return Bar(
        when,
        to_price(float(series.open[i])),
        to_price(float(series.high[i])),
        to_price(float(series.low[i])),
        to_price(float(series.close[i])),
        Decimal(int(series.volume[i])),
    )


def run_backtest(
    bars: Mapping[str, pd.DataFrame],
    strategy: Strategy,
    config: BacktestConfig | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BacktestResult:
    config = config or BacktestConfig()
    series = {s: BarSeries.from_frame(s, f) for s, f in bars.items() if len(f)}
    if not series:
        raise WorkstationError("no bars to backtest: the symbol has no stored bars in that range")
    clock_now: list[datetime] = [next(iter(series.values())).index[0].to_pydatetime()]

    def clock() -> datetime:
        return clock_now[0]

    broker = PaperBroker(
        config.cash,
        PaperConfig(
            mode="backtest",
            slippage_bps=config.slippage_bps,
            max_volume_share=config.max_volume_share,
            commission=config.commission,
        ),
        clock=clock,
    )
    store = MemoryOrderStore()
    manager = OrderManager(
        store,
        broker,
        risk=RiskEngine(config.risk),
        clock=clock,
        crash_hook=lambda _point: None,
        load_history=False,
        id_prefix="bt",
    )
    names = list(series)
    events: list[np.ndarray] = []
    pointers = [0] * len(names)
    stamps: list[np.ndarray] = []
    heap: list[tuple[int, int, int]] = []
    for k, name in enumerate(names):
        s = series[name]
        decisions = np.asarray(strategy.prepare(s), dtype=np.int64)
        events.append(decisions)
        stamps.append(s.index.asi8)
        if len(decisions):
            heap.append((int(stamps[k][decisions[0]]), k, int(decisions[0])))
    heapq.heapify(heap)
    total_events = sum(len(e) for e in events) or 1
    done = rejections = 0
    while heap:
        _, k, i = heapq.heappop(heap)
        name, s = names[k], series[names[k]]
        when = s.index[i].to_pydatetime()
        clock_now[0] = when
        bar = _bar(s, i, when)
        if broker.has_working(name):
            broker.on_bar(name, bar)
        else:
            broker.last_bars[name] = bar
        decisions = events[k]
        if pointers[k] < len(decisions) and decisions[pointers[k]] == i:
            pointers[k] += 1
            done += 1
            context = DecisionContext(
                position=manager.book.quantity(name),
                has_open_orders=broker.has_working(name),
                equity=broker.account().equity if getattr(strategy, "needs_equity", False) else ZERO,
                cash=broker.cash,
            )
            for request in strategy.decide(s, i, context):
                try:
                    manager.submit(request)
                except RiskRejectedError:
                    rejections += 1
            if done % 256 == 0:
                progress(ProgressUpdate(done, total_events, name))
                if cancel is not None:
                    cancel.raise_if_cancelled()
        upcoming = int(decisions[pointers[k]]) if pointers[k] < len(decisions) else len(s)
        if broker.has_working(name) and i + 1 < len(s):
            upcoming = min(upcoming, i + 1)
        if upcoming < len(s):
            heapq.heappush(heap, (int(stamps[k][upcoming]), k, upcoming))
    progress(ProgressUpdate(total_events, total_events, "done"))
    fills = sorted(store.fills(), key=lambda f: (f.timestamp, f.symbol))
    last_close = {n: to_price(float(series[n].close[-1])) for n in names}
    final_value = broker.cash + sum((p.quantity * last_close[p.symbol] for p in broker.book.open_positions()), ZERO)
    equity = equity_curve(series, fills, config.cash)
    trades = trades_from_fills(fills, last_close, {n: series[n].index[-1].to_pydatetime() for n in names})
    first = min(s.index[0] for s in series.values()).to_pydatetime()
    last = max(s.index[-1] for s in series.values()).to_pydatetime()
    metrics = compute_metrics(equity, trades, fills, config.cash, final_value, series)
    return BacktestResult(
        strategy=strategy.name,
        parameters=strategy.parameters(),
        symbols=names,
        initial_cash=config.cash,
        final_cash=broker.cash,
        final_value=final_value,
        fills=fills,
        trades=trades,
        equity=equity,
        metrics=metrics,
        orders=len(store.orders()),
        risk_rejections=rejections,
        start=first,
        end=last,
    )


def equity_curve(series: Mapping[str, BarSeries], fills: list[Fill], cash: Decimal) -> pd.Series:
    """Portfolio value on every bar close of the union timeline: cash + Σ position × close."""
    timeline = pd.DatetimeIndex(sorted(set().union(*(set(s.index.asi8) for s in series.values()))), tz="UTC")
    if len(series) == 1:
        timeline = next(iter(series.values())).index
    stamps = timeline.asi8
    cash_flow = np.zeros(len(stamps))
    value = np.zeros(len(stamps))
    by_symbol: dict[str, list[Fill]] = {}
    for fill in fills:
        by_symbol.setdefault(fill.symbol, []).append(fill)
        at = np.searchsorted(stamps, int(pd.Timestamp(fill.timestamp).value))
        signed = float(fill.quantity * fill.price)
        cash_flow[at] += (-signed if fill.side == "buy" else signed) - float(fill.commission)
    for name, s in series.items():
        symbol_fills = by_symbol.get(name)
        if not symbol_fills:
            continue
        delta = np.zeros(len(s))
        local = s.index.asi8
        for fill in symbol_fills:
            at = np.searchsorted(local, int(pd.Timestamp(fill.timestamp).value))
            delta[at] += float(fill.quantity) if fill.side == "buy" else -float(fill.quantity)
        held = np.cumsum(delta) * s.close
        if len(s) == len(stamps):
            value += held
        else:
            value += pd.Series(held, index=s.index).reindex(timeline).ffill().fillna(0.0).to_numpy()
    return pd.Series(float(cash) + np.cumsum(cash_flow) + value, index=timeline, name="equity")
