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

The live loop survives outages: when the database is unreachable it backs off and retries (trading
events it could not write wait in memory, broker reports wait in the order manager's backlog, and a
reconciliation runs once the database is back); broker errors are reported and retried the same
way. A bar is marked seen once its decision is made, so a bar interrupted before that is processed
again, and one that already led to orders is never processed twice.
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
from workstation.trading.brokers.paper import Bar
from workstation.trading.domain import (
    Order,
    OrderOutcomeUnknownError,
    RiskRejectedError,
    TradingError,
    TradingEventRecord,
    to_price,
)
from workstation.trading.order_manager import DATABASE_ERRORS, OrderManager
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
    unknown: list[str] = field(default_factory=list)  # orders that may have reached the broker


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
        # Trading events that could not be written (database down), written first when it is back.
        self.pending_events: list[TradingEventRecord] = []

    def _record(self, events: list[TradingEventRecord]) -> None:
        self.pending_events.extend(events)
        try:
            self.manager.store.record_events(self.pending_events)
        except DATABASE_ERRORS as exc:
            log.warning("database unavailable; %d trading event(s) kept for later: %s", len(self.pending_events), exc)
            return
        self.pending_events = []

    # ---------------------------------------------------------------- one bar
    def on_bar(self, symbol: str, bar: Bar) -> BarOutcome:
        with correlation_scope(prefix="bar", inherit=False) as cid:
            outcome = BarOutcome(symbol, bar.timestamp, cid)
            previous_bar = self.last_seen.get(symbol)
            self.manager.on_bar(symbol, bar)  # a local broker's working orders may fill on this bar first
            if self.build_features is not None:
                self.build_features(symbol, bar.timestamp)
            if self.predict is not None:
                self.predict(symbol, bar.timestamp)
            signal = latest_signal(
                self.engine, self.strategy.config.model_id, symbol, bar.timestamp, not_before=previous_bar
            )
            outcome.signal = signal
            position = self.manager.position_quantity(symbol)
            has_open_orders = any(o.symbol == symbol for o in self.manager.open_orders())
            # Decided: from here on the bar is seen (an outage below must not make it place orders twice).
            self.last_seen[symbol] = bar.timestamp
            closes = self._closes.setdefault(symbol, [])
            closes.append(float(bar.close))
            del closes[: -self.history - 1]
            if signal is None:
                log.info("no prediction of %s for %s at %s", self.strategy.config.model_id, symbol, bar.timestamp)
                return outcome
            self._record(
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
                            "prediction_id": signal.prediction_id,
                            "prediction_type": signal.prediction_type,
                            "bar": bar.timestamp,
                            "interval": self.interval,
                        },
                        timestamp=self.manager.clock(),
                    )
                ]
            )
            sizing_by_equity = self.strategy.config.sizing == "volatility"
            context = DecisionContext(
                position=position,
                has_open_orders=has_open_orders,
                equity=self.manager.broker.account().equity if sizing_by_equity else Decimal(0),
                cash=Decimal(0),
            )
            volatility = realised_volatility(np.array(closes), self.strategy.config.volatility_window)
            for request in self.strategy.orders_for(symbol, signal, bar.close, volatility, context):
                try:
                    outcome.orders.append(self.manager.submit(request))
                except RiskRejectedError as exc:
                    outcome.rejected.append(exc.reason)
                except OrderOutcomeUnknownError as exc:
                    outcome.unknown.append(str(exc))
                    if exc.order is not None:
                        outcome.orders.append(exc.order)
                except TradingError as exc:
                    outcome.rejected.append(str(exc))
                    log.error("order for %s failed: %s", symbol, exc)
                except DATABASE_ERRORS as exc:
                    outcome.rejected.append(f"not placed: the database is unavailable ({type(exc).__name__})")
                    log.error("order for %s not placed: database unavailable: %s", symbol, exc)
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
        on_notice: Callable[[str, str], None] | None = None,
        bars: BarSubscriber | None = None,
    ) -> None:
        """Run the pipeline on every new bar until cancelled: woken by the feed's announcements (``bars``,
        by default a subscriber to this loop's symbols and interval), else every ``poll_seconds``; outages
        are waited out with backoff (see the module docstring).

        ``on_notice(kind, message)`` hears about outages and recoveries (kind: ``database_unavailable``,
        ``database_back``, ``broker_error``, ``error``).
        """
        timings = self.manager.timings
        failures = 0
        outage_since: float | None = None

        def notice(kind: str, message: str) -> None:
            if on_notice is not None:
                on_notice(kind, message)

        subscriber = bars or BarSubscriber(self.engine, symbols=symbols, intervals=(self.interval,))
        try:
            while cancel is None or not cancel.cancelled:
                try:
                    if self.pending_events:
                        self._record([])
                    self.manager.drain_backlog()
                    if outage_since is not None:
                        result = self.manager.reconcile()
                        notice(
                            "database_back",
                            f"database back after {time.monotonic() - outage_since:.1f} s; reconciled "
                            f"{result.checked} order(s), {result.fills_recovered} fill(s) recovered",
                        )
                        outage_since = None
                    self.manager.recheck_unknown()
                    for outcome in self.poll_once(symbols):
                        if on_outcome is not None:
                            on_outcome(outcome)
                    failures = 0
                    wait = poll_seconds
                except DATABASE_ERRORS as exc:
                    if outage_since is None:
                        outage_since = time.monotonic()
                        notice("database_unavailable", f"database unavailable, retrying: {_first_line(exc)}")
                    failures += 1
                    wait = min(timings.outage_backoff_max, timings.outage_backoff_first * 2 ** min(failures, 20))
                except TradingError as exc:
                    notice("broker_error", f"{type(exc).__name__}: {exc}")
                    failures += 1
                    wait = min(timings.outage_backoff_max, timings.outage_backoff_first * 2 ** min(failures, 20))
                except Exception as exc:  # a trading loop reports and goes on; it must not die on one bad bar
                    log.exception("trading loop iteration failed")
                    notice("error", f"{type(exc).__name__}: {_first_line(exc)}")
                    failures += 1
                    wait = min(timings.outage_backoff_max, timings.outage_backoff_first * 2 ** min(failures, 20))
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and not (cancel is not None and cancel.cancelled):
                    remaining = max(0.0, deadline - time.monotonic())
                    if failures:  # in an outage the announcements are unreadable too: just wait
                        time.sleep(min(0.2, remaining))
                        continue
                    try:
                        if subscriber.wait(min(0.5, remaining)):
                            break  # new bars announced: read them now
                    except DATABASE_ERRORS:
                        break  # the next iteration meets the outage and backs off
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


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


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
    query = select(
        Prediction.prediction_value,
        Prediction.confidence,
        Prediction.prediction_type,
        Prediction.prediction_id,
        Prediction.timestamp,
    ).where(Prediction.model_id == model_id, Prediction.symbol == symbol, Prediction.timestamp <= at)
    if not_before is not None:
        query = query.where(Prediction.timestamp > not_before)
    query = query.order_by(Prediction.timestamp.desc(), Prediction.id.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return Signal(Decimal(row[0]), Decimal(row[1]) if row[1] is not None else None, str(row[2]), row[3], row[4])
