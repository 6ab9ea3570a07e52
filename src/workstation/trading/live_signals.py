"""Where the live loop's signals come from, one source per kind of strategy.

A source sees the bars that arrived together (``Arrival``: the bar, its correlation id and the bar
seen before it) and returns one ``BarSignal`` per bar, in order. What it computed and must store
(feature rows, predictions with their input vectors) waits in the source until ``persist``, which
the loop calls after the orders are placed: storing is never on the path from bar close to order.

* ``StoredPredictionSignals``: the stored prediction of a model for the bar, after optional steps
  that build the features and predict through the batch entry points (``--predictions stored`` and
  replays use it without steps).
* ``OnlineModelSignals``: the catalog's row computed online from an in-memory window per symbol
  (``features.online``), the model applied in memory to every bar of the batch at once.
* ``SmaCrossSignals``: the sma_cross rule on the closes kept in memory: a cross is a signal.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from workstation.db.trading import Prediction
from workstation.errors import ConfigurationError
from workstation.monitoring.correlation import correlation_scope
from workstation.trading.brokers.paper import Bar
from workstation.trading.strategies.model import Signal
from workstation.trading.strategies.sma_cross import sma_difference_sign

log = logging.getLogger(__name__)

BarStep = Callable[[str, datetime], None]


@dataclass(frozen=True, slots=True)
class Arrival:
    symbol: str
    bar: Bar
    correlation_id: str
    previous: datetime | None  # the bar of this symbol seen before (None: the first one)
    source: str = ""  # the bar's data source, when the announcement named it


@dataclass(frozen=True, slots=True)
class BarSignal:
    signal: Signal | None
    details: dict[str, Any] = field(default_factory=dict)  # recorded with the signal_generated event


class SignalSource(Protocol):
    label: str  # what the loop's log lines call a missing signal ("prediction of m1", "sma cross")
    prime_bars: int  # stored bars a symbol's state needs before its first live bar

    def prime(self, symbol: str, bars: pd.DataFrame) -> None: ...

    def signals(self, arrivals: list[Arrival]) -> list[BarSignal]: ...

    def persist(self) -> None:
        """Store what ``signals`` computed; raises a database error to be retried on the next call."""


def _floats(bar: Bar) -> tuple[float, float, float, float, float]:
    return float(bar.open), float(bar.high), float(bar.low), float(bar.close), float(bar.volume)


class StoredPredictionSignals:
    def __init__(
        self, engine: Engine, model_id: str, *, build_features: BarStep | None = None, predict: BarStep | None = None
    ) -> None:
        self.engine = engine
        self.model_id = model_id
        self.build_features = build_features
        self.predict = predict
        self.label = f"prediction of {model_id}"
        self.prime_bars = 0

    def prime(self, symbol: str, bars: pd.DataFrame) -> None:
        return None

    def signals(self, arrivals: list[Arrival]) -> list[BarSignal]:
        out: list[BarSignal] = []
        for arrival in arrivals:
            with correlation_scope(arrival.correlation_id):
                if self.build_features is not None:
                    self.build_features(arrival.symbol, arrival.bar.timestamp)
                if self.predict is not None:
                    self.predict(arrival.symbol, arrival.bar.timestamp)
                signal = latest_signal(
                    self.engine, self.model_id, arrival.symbol, arrival.bar.timestamp, not_before=arrival.previous
                )
            out.append(BarSignal(signal, {"model_id": self.model_id}))
        return out

    def persist(self) -> None:
        return None


class OnlineModelSignals:
    """A model's prediction from features computed online; features and predictions stored afterwards."""

    def __init__(self, engine: Engine, model_id: str, interval: str) -> None:
        # Imported here: the features and ML packages are needed only when a model trades.
        from workstation.features.catalog import FEATURE_VERSION
        from workstation.features.online import WINDOW_BARS, OnlineFeatures
        from workstation.ml.predict import usable_model

        self.engine = engine
        self.interval = interval
        self.info, self.model = usable_model(engine, model_id, interval)
        if self.model.feature_version != FEATURE_VERSION:
            raise ConfigurationError(
                f"model {model_id} reads feature version {self.model.feature_version}; online features are "
                f"version {FEATURE_VERSION}: retrain it, or trade on stored predictions (--predictions stored)"
            )
        self.model_id = model_id
        self.sequence = max(1, self.model.sequence_length)
        self.online = OnlineFeatures(keep_rows=self.sequence)
        self.label = f"prediction of {model_id}"
        self.prime_bars = WINDOW_BARS + self.sequence - 1
        self.pending_predictions: list[Any] = []
        self.pending_rows: list[Any] = []

    def prime(self, symbol: str, bars: pd.DataFrame) -> None:
        from workstation.features import online_pool

        self.online.prime(symbol, bars)
        if online_pool.parallel_worth_it(len(self.online.symbols())):
            online_pool.warm_up()  # the helpers start while the windows fill, not on the first bar

    def signals(self, arrivals: list[Arrival]) -> list[BarSignal]:
        results: list[BarSignal | None] = [None] * len(arrivals)
        # Rounds: the k-th bar of every symbol in this batch, so each prediction sees only its own past.
        rounds: dict[int, list[int]] = {}
        seen: dict[str, int] = {}
        for i, arrival in enumerate(arrivals):
            k = seen[arrival.symbol] = seen.get(arrival.symbol, -1) + 1
            rounds.setdefault(k, []).append(i)
        for indices in rounds.values():
            for i, signal in zip(indices, self._predict_round([arrivals[i] for i in indices]), strict=True):
                results[i] = signal
        return [r if r is not None else BarSignal(None) for r in results]

    def _predict_round(self, arrivals: list[Arrival]) -> list[BarSignal]:
        from workstation.features.catalog import FEATURE_NAMES
        from workstation.ml.predict import predict_frame

        names = self.model.feature_names
        columns = [FEATURE_NAMES.index(n) for n in names]
        blocks: list[np.ndarray] = []
        symbols: list[str] = []
        stamps: list[datetime] = []
        positions: list[int] = []
        self.online.update_many([(a.symbol, a.bar.timestamp, _floats(a.bar), a.source) for a in arrivals])
        for arrival in arrivals:
            rows = self.online.recent_rows(arrival.symbol)[-self.sequence :]
            blocks.append(np.vstack([r.features[columns] for r in rows]))
            symbols.extend(arrival.symbol for _ in rows)
            stamps.extend(r.timestamp for r in rows)
            positions.append(len(symbols) - 1)
        frame = pd.DataFrame(np.vstack(blocks), columns=names)
        frame.insert(0, "timestamp", pd.to_datetime(stamps, utc=True))
        frame.insert(0, "symbol", symbols)
        records = predict_frame(self.info, self.model, frame, np.array(positions, dtype=np.int64))
        self.pending_predictions.extend(records)
        out: list[BarSignal] = []
        for record in records:
            confidence = None if record.confidence is None else Decimal(f"{record.confidence:.10f}")
            signal = Signal(Decimal(f"{record.prediction_value:.10f}"), confidence, record.prediction_type)
            out.append(BarSignal(signal, {"model_id": self.model_id, "prediction_id": record.prediction_id}))
        return out

    def persist(self) -> None:
        from workstation.features.online import store_rows
        from workstation.ml.predict import write_predictions

        self.pending_rows.extend(self.online.take_pending())
        if self.pending_rows:
            store_rows(self.engine, self.interval, self.pending_rows)
            self.pending_rows = []
        if self.pending_predictions:
            write_predictions(self.engine, self.pending_predictions)
            self.pending_predictions = []


