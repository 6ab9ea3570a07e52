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
from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine

from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.market.bars import load_bars
from workstation.market.notify import BarEvent, BarSubscriber
from workstation.monitoring.correlation import correlation_scope
from workstation.trading.brokers.paper import Bar
from workstation.trading.domain import (
    TradingError,
    TradingEventRecord,
    to_price,
)
from workstation.trading.live_decide import BarOutcome, LiveStrategy, OrderDecider
from workstation.trading.live_signals import Arrival, BarSignal, SignalSource, StoredPredictionSignals
from workstation.trading.order_manager import DATABASE_ERRORS, OrderManager
from workstation.trading.strategies.model import ModelStrategy

log = logging.getLogger(__name__)

# A step gets the symbol and the bar's timestamp; the CLI adapts the features and ML entry points.
BarStep = Callable[[str, datetime], None]


class TradingLoop:
    def __init__(
        self,
        engine: Engine,
        manager: OrderManager,
        strategy: LiveStrategy,
        *,
        interval: str = "1d",
        build_features: BarStep | None = None,
        predict: BarStep | None = None,
        history: int = 60,
        signals: SignalSource | None = None,
    ) -> None:
        self.engine = engine
        self.manager = manager
        self.strategy = strategy
        self.interval = interval
        self.history = history
        if signals is None:
            if not isinstance(strategy, ModelStrategy):
                raise TypeError("a rule strategy needs its signal source")
            signals = StoredPredictionSignals(
                engine, strategy.config.model_id, build_features=build_features, predict=predict
            )
        self.signals = signals
        self._closes: dict[str, list[float]] = {}
        self._decider = OrderDecider(manager, strategy)
        self.last_seen: dict[str, datetime] = {}
        # Trading events that could not be written (database down), written first when it is back.
        self.pending_events: list[TradingEventRecord] = []

    def _record(self, events: list[TradingEventRecord]) -> None:
        self.pending_events.extend(events)
        if not self.pending_events:
            return
        try:
            self.manager.store.record_events(self.pending_events)
        except DATABASE_ERRORS as exc:
            log.warning("database unavailable; %d trading event(s) kept for later: %s", len(self.pending_events), exc)
            return
        self.pending_events = []

    # ---------------------------------------------------------------- bars
    def on_bar(self, symbol: str, bar: Bar) -> BarOutcome:
        return self.on_bars([(symbol, bar, "")])[0]

    def on_bars(self, bars: list[tuple[str, Bar, str]]) -> list[BarOutcome]:
        """Bars that arrived together (symbol, bar, source): fills first, then every signal of the batch,
        then each bar's decision under its own correlation id; what the signals computed is stored last."""
        arrivals: list[Arrival] = []
        with self.manager.batch():  # a local broker's fills for the whole batch: one lock, one commit
            working = self.manager.working_symbols()  # one read: most bars have nothing to fill
            for symbol, bar, source in bars:
                with correlation_scope(prefix="bar", inherit=False) as cid:
                    arrivals.append(Arrival(symbol, bar, cid, self.last_seen.get(symbol), source))
                    # Its working orders may fill on this bar first.
                    self.manager.on_bar(symbol, bar, may_fill=working is None or symbol in working)
        found = self.signals.signals(arrivals)
        outcomes = [self._mark_seen(arrival, bar_signal) for arrival, bar_signal in zip(arrivals, found, strict=True)]
        # The batch's signal events in one write, before any of its orders (each order's trace to its bar).
        self._record(
            [
                self._signal_event(arrival, bar_signal)
                for arrival, bar_signal in zip(arrivals, found, strict=True)
                if bar_signal.signal is not None
            ]
        )
        deciding = [(a, o) for a, o in zip(arrivals, outcomes, strict=True) if o.signal is not None]
        if deciding:
            self._decider.decide(deciding, self._closes)
        try:
            self.signals.persist()
        except DATABASE_ERRORS as exc:  # kept by the source and written with the next batch
            log.warning("database unavailable; computed features and predictions kept for later: %s", exc)
        return outcomes

    def _mark_seen(self, arrival: Arrival, bar_signal: BarSignal) -> BarOutcome:
        symbol, bar = arrival.symbol, arrival.bar
        outcome = BarOutcome(symbol, bar.timestamp, arrival.correlation_id, signal=bar_signal.signal, close=bar.close)
        # Decided: from here on the bar is seen (an outage below must not make it place orders twice).
        self.last_seen[symbol] = bar.timestamp
        closes = self._closes.setdefault(symbol, [])
        closes.append(float(bar.close))
        del closes[: -self.history - 1]
        if bar_signal.signal is None:
            log.debug("no %s for %s at %s", self.signals.label, symbol, bar.timestamp)
        return outcome

    def _signal_event(self, arrival: Arrival, bar_signal: BarSignal) -> TradingEventRecord:
        signal, bar = bar_signal.signal, arrival.bar
        assert signal is not None
        return TradingEventRecord(
            "signal_generated",
            symbol=arrival.symbol,
            price=bar.close,
            strategy=self.strategy.name,
            correlation_id=arrival.correlation_id,
            metadata={
                "prediction_id": signal.prediction_id,  # the stored prediction it came from, where there is one
                **bar_signal.details,
                "prediction_value": signal.value,
                "confidence": signal.confidence,
                "prediction_type": signal.prediction_type,
                "bar": bar.timestamp,
                "interval": self.interval,  # an explanation finds the bar by symbol, interval and time
            },
            timestamp=self.manager.clock(),
        )

    def on_events(self, events: list[BarEvent], symbols: Iterable[str]) -> list[BarOutcome]:
        """Streamed bars (the feed's announcements) of our symbols and interval that are newer than the
        last one seen; a symbol not primed yet is primed from the store instead (its bar is in there)."""
        wanted = set(symbols)
        batch: list[tuple[str, Bar, str]] = []
        for event in events:
            if event.symbol not in wanted or event.interval != self.interval:
                continue
            seen = self.last_seen.get(event.symbol)
            if seen is None:
                self._prime(event.symbol)
                continue
            if event.timestamp <= seen:
                continue  # a revision of a bar already decided on, or a duplicate announcement
            bar = Bar(
                event.timestamp,
                to_price(event.open),
                to_price(event.high),
                to_price(event.low),
                to_price(event.close),
                Decimal(int(event.volume)),
            )
            batch.append((event.symbol, bar, event.source))
        batch.sort(key=lambda item: item[1].timestamp)
        return self.on_bars(batch) if batch else []

    def _prime(self, symbol: str) -> None:
        """Prime the volatility window and the signal source, and start from the newest stored bar onwards."""
        frame = load_bars(self.engine, symbol, self.interval, last=max(self.history + 1, self.signals.prime_bars))
        if frame.empty:
            return
        self._closes[symbol] = [float(c) for c in frame["close"].to_numpy()[-self.history - 1 :]]
        self.signals.prime(symbol, frame)
        self.last_seen[symbol] = frame.index[-1].to_pydatetime()

    # ---------------------------------------------------------------- live: poll stored bars
    def poll_once(self, symbols: Iterable[str]) -> list[BarOutcome]:
        """Run the pipeline for every bar stored since the last one seen (the first poll only primes)."""
        batch: list[tuple[str, Bar, str]] = []
        for symbol in symbols:
            since = self.last_seen.get(symbol)
            if since is None:
                self._prime(symbol)
                continue
            frame = load_bars(self.engine, symbol, self.interval, start=since)
            batch.extend((symbol, bar, "") for bar in bars_from_frame(frame[frame.index > pd.Timestamp(since)]))
        batch.sort(key=lambda item: item[1].timestamp)
        return self.on_bars(batch) if batch else []

    def run_live(
        self,
        symbols: list[str],
        *,
        poll_seconds: float = 5.0,
        cancel: CancelToken | None = None,
        on_outcome: Callable[[BarOutcome], None] | None = None,
        on_notice: Callable[[str, str], None] | None = None,
        bars: BarSubscriber | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        """Run the pipeline on every new bar until cancelled: woken by the feed's announcements (``bars``,
        by default a subscriber to this loop's symbols and interval), else every ``poll_seconds``; outages
        are waited out with backoff (see the module docstring).

        ``on_notice(kind, message)`` hears about outages and recoveries (kind: ``database_unavailable``,
        ``database_back``, ``broker_error``, ``error``) and ``ready`` once the first read primed the symbols.
        ``on_idle()`` is called about every half second while no bar arrives (fills of a remote broker, or a
        local one's booked after the order returned, can be shown from there).
        """
        timings = self.manager.timings
        failures = 0
        outage_since: float | None = None

        def notice(kind: str, message: str) -> None:
            if on_notice is not None:
                on_notice(kind, message)

        subscriber = bars or BarSubscriber(self.engine, symbols=symbols, intervals=(self.interval,))
        arrived: list[BarEvent] = []
        polled_at = 0.0
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
                    if arrived:
                        # Streamed bars: decided on straight from the announcements (no read of market_data).
                        batch, arrived = arrived, []
                        outcomes = self.on_events(batch, symbols)
                        if subscriber.gap or time.monotonic() - polled_at >= poll_seconds:
                            outcomes += self.poll_once(symbols)
                            polled_at = time.monotonic()
                    else:
                        first = polled_at == 0.0
                        outcomes = self.poll_once(symbols)
                        polled_at = time.monotonic()
                        if first:
                            primed = sum(1 for s in symbols if s in self.last_seen)
                            notice("ready", f"{primed} of {len(symbols)} symbol(s) primed; trading from the next bar")
                    for outcome in outcomes:
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
                        events = subscriber.wait(min(0.5, remaining))
                        if events:
                            arrived.extend(events)
                            break  # new bars announced: decide on them now
                        if on_idle is not None:
                            on_idle()
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
