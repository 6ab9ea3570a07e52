"""Everything the chart shows for one symbol and interval: bars, stored feature overlays, markers.

Indicators that are not stored are computed on the fly from the bars with TA-Lib (indicators.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, bindparam, select, text

from workstation.db.logs import TradingEvent
from workstation.db.models import Fill, Order, Prediction
from workstation.db.types import UTCDateTime
from workstation.market.bars import load_bars

FloatArray = NDArray[np.float64]
_SIGNAL_LIMIT = 500

# Stored feature columns that live on the price scale and so can be drawn over the candles.
_PRICE_OVERLAY = re.compile(r"^(price_ma_\w+|sma_\d+|ema_\d+|bb_(upper|middle|lower)\w*|vwap\w*)$")


@dataclass(frozen=True, slots=True)
class PredictionMark:
    index: int
    up: bool
    confidence: float | None
    model_id: str
    prediction_type: str
    value: float


@dataclass(frozen=True, slots=True)
class FillMark:
    index: int
    side: str
    price: float
    quantity: Decimal
    fill_id: str = ""  # what a click on its marker explains


@dataclass(frozen=True, slots=True)
class SignalMark:
    """A strategy's signal at a bar (a rule's cross; a model's signals are its prediction markers)."""

    index: int
    up: bool
    strategy: str
    confidence: float | None


@dataclass(slots=True)
class ChartData:
    symbol: str
    interval: str
    bars: pd.DataFrame
    feature_overlays: dict[str, FloatArray] = field(default_factory=dict)
    predictions: list[PredictionMark] = field(default_factory=list)
    fills: list[FillMark] = field(default_factory=list)
    signals: list[SignalMark] = field(default_factory=list)

    @property
    def times_ns(self) -> NDArray[np.int64]:
        index = pd.DatetimeIndex(self.bars.index)
        return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)

    def column(self, name: str) -> FloatArray:
        return np.asarray(self.bars[name].to_numpy(dtype=np.float64), dtype=np.float64)


def prediction_is_up(prediction_type: str, value: float, close: float | None) -> bool:
    """Direction of a stored prediction whatever its kind: a probability, a price, or a signed return/class."""
    kind = prediction_type.lower()
    if "prob" in kind:
        return value >= 0.5
    if "price" in kind and close is not None:
        return value >= close
    return value > 0


def _bar_index(times: NDArray[np.int64], stamps: pd.Series) -> NDArray[np.int64]:
    """Index of the bar each timestamp falls in (the last bar that opened at or before it)."""
    values = pd.to_datetime(stamps, utc=True).dt.as_unit("ns").astype("int64").to_numpy()
    return np.searchsorted(times, values, side="right") - 1


def _feature_columns(conn: Connection) -> list[str]:
    """The feature table's columns as they are now (they come and go with migrations).

    Reflecting the table with inspect() costs tens of milliseconds. PostgreSQL answers from its catalog
    (planning even "SELECT * … WHERE false" over the partitioned table's ranges costs about a millisecond);
    SQLite from "WHERE false", which plans no scan.
    """
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'feature_engineered_data'::regclass"
                " AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            )
        )
        return [str(row[0]) for row in rows]
    return list(conn.execute(text("SELECT * FROM feature_engineered_data WHERE false")).keys())


def _feature_overlays(conn: Connection, symbol: str, interval: str, bars: pd.DataFrame) -> dict[str, FloatArray]:
    if bars.empty:
        return {}
    start, end = bars.index[0].to_pydatetime(), bars.index[-1].to_pydatetime()
    wanted = [c for c in _feature_columns(conn) if _PRICE_OVERLAY.match(c)]
    if not wanted:
        return {}
    quoted = ", ".join(f'"{c}"' for c in wanted)
    # The newest feature version per bar wins. The time bounds of the bars shown let PostgreSQL read only
    # the partitions that hold them.
    sql = text(
        f"SELECT timestamp, feature_version, {quoted} FROM feature_engineered_data "
        "WHERE symbol = :symbol AND interval = :interval AND timestamp >= :start AND timestamp <= :end "
        "ORDER BY timestamp, feature_version"
    ).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    params = {"symbol": symbol, "interval": interval, "start": start, "end": end}
    frame = pd.DataFrame(conn.execute(sql, params).all())
    if frame.empty:
        return {}
    frame.columns = ["timestamp", "feature_version", *wanted]
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame = frame.drop_duplicates("timestamp", keep="last").set_index("timestamp")
    aligned = frame.reindex(bars.index)
    overlays: dict[str, FloatArray] = {}
    for name in wanted:
        values = pd.to_numeric(aligned[name], errors="coerce").to_numpy(dtype=np.float64)
        if np.isfinite(values).any():
            overlays[name] = values
    return overlays