class SmaCrossSignals:
    """sign(SMA(fast) − SMA(slow)) on the last ``slow`` closes per bar; a change from the last non-zero
    sign is a cross (+1 up, −1 down), exactly as ``sma_cross.cross_signals`` finds it over a series."""

    def __init__(self, fast: int, slow: int) -> None:
        self.fast = fast
        self.slow = slow
        self.label = "sma cross"
        self.prime_bars = slow
        self._closes: dict[str, deque[float]] = {}
        self._last_sign: dict[str, int] = {}

    def prime(self, symbol: str, bars: pd.DataFrame) -> None:
        closes = bars["close"].to_numpy(np.float64)
        self._closes[symbol] = deque(closes[-self.slow :].tolist(), maxlen=self.slow)
        signs = sma_difference_sign(closes, self.fast, self.slow)
        nonzero = np.flatnonzero(signs)
        self._last_sign[symbol] = int(signs[nonzero[-1]]) if len(nonzero) else 0

    def signals(self, arrivals: list[Arrival]) -> list[BarSignal]:
        out: list[BarSignal] = []
        for arrival in arrivals:
            closes = self._closes.setdefault(arrival.symbol, deque(maxlen=self.slow))
            closes.append(float(arrival.bar.close))
            sign = int(sma_difference_sign(np.array(closes), self.fast, self.slow)[-1])
            before = self._last_sign.get(arrival.symbol, 0)
            details: dict[str, Any] = {"fast": self.fast, "slow": self.slow}
            if sign == 0:
                out.append(BarSignal(None, details))
                continue
            self._last_sign[arrival.symbol] = sign
            cross = sign if before != 0 and sign != before else 0
            out.append(BarSignal(Signal(Decimal(cross), None, "sma_cross") if cross else None, details))
        return out

    def persist(self) -> None:
        return None


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
