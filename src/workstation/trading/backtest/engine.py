"""The backtester: a strategy over bars through the same order manager, risk checks and paper broker.

Signals are computed vectorised per symbol; the event loop then visits only the bars where
something can happen (a strategy decision, or a bar on which a working order may fill), in time
order across symbols so that cash is shared correctly. Orders and fills take the one real path:
strategy → risk → OrderManager → PaperBroker(mode="backtest").
"""

from __future__ import annotations

import gc
import heapq
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from workstation.errors import WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.trading.backtest.decisions import BacktestLineage, Decision
from workstation.trading.backtest.metrics import EPOCH, Trade, compute_metrics, epoch_ns, trades_from_fills
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
    # The orders and decisions behind the fills, stored as backtest_orders rows when the run is saved.
    lineage: BacktestLineage | None = None

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
                    "order_id": f.order_id,
                    "fill_id": f.fill_id,
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


def run_backtest(
    bars: Mapping[str, pd.DataFrame],
    strategy: Strategy,
    config: BacktestConfig | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BacktestResult:
    # A backtest allocates many small objects (orders, fills, events, Decimals) that hold no cycles;
    # the cyclic GC would rescan them again and again (10 % of a 1,000-symbol run), so it pauses.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_backtest(bars, strategy, config or BacktestConfig(), progress, cancel)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run_backtest(
    bars: Mapping[str, pd.DataFrame],
    strategy: Strategy,
    config: BacktestConfig,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> BacktestResult:
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
        id_factory=_sequential_ids("bt"),
    )
    names = list(series)
    total_events = 0
    heap: list[tuple[int, int, int]] = []
    feeds: list[_Feed] = []
    for k, name in enumerate(names):
        feed = _Feed(series[name], np.asarray(strategy.prepare(series[name]), dtype=np.int64))
        feeds.append(feed)
        total_events += len(feed.decisions)
        if len(feed.decisions):
            first_index = int(feed.decisions[0])
            heap.append((int(feed.stamps[first_index]), k, first_index))
    heapq.heapify(heap)
    total_events = total_events or 1
    decisions: dict[str, Decision] = {}
    rejections = _run_events(
        heap, names, feeds, strategy, manager, broker, clock_now, total_events, progress, cancel, decisions
    )
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
        lineage=BacktestLineage(store.orders(), store.events, decisions, getattr(strategy, "signal_detail", None)),
    )


def equity_curve(series: Mapping[str, BarSeries], fills: list[Fill], cash: Decimal) -> pd.Series:
    """Portfolio value on every bar close of the union timeline: cash + Σ position × close."""
    if len(series) == 1:
        timeline = next(iter(series.values())).index
    else:
        stamps_union = np.unique(np.concatenate([s.index.asi8 for s in series.values()]))
        timeline = pd.DatetimeIndex(pd.to_datetime(stamps_union, utc=True)).as_unit("ns")
    stamps = timeline.asi8
    cash_flow = np.zeros(len(stamps))
    value = np.zeros(len(stamps))
    if fills:
        fill_times = np.array([epoch_ns(f.timestamp) for f in fills], dtype=np.int64)
        sign = np.array([1.0 if f.side == "buy" else -1.0 for f in fills])
        traded = np.array([float(f.quantity * f.price) for f in fills])
        commission = np.array([float(f.commission) for f in fills])
        signed = sign * np.array([float(f.quantity) for f in fills])
        np.add.at(cash_flow, np.searchsorted(stamps, fill_times), -sign * traded - commission)
        symbols = np.array([f.symbol for f in fills])
        for name, s in series.items():
            mine = symbols == name
            if not mine.any():
                continue
            delta = np.zeros(len(s))
            np.add.at(delta, np.searchsorted(s.index.asi8, fill_times[mine]), signed[mine])
            held = np.cumsum(delta) * s.close
            if len(s) == len(stamps):
                value += held
            else:
                value += pd.Series(held, index=s.index).reindex(timeline).ffill().fillna(0.0).to_numpy()
    return pd.Series(float(cash) + np.cumsum(cash_flow) + value, index=timeline, name="equity")


