"""What a replay client hears: stored bars turned into the minute-by-minute messages of a live stream.

A client of Alpaca's stream expects minute bars (``b``), the running daily bar (``d``), trades (``t``)
and quotes (``q``). The replay makes them from stored bars of any interval:

* **A stored bar covers a span of market minutes**: a 1m bar its minute; a 1h (or 5m, 15m …) bar its
  minutes up to the session's close (the 15:30 bar of a full day has 30, the 12:30 bar of an early close
  too); a daily bar the whole session (390 minutes, 210 on an early close; 09:30–16:00 New York when
  the exchange calendar has no session that day).
* **Minute bars partition it exactly**: the first opens at the stored open, the last closes at the stored
  close, one minute touches the high and one the low (the low first on a rising bar), the volumes sum
  to the stored volume; in between the path is a noisy line between those points, inside the range.
  So re-aggregating the minutes (market.aggregate) gives the stored bar back. Minute bars made from a
  longer bar carry ``synthetic: true``; a stored 1m bar is sent as it is.
* **Trades and quotes** (four of each per minute and symbol, unless turned off) walk each minute's
  open → first extreme → second extreme → close at seconds 1, 20, 40 and 59, their sizes summing to the minute's
  volume; every quote straddles its trade by a one-basis-point spread. All are labelled
  ``synthetic: true``.
* The ``b`` message of a minute is due at its end (``t`` is its start, as Alpaca sends it); the ``d``
  message (the session so far) follows it.
* Deterministic: the same stored bars give the same messages (the noise is seeded by the bar's time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from workstation.market.calendar import EXCHANGE_TZ, xnys
from workstation.market.frame import INTERVALS
from workstation.market.stream import protocol

_TICK_SECONDS = (1, 20, 40, 59)


@dataclass(frozen=True)
class Span:
    """The market minutes a stored bar covers: ``start`` and how many minutes."""

    start: datetime
    minutes: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.minutes)


def span_of(timestamp: datetime, interval: str) -> Span:
    """The minutes a bar of ``interval`` starting at ``timestamp`` covers (see the module docstring)."""
    calendar = xnys()
    if interval == "1d":
        day = pd.Timestamp(timestamp).tz_convert(EXCHANGE_TZ).date()
        session = calendar.session_on(day)
        if session is None:
            opens = pd.Timestamp(day).tz_localize(EXCHANGE_TZ) + pd.Timedelta(hours=9, minutes=30)
            return Span(opens.tz_convert("UTC").to_pydatetime(), 390)
        return Span(session.open, session.minutes)
    length = int(INTERVALS[interval].total_seconds() // 60)
    session = calendar.session_at(timestamp)
    if session is not None:
        length = min(length, int((session.close - timestamp).total_seconds() // 60))
    return Span(timestamp, max(1, length))


def split_bars(bars: pd.DataFrame, minutes: int, seed: int) -> dict[str, np.ndarray]:
    """Minute bars partitioning each row of ``bars`` (columns open, high, low, close, volume): arrays of
    shape (rows, minutes) for open, high, low, close (float) and volume (int)."""
    o = bars["open"].to_numpy(dtype=np.float64)
    h = bars["high"].to_numpy(dtype=np.float64)
    lo = bars["low"].to_numpy(dtype=np.float64)
    c = bars["close"].to_numpy(dtype=np.float64)
    v = bars["volume"].to_numpy(dtype=np.int64)
    n, k = len(bars), minutes
    if k == 1:
        return {"open": o[:, None], "high": h[:, None], "low": lo[:, None], "close": c[:, None], "volume": v[:, None]}
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    first = rng.integers(0, k // 2, n)  # the minute of the first extreme
    second = rng.integers(k // 2, k, n)  # … and of the second
    rising = c >= o
    e1, e2 = np.where(rising, lo, h), np.where(rising, h, lo)
    # The minute closes follow straight lines open → e1 → e2 → close, plus noise, inside [low, high].
    x = np.arange(1, k + 1, dtype=np.float64)[None, :]
    a, b = first[:, None] + 0.5, second[:, None] + 0.5
    path = np.where(
        x <= a,
        o[:, None] + (e1 - o)[:, None] * (x / a),
        np.where(
            x <= b,
            e1[:, None] + (e2 - e1)[:, None] * ((x - a) / (b - a)),
            e2[:, None] + (c - e2)[:, None] * ((x - b) / np.maximum(k - b, 1e-9)),
        ),
    )
    spread = (h - lo)[:, None]
    closes = np.clip(np.round(path + rng.normal(0, 0.08, (n, k)) * spread, 4), lo[:, None], h[:, None])
    closes[:, -1] = c
    opens = np.concatenate([o[:, None], closes[:, :-1]], axis=1)
    wiggle = np.abs(rng.normal(0, 0.04, (2, n, k))) * spread
    highs = np.minimum(np.round(np.maximum(opens, closes) + wiggle[0], 4), h[:, None])
    lows = np.maximum(np.round(np.minimum(opens, closes) - wiggle[1], 4), lo[:, None])
    highs = np.maximum(highs, np.maximum(opens, closes))
    lows = np.minimum(lows, np.minimum(opens, closes))
    low_at = np.where(rising, first, second)
    high_at = np.where(rising, second, first)
    lows[rows, low_at] = lo
    highs[rows, high_at] = h
    volumes = _split_volume(v, rng.lognormal(0.0, 0.5, (n, k)))
    return {"open": opens, "high": highs, "low": lows, "close": closes, "volume": volumes}


def _split_volume(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Whole numbers per column, proportional to ``weights``, each row summing exactly to ``total``."""
    share = weights / weights.sum(axis=1, keepdims=True) * total[:, None]
    parts: np.ndarray = np.floor(share).astype(np.int64)
    short = total - parts.sum(axis=1)
    order = np.argsort(-(share - parts), axis=1)
    for row in np.flatnonzero(short > 0):
        parts[row, order[row, : short[row]]] += 1
    return parts


