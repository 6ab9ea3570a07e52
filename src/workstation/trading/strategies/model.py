"""``model``: stored predictions → target positions.

A prediction's direction is the sign of (prediction_value − neutral); ``neutral`` is 0 for signed
outputs (returns, ±1 directions) and 0.5 for probabilities. One position per symbol:
* flat → enter when the direction is up (or down, if shorting is allowed) with confidence ≥ ``entry_threshold``;
* in a position → exit when the direction flips or the confidence weakens below ``exit_threshold``;
  a flip with enough confidence reverses only when shorting is allowed.
Sizing: fixed shares, fixed notional, or volatility-targeted (annualised target volatility / the
symbol's recent realised volatility, as a share of equity, never more than ``max_leverage`` × equity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from workstation.db.trading import Prediction
from workstation.errors import ConfigurationError
from workstation.trading.domain import ZERO, OrderRequest
from workstation.trading.strategies.base import BarSeries, DecisionContext

Sizing = Literal["fixed_shares", "fixed_notional", "volatility"]


@dataclass(frozen=True, slots=True)
class ModelStrategyConfig:
    model_id: str
    entry_threshold: Decimal = Decimal("0.55")
    exit_threshold: Decimal = Decimal("0.5")
    sizing: Sizing = "fixed_shares"
    shares: Decimal = Decimal(100)
    notional: Decimal = Decimal(10_000)
    target_volatility: float = 0.15
    volatility_window: int = 20
    max_leverage: float = 1.0
    neutral: Decimal | None = None
    allow_short: bool = False

    def __post_init__(self) -> None:
        if self.exit_threshold > self.entry_threshold:
            raise ConfigurationError("the exit threshold must not exceed the entry threshold")
        if self.sizing not in ("fixed_shares", "fixed_notional", "volatility"):
            raise ConfigurationError(f"unknown sizing {self.sizing!r}: fixed_shares, fixed_notional or volatility")


@dataclass(frozen=True, slots=True)
class Signal:
    value: Decimal
    confidence: Decimal | None
    prediction_type: str
    # The stored prediction it came from: an explanation follows the order back to it.
    prediction_id: str | None = None
    predicted_at: datetime | None = None


def neutral_for(prediction_type: str) -> Decimal:
    return Decimal("0.5") if "prob" in prediction_type.lower() else ZERO


def realised_volatility(close: np.ndarray, window: int, periods_per_year: float = 252.0) -> float | None:
    if len(close) <= window:
        return None
    returns = np.diff(np.log(close[-(window + 1) :]))
    vol = float(np.std(returns, ddof=1)) * math.sqrt(periods_per_year)
    return vol if vol > 0 else None


@dataclass
class ModelStrategy:
    config: ModelStrategyConfig
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict)
    name: str = "model"
    needs_equity: bool = True
    _aligned: dict[str, dict[int, Signal]] = field(default_factory=dict, repr=False)

    def parameters(self) -> dict[str, object]:
        c = self.config
        return {
            "model_id": c.model_id,
            "entry_threshold": str(c.entry_threshold),
            "exit_threshold": str(c.exit_threshold),
            "sizing": c.sizing,
            "shares": str(c.shares),
            "notional": str(c.notional),
            "target_volatility": c.target_volatility,
            "allow_short": c.allow_short,
        }

    # -- backtests: align each stored prediction with the bar it was made on --
    def prepare(self, bars: BarSeries) -> np.ndarray:
        frame = self.predictions.get(bars.symbol)
        aligned: dict[int, Signal] = {}
        if frame is not None and len(frame):
            stamps = pd.DatetimeIndex(frame.index).tz_convert("UTC").as_unit("ns").asi8
            positions = np.searchsorted(bars.index.asi8, stamps, side="right") - 1
            ids = frame["prediction_id"] if "prediction_id" in frame else [None] * len(frame)
            columns = zip(frame["value"], frame["confidence"], frame["prediction_type"], ids, frame.index, strict=True)
            for at, (value, confidence, kind, prediction_id, when) in zip(positions, columns, strict=True):
                if at >= 0:
                    aligned[int(at)] = Signal(
                        Decimal(value),
                        None if confidence is None else Decimal(confidence),
                        str(kind),
                        prediction_id,
                        pd.Timestamp(when).to_pydatetime(),
                    )
        self._aligned[bars.symbol] = aligned
        return np.array(sorted(aligned), dtype=np.int64)

    def decide(self, bars: BarSeries, index: int, context: DecisionContext) -> list[OrderRequest]:
        signal = self._aligned.get(bars.symbol, {}).get(index)
        if signal is None or context.has_open_orders:
            return []
        price = Decimal(repr(float(bars.close[index])))
        vol = realised_volatility(bars.close[: index + 1], self.config.volatility_window)
        return self.orders_for(bars.symbol, signal, price, vol, context)

    def signal_detail(self, bars: BarSeries, index: int) -> dict[str, object] | None:
        """The stored prediction behind a decision at ``index`` (kept with a backtest's orders)."""
        signal = self._aligned.get(bars.symbol, {}).get(index)
        if signal is None:
            return None
        return {
            "kind": "prediction",
            "model_id": self.config.model_id,
            "prediction_id": signal.prediction_id,
            "prediction_value": signal.value,
            "confidence": signal.confidence,
            "prediction_type": signal.prediction_type,
            "predicted_at": signal.predicted_at,
            "entry_threshold": self.config.entry_threshold,
            "exit_threshold": self.config.exit_threshold,
        }

    # -- shared by backtest and live --
    def target(
        self, signal: Signal, price: Decimal, volatility: float | None, equity: Decimal, position: Decimal
    ) -> Decimal:
        c = self.config
        neutral = c.neutral if c.neutral is not None else neutral_for(signal.prediction_type)
        edge = signal.value - neutral
        direction = 1 if edge > 0 else -1 if edge < 0 else 0
        confidence = signal.confidence if signal.confidence is not None else Decimal(1)
        if position != 0:
            held = 1 if position > 0 else -1
            if direction == held and confidence >= c.exit_threshold:
                return position  # keep the one position; no resizing on every bar
            if direction == -held and confidence >= c.entry_threshold and c.allow_short:
                return direction * self.size(price, volatility, equity)
            return ZERO
        if direction == 0 or confidence < c.entry_threshold or (direction < 0 and not c.allow_short):
            return ZERO
        return direction * self.size(price, volatility, equity)

    def size(self, price: Decimal, volatility: float | None, equity: Decimal) -> Decimal:
        c = self.config
        if price <= 0:
            return ZERO
        if c.sizing == "fixed_shares":
            return c.shares
        if c.sizing == "fixed_notional":
            return (c.notional / price).to_integral_value(rounding=ROUND_FLOOR)
        if volatility is None or equity <= 0:
            return ZERO
        weight = min(c.target_volatility / volatility, c.max_leverage)
        return (equity * Decimal(repr(weight)) / price).to_integral_value(rounding=ROUND_FLOOR)

    def orders_for(
        self, symbol: str, signal: Signal, price: Decimal, volatility: float | None, context: DecisionContext
    ) -> list[OrderRequest]:
        target = self.target(signal, price, volatility, context.equity, context.position)
        delta = target - context.position
        if delta == 0:
            return []
        side: Literal["buy", "sell"] = "buy" if delta > 0 else "sell"
        return [
            OrderRequest(
                symbol, side, abs(delta), strategy=self.name, model_id=self.config.model_id, time_in_force="gtc"
            )
        ]


def load_predictions(
    engine: Engine,
    model_id: str,
    symbols: list[str],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, pd.DataFrame]:
    """Stored predictions per symbol: UTC index, columns value, confidence, prediction_type."""
    query = select(
        Prediction.symbol,
        Prediction.timestamp,
        Prediction.prediction_value,
        Prediction.confidence,
        Prediction.prediction_type,
        Prediction.prediction_id,
    ).where(Prediction.model_id == model_id, Prediction.symbol.in_(symbols))
    if start is not None:
        query = query.where(Prediction.timestamp >= start)
    if end is not None:
        query = query.where(Prediction.timestamp <= end)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(Prediction.symbol, Prediction.timestamp, Prediction.id)).all()
    result: dict[str, pd.DataFrame] = {}
    for symbol in symbols:
        mine = [r for r in rows if r.symbol == symbol]
        frame = pd.DataFrame(
            {
                "value": [Decimal(r.prediction_value) for r in mine],
                "confidence": [Decimal(r.confidence) if r.confidence is not None else None for r in mine],
                "prediction_type": [r.prediction_type for r in mine],
                "prediction_id": [r.prediction_id for r in mine],
            },
            index=pd.DatetimeIndex([r.timestamp for r in mine], name="timestamp"),
        )
        result[symbol] = frame[~frame.index.duplicated(keep="last")]
    return result
