"""The live and replay loop: on each new bar → features → prediction → strategy → risk → orders → fills.

Every bar of every symbol runs under its own correlation id, so the features, the prediction, the
signal, the risk verdict, the order and its fills can be followed together in the logs.

* Live: the market-data feed announces every bar it stores (market.notify: LISTEN/NOTIFY on
  PostgreSQL, a short poll of the announcements on SQLite); on an announcement for our interval the
  new bars are read from ``market_data`` and the feature and prediction steps run for each; orders go
  to the session's broker. Without announcements (bars written by an ingest) the store is read every
  ``poll_seconds`` anyway.
* Replay: stored history is fed bar by bar, in time order across symbols, at ``speed`` × real time
  (0 = as fast as possible), through a paper broker named "replay" so that its orders never mix
  with the paper account. Without steps, the stored predictions of each bar are used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from workstation.db.trading import Prediction
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.market.bars import load_bars
from workstation.market.notify import BarSubscriber
from workstation.monitoring.correlation import correlation_scope
from workstation.trading.brokers.paper import Bar, PaperBroker
from workstation.trading.domain import Order, RiskRejectedError, TradingError, TradingEventRecord, to_price
from workstation.trading.order_manager import OrderManager
from workstation.trading.strategies.base import DecisionContext
from workstation.trading.strategies.model import ModelStrategy, Signal, realised_volatility

log = logging.getLogger(__name__)

# A step gets the symbol and the bar's timestamp; the CLI adapts the features and ML entry points.
BarStep = Callable[[str, datetime], None]


@dataclass
class BarOutcome:
    symbol: str
    timestamp: datetime
    correlation_id: str
    signal: Signal | None = None
    orders: list[Order] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class TradingLoop:
    def __init__(
        self,
        engine: Engine,
        manager: OrderManager,
        strategy: ModelStrategy,
        *,
        interval: str = "1d",
        build_features: BarStep | None = None,
        predict: BarStep | None = None,
        history: int = 60,
    ) -> None:
        self.engine = engine
        self.manager = manager
        self.strategy = strategy
        self.interval = interval
        self.build_features = build_features
        self.predict = predict
        self.history = history
        self._closes: dict[str, list[float]] = {}
        self.last_seen: dict[str, datetime] = {}

    # ---------------------------------------------------------------- one bar
    def on_bar(self, symbol: str, bar: Bar) -> BarOutcome:
        with correlation_scope(prefix="bar", inherit=False) as cid:
            outcome = BarOutcome(symbol, bar.timestamp, cid)
            previous_bar = self.last_seen.get(symbol)
            self.last_seen[symbol] = bar.timestamp
            closes = self._closes.setdefault(symbol, [])
            closes.append(float(bar.close))
            del closes[: -self.history - 1]
            broker = self.manager.broker
            if isinstance(broker, PaperBroker):
                broker.on_bar(symbol, bar)  # working orders may fill on this bar first
            if self.build_features is not None:
                self.build_features(symbol, bar.timestamp)
            if self.predict is not None:
                self.predict(symbol, bar.timestamp)
            signal = latest_signal(
                self.engine, self.strategy.config.model_id, symbol, bar.timestamp, not_before=previous_bar
            )
            outcome.signal = signal
            if signal is None:
                log.info("no prediction of %s for %s at %s", self.strategy.config.model_id, symbol, bar.timestamp)
                return outcome
            self.manager.store.record_events(
                [
                    TradingEventRecord(
                        "signal_generated",
                        symbol=symbol,
                        price=bar.close,
                        strategy=self.strategy.name,
                        correlation_id=cid,
                        metadata={
                            "model_id": self.strategy.config.model_id,
                            "prediction_value": signal.value,
                            "confidence": signal.confidence,
                            "bar": bar.timestamp,
                        },
                        timestamp=self.manager.clock(),
                    )
                ]
            )
            context = DecisionContext(
                position=self.manager.position_quantity(symbol),
                has_open_orders=any(o.symbol == symbol for o in self.manager.open_orders()),
                equity=broker.account().equity if self.strategy.config.sizing == "volatility" else Decimal(0),
                cash=Decimal(0),
            )
            volatility = realised_volatility(np.array(closes), self.strategy.config.volatility_window)
            for request in self.strategy.orders_for(symbol, signal, bar.close, volatility, context):
                try:
                    outcome.orders.append(self.manager.submit(request))
                except RiskRejectedError as exc:
                    outcome.rejected.append(exc.reason)
                except TradingError as exc:
                    outcome.rejected.append(str(exc))
                    log.error("order for %s failed: %s", symbol, exc)
            return outcome

    # ---------------------------------------------------------------- live: poll stored bars
    def poll_once(self, symbols: Iterable[str]) -> list[BarOutcome]:
        """Run the pipeline for every bar stored since the last one seen (the first poll only primes)."""
        outcomes: list[BarOutcome] = []
        for symbol in symbols:
            since = self.last_seen.get(symbol)
            frame = load_bars(self.engine, symbol, self.interval, start=since)
            if frame.empty:
                continue
            if since is None:
                # Prime the volatility window and start from the newest bar onwards.
                self._closes[symbol] = [float(c) for c in frame["close"].to_numpy()[-self.history - 1 :]]
                self.last_seen[symbol] = frame.index[-1].to_pydatetime()
                continue
            for bar in bars_from_frame(frame[frame.index > pd.Timestamp(since)]):
                outcomes.append(self.on_bar(symbol, bar))
        return outcomes

    def run_live(
        self,
        symbols: list[str],
        *,
        poll_seconds: float = 5.0,
        cancel: CancelToken | None = None,
        on_outcome: Callable[[BarOutcome], None] | None = None,
        bars: BarSubscriber | None = None,
    ) -> None:
        """Run the pipeline on every new bar until cancelled: woken by the feed's announcements (``bars``,
        by default a subscriber to this loop's symbols and interval), else every ``poll_seconds``."""
        subscriber = bars or BarSubscriber(self.engine, symbols=symbols, intervals=(self.interval,))
        try:
            while cancel is None or not cancel.cancelled:
                for outcome in self.poll_once(symbols):
                    if on_outcome is not None:
                        on_outcome(outcome)
                deadline = time.monotonic() + poll_seconds
                while time.monotonic() < deadline and not (cancel is not None and cancel.cancelled):
                    if subscriber.wait(min(0.5, max(0.0, deadline - time.monotonic()))):
                        break  # new bars announced: read them now
        finally:
            if bars is None:
                subscriber.close()

    # ---------------------------------------------------------------- replay
    def replay(
        self,
        symbols: list[str],
        start: datetime,
        end: datetime,
        *,
        speed: float = 0.0,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        on_outcome: Callable[[BarOutcome], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> list[BarOutcome]:
        stream: list[tuple[datetime, str, Bar]] = []
        for symbol in symbols:
            frame = load_bars(self.engine, symbol, self.interval, start=start, end=end)
            stream.extend((bar.timestamp, symbol, bar) for bar in bars_from_frame(frame))
        stream.sort(key=lambda item: (item[0], item[1]))
        outcomes: list[BarOutcome] = []
        previous: datetime | None = None
        for done, (when, symbol, bar) in enumerate(stream, start=1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            if speed > 0 and previous is not None and when > previous:
                sleep((when - previous).total_seconds() / speed)
            previous = when
            outcome = self.on_bar(symbol, bar)
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            progress(ProgressUpdate(done, len(stream), f"{symbol} {when:%Y-%m-%d %H:%M}"))
        return outcomes


def bars_from_frame(frame: pd.DataFrame) -> list[Bar]:
    return [
        Bar(
            pd.Timestamp(ts).to_pydatetime(),
            to_price(float(o)),
            to_price(float(h)),
            to_price(float(low)),
            to_price(float(c)),
            Decimal(int(v)),
        )
        for ts, o, h, low, c, v in zip(
            frame.index, frame["open"], frame["high"], frame["low"], frame["close"], frame["volume"], strict=True
        )
    ]


def latest_signal(
    engine: Engine, model_id: str, symbol: str, at: datetime, *, not_before: datetime | None = None
) -> Signal | None:
    """The newest prediction of ``model_id`` for ``symbol`` for a bar at or before ``at``.

    With ``not_before`` (the previous bar), a prediction older than this bar's interval is stale
    and ignored: acting on yesterday's forecast as if it were today's is how accidents happen.
    """
    query = select(Prediction.prediction_value, Prediction.confidence, Prediction.prediction_type).where(
        Prediction.model_id == model_id, Prediction.symbol == symbol, Prediction.timestamp <= at
    )
    if not_before is not None:
        query = query.where(Prediction.timestamp > not_before)
    query = query.order_by(Prediction.timestamp.desc(), Prediction.id.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return Signal(Decimal(row[0]), Decimal(row[1]) if row[1] is not None else None, str(row[2]))
