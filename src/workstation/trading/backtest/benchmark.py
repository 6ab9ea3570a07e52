"""Buy-and-hold: the benchmark a strategy has to beat, on the same symbols, bars and starting cash.

The cash is split equally across the symbols; each share is bought in whole shares at the open of the
symbol's first bar and held to the end, the rest of its share of the cash stays cash. No commission
or slippage. Equity, round trips and metrics come from the backtester's own definitions
(engine.equity_curve, metrics.trades_from_fills and metrics.compute_metrics), so every number compares
like with like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

import pandas as pd

from workstation.errors import WorkstationError
from workstation.trading.backtest.engine import equity_curve
from workstation.trading.backtest.metrics import compute_metrics, trades_from_fills
from workstation.trading.domain import ZERO, Fill, to_price
from workstation.trading.strategies.base import BarSeries


@dataclass(frozen=True, slots=True)
class BuyAndHold:
    initial_cash: Decimal
    final_cash: Decimal
    final_value: Decimal
    fills: list[Fill]
    equity: pd.Series
    metrics: dict[str, float | None]


def buy_and_hold(bars: Mapping[str, pd.DataFrame], cash: Decimal) -> BuyAndHold:
    series = {name: BarSeries.from_frame(name, frame) for name, frame in bars.items() if len(frame)}
    if not series:
        raise WorkstationError("no bars to hold")
    share = cash / len(series)
    fills: list[Fill] = []
    for name, bar_series in series.items():
        price = to_price(float(bar_series.open[0]))
        quantity = (share / price).to_integral_value(rounding=ROUND_FLOOR) if price > 0 else ZERO
        if quantity > 0:
            fills.append(
                Fill(
                    fill_id=f"buy-and-hold-{name}",
                    order_id=f"buy-and-hold-{name}",
                    symbol=name,
                    side="buy",
                    quantity=quantity,
                    price=price,
                    commission=ZERO,
                    timestamp=bar_series.index[0].to_pydatetime(),
                )
            )
    fills.sort(key=lambda f: (f.timestamp, f.symbol))
    last_close = {name: to_price(float(s.close[-1])) for name, s in series.items()}
    final_cash = cash - sum((f.quantity * f.price for f in fills), ZERO)
    final_value = final_cash + sum((f.quantity * last_close[f.symbol] for f in fills), ZERO)
    equity = equity_curve(series, fills, cash)
    trades = trades_from_fills(fills, last_close, {n: s.index[-1].to_pydatetime() for n, s in series.items()})
    metrics = compute_metrics(equity, trades, fills, cash, final_value, series)
    return BuyAndHold(cash, final_cash, final_value, fills, equity, metrics)