@dataclass
class DailyState:
    """The running daily bar of one symbol (the ``d`` message)."""

    day: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int


def minute_events(
    symbols: list[str],
    minute_bars: dict[str, np.ndarray],
    span: Span,
    *,
    synthetic_bars: bool,
    ticks: bool,
    daily: dict[str, DailyState],
    trade_ids: Iterator[int],
) -> Iterator[tuple[float, list[dict[str, Any]]]]:
    """(seconds after the span's start, messages due then), in time order, for one span of bars."""
    day = protocol.session_date_midnight(span.start)
    seconds = _TICK_SECONDS if ticks else ()
    for j in range(span.minutes):
        start = span.start + timedelta(minutes=j)
        o, h, lo, c, v = (minute_bars[f][:, j] for f in ("open", "high", "low", "close", "volume"))
        if seconds:
            rising = c >= o
            path = (o, np.where(rising, lo, h), np.where(rising, h, lo), c)
            sizes = _split_volume(v, np.ones((len(symbols), len(seconds))))
            for t, second in enumerate(seconds):
                when = start + timedelta(seconds=second)
                prices = path[t]
                messages: list[dict[str, Any]] = []
                for i, symbol in enumerate(symbols):
                    price = float(prices[i])
                    half = max(0.005, round(price * 0.00005, 4))
                    messages.append(
                        protocol.quote_message(
                            symbol, when, round(price - half, 4), round(price + half, 4), 100, synthetic=True
                        )
                    )
                    if sizes[i, t] > 0:
                        messages.append(
                            protocol.trade_message(
                                symbol, when, price, int(sizes[i, t]), next(trade_ids), synthetic=True
                            )
                        )
                yield j * 60.0 + second, messages
        closing: list[dict[str, Any]] = []
        for i, symbol in enumerate(symbols):
            values = (float(o[i]), float(h[i]), float(lo[i]), float(c[i]), int(v[i]))
            vwap = round(sum(values[:4]) / 4, 4)
            closing.append(
                protocol.bar_message(
                    "b", symbol, start, *values, trades=len(seconds), vwap=vwap, synthetic=synthetic_bars
                )
            )
            state = daily.get(symbol)
            if state is None or state.day != day:
                state = daily[symbol] = DailyState(day, *values)
            else:
                state.high, state.low = max(state.high, values[1]), min(state.low, values[2])
                state.close, state.volume = values[3], state.volume + values[4]
            closing.append(
                protocol.bar_message(
                    "d",
                    symbol,
                    day,
                    state.open,
                    state.high,
                    state.low,
                    state.close,
                    state.volume,
                    trades=0,
                    vwap=state.close,
                    synthetic=synthetic_bars,
                )
            )
        yield j * 60.0 + 60.0, closing