def _predictions(conn: Connection, symbol: str, bars: pd.DataFrame, times: NDArray[np.int64]) -> list[PredictionMark]:
    start, end = bars.index[0].to_pydatetime(), bars.index[-1].to_pydatetime()
    query = (
        select(
            Prediction.timestamp,
            Prediction.model_id,
            Prediction.prediction_type,
            Prediction.prediction_value,
            Prediction.confidence,
        )
        .where(Prediction.symbol == symbol, Prediction.timestamp >= start, Prediction.timestamp <= end)
        .order_by(Prediction.timestamp)
    )
    rows = conn.execute(query).all()
    if not rows:
        return []
    indices = _bar_index(times, pd.Series([r[0] for r in rows]))
    closes = bars["close"].to_numpy(dtype=np.float64)
    marks = []
    for (_ts, model_id, kind, value, confidence), index in zip(rows, indices, strict=True):
        if index < 0:
            continue
        v = float(value)
        marks.append(
            PredictionMark(
                index=int(index),
                up=prediction_is_up(kind, v, float(closes[index])),
                confidence=float(confidence) if confidence is not None else None,
                model_id=model_id,
                prediction_type=kind,
                value=v,
            )
        )
    return marks


def _fills(conn: Connection, symbol: str, bars: pd.DataFrame, times: NDArray[np.int64]) -> list[FillMark]:
    start, end = bars.index[0].to_pydatetime(), bars.index[-1].to_pydatetime()
    query = (
        select(Fill.timestamp, Order.side, Fill.price, Fill.quantity, Fill.fill_id)
        .join(Order, Order.order_id == Fill.order_id)
        .where(Fill.symbol == symbol, Fill.timestamp >= start)
        .order_by(Fill.timestamp)
    )
    rows = conn.execute(query).all()
    if not rows:
        return []
    indices = _bar_index(times, pd.Series([r[0] for r in rows]))
    last_time = pd.Timestamp(end)
    return [
        FillMark(
            index=int(min(index, len(times) - 1)), side=side, price=float(price), quantity=quantity, fill_id=fill_id
        )
        for (ts, side, price, quantity, fill_id), index in zip(rows, indices, strict=True)
        if index >= 0 and (pd.Timestamp(ts) <= last_time or index == len(times) - 1)
    ]


def _signals(conn: Connection, symbol: str, bars: pd.DataFrame, times: NDArray[np.int64]) -> list[SignalMark]:
    """The newest strategy signals (trading_events signal_generated) at bars of this series."""
    query = (
        select(TradingEvent.strategy, TradingEvent.metadata_)
        .where(TradingEvent.event_type == "signal_generated", TradingEvent.symbol == symbol)
        .order_by(TradingEvent.id.desc())
        .limit(_SIGNAL_LIMIT)
    )
    rows = [(strategy, meta) for strategy, meta in conn.execute(query) if isinstance(meta, dict)]
    # A model's signal is its prediction, drawn already; a bar of another interval is not on this chart.
    rows = [(strategy, meta) for strategy, meta in rows if meta.get("bar") and not meta.get("prediction_id")]
    if not rows:
        return []
    stamps = pd.Series(pd.to_datetime([meta["bar"] for _s, meta in rows], utc=True))
    wanted = np.asarray(pd.DatetimeIndex(stamps).as_unit("ns").asi8, dtype=np.int64)
    at = np.searchsorted(times, wanted)
    marks: list[SignalMark] = []
    for (strategy, meta), index, stamp in zip(rows, at, wanted, strict=True):
        if index < len(times) and times[index] == stamp:
            value = float(meta.get("prediction_value") or 0)
            confidence = meta.get("confidence")
            marks.append(
                SignalMark(
                    int(index), value > 0, str(strategy or ""), None if confidence is None else float(confidence)
                )
            )
    return marks[::-1]


def load_chart_data(engine: Engine, symbol: str, interval: str = "1d", *, max_bars: int | None = None) -> ChartData:
    """Bars (all, or the newest ``max_bars``), stored overlays, prediction and fill markers of one series."""
    bars = load_bars(engine, symbol, interval, last=max_bars)
    data = ChartData(symbol=symbol, interval=interval, bars=bars)
    if bars.empty:
        return data
    times = data.times_ns
    with engine.connect() as conn:  # the markers' four reads share one pooled connection and transaction
        data.feature_overlays = _feature_overlays(conn, symbol, interval, bars)
        data.predictions = _predictions(conn, symbol, bars, times)
        data.fills = _fills(conn, symbol, bars, times)
        data.signals = _signals(conn, symbol, bars, times)
    return data