def _sequential_ids(prefix: str) -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter):07d}"


def _fast_price(value: float) -> Decimal:
    # Exact for prices stored to six decimals; four times cheaper than quantize() in the hot loop.
    return Decimal(repr(round(value, 6)))


class _Feed:
    """One symbol's arrays plus where the loop is in its decision list.

    The loop touches only a few bars per symbol (decisions and the bars after them), so prices are
    read from the arrays on demand instead of converting whole columns to Python objects.
    """

    __slots__ = ("close", "decisions", "high", "low", "open", "pointer", "series", "stamps", "volume")

    def __init__(self, series: BarSeries, decisions: np.ndarray) -> None:
        self.series = series
        self.decisions: list[int] = decisions.tolist()
        self.pointer = 0
        self.stamps = series.index.asi8
        self.open, self.high, self.low = series.open, series.high, series.low
        self.close, self.volume = series.close, series.volume

    def time(self, i: int) -> datetime:
        return EPOCH + timedelta(microseconds=int(self.stamps[i]) // 1000)

    def bar(self, i: int, when: datetime) -> Bar:
        return Bar(
            when,
            _fast_price(float(self.open[i])),
            _fast_price(float(self.high[i])),
            _fast_price(float(self.low[i])),
            _fast_price(float(self.close[i])),
            Decimal(int(self.volume[i])),
        )


def _run_events(
    heap: list[tuple[int, int, int]],
    names: list[str],
    feeds: list[_Feed],
    strategy: Strategy,
    manager: OrderManager,
    broker: PaperBroker,
    clock_now: list[datetime],
    total_events: int,
    progress: ProgressCallback,
    cancel: CancelToken | None,
    decided: dict[str, Decision],
) -> int:
    done = rejections = 0
    needs_equity = bool(getattr(strategy, "needs_equity", False))
    while heap:
        _, k, i = heapq.heappop(heap)
        name, feed = names[k], feeds[k]
        now = clock_now[0] = feed.time(i)
        bar: Bar | None = None
        working = broker.has_working(name)
        if working:
            bar = feed.bar(i, now)
            broker.on_bar(name, bar)
            working = broker.has_working(name)
        decisions = feed.decisions
        if feed.pointer < len(decisions) and decisions[feed.pointer] == i:
            feed.pointer += 1
            done += 1
            if needs_equity and not working:
                # Sizing by equity needs this symbol marked to this bar (others keep their latest mark).
                bar = bar or feed.bar(i, now)
                broker.on_bar(name, bar)
            context = DecisionContext(
                position=manager.book.quantity(name),
                has_open_orders=working,
                equity=broker.account().equity if needs_equity else ZERO,
                cash=broker.cash,
            )
            requests = strategy.decide(feed.series, i, context)
            if requests and not working:
                # The broker prices (and checks buying power) against the bar the decision was made on.
                broker.last_bars[name] = bar or feed.bar(i, now)
            for request in requests:
                try:
                    order = manager.submit(request)
                except RiskRejectedError:
                    rejections += 1
                    continue
                # Kept so a stored fill can be explained (converted only when the run is saved).
                decided[order.order_id] = Decision(now, feed.series, i)
            working = broker.has_working(name)
            if done % 1024 == 0:
                progress(ProgressUpdate(done, total_events, name))
                if cancel is not None:
                    cancel.raise_if_cancelled()
        length = len(feed.close)
        upcoming = decisions[feed.pointer] if feed.pointer < len(decisions) else length
        if working and i + 1 < length:
            upcoming = min(upcoming, i + 1)
        if upcoming < length:
            heapq.heappush(heap, (int(feed.stamps[upcoming]), k, upcoming))
    return rejections
