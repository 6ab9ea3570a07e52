"""The bars a replay plays: stored bars of one interval, in time order, read in chunks.

* The universe is ``symbols`` (or every symbol with bars of the interval). When several sources hold a
  symbol's bars, the one with the most bars is played (as market.bars.load_bars does), never a mix.
* Playback starts at ``start`` or, without it, at the earliest stored bar of the universe.
* ``groups(after)`` yields (bar start, the bars of every symbol starting then) in time order, reading
  one window of market time at a time (a day of minutes, a month of hours, a year of days), so a long
  history never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from workstation.db.models import MarketData
from workstation.errors import InvalidInputError, RefusedError
from workstation.market.frame import INTERVALS

_WINDOWS = {"1d": timedelta(days=366), "1wk": timedelta(days=3650), "1mo": timedelta(days=3650)}


@dataclass(frozen=True)
class ReplayUniverse:
    interval: str
    sources: dict[str, str]  # symbol -> the source played
    first: datetime
    last: datetime

    @property
    def symbols(self) -> list[str]:
        return sorted(self.sources)


def load_universe(
    engine: Engine,
    interval: str,
    symbols: list[str] | None = None,
    *,
    source: str | None = None,
    start: datetime | None = None,
) -> ReplayUniverse:
    """What will be played; refuses an unknown interval or an empty selection."""
    if interval not in INTERVALS or interval in ("1wk", "1mo"):
        raise InvalidInputError(f"cannot replay interval {interval!r}: use 1m, 5m, 15m, 30m, 1h or 1d")
    m = MarketData
    query = select(m.symbol, m.source, func.count(), func.min(m.timestamp), func.max(m.timestamp)).where(
        m.interval == interval
    )
    if symbols:
        query = query.where(m.symbol.in_([s.upper() for s in symbols]))
    if source is not None:
        query = query.where(m.source == source)
    if start is not None:
        query = query.where(m.timestamp >= start)
    with engine.connect() as conn:
        rows = conn.execute(query.group_by(m.symbol, m.source)).all()
    best: dict[str, tuple[int, str, datetime, datetime]] = {}
    for symbol, src, count, first, last in rows:
        if symbol not in best or count > best[symbol][0]:
            best[symbol] = (int(count), str(src), first, last)
    if not best:
        wanted = ", ".join(symbols) if symbols else "any symbol"
        after = f" from {start:%Y-%m-%d %H:%M}" if start is not None else ""
        raise RefusedError(f"no stored {interval} bars of {wanted}{after} to replay")
    return ReplayUniverse(
        interval=interval,
        sources={s: v[1] for s, v in best.items()},
        first=min(v[2] for v in best.values()),
        last=max(v[3] for v in best.values()),
    )


def groups(engine: Engine, universe: ReplayUniverse, after: datetime) -> Iterator[tuple[datetime, pd.DataFrame]]:
    """(bar start, bars of that start: symbol, open, high, low, close, volume) from ``after`` on."""
    window = _WINDOWS.get(universe.interval, timedelta(days=1) if universe.interval == "1m" else timedelta(days=31))
    by_source: dict[str, list[str]] = {}
    for symbol, src in universe.sources.items():
        by_source.setdefault(src, []).append(symbol)
    m = MarketData
    lo = after
    while lo <= universe.last:
        hi = lo + window
        frames = []
        for src, names in by_source.items():
            query = (
                select(m.timestamp, m.symbol, m.open, m.high, m.low, m.close, m.volume)
                .where(m.interval == universe.interval, m.source == src, m.symbol.in_(names))
                .where(m.timestamp >= lo, m.timestamp < hi)
            )
            with engine.connect() as conn:
                frames.append(
                    pd.DataFrame(
                        conn.execute(query).all(),
                        columns=["timestamp", "symbol", "open", "high", "low", "close", "volume"],
                    )
                )
        chunk = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if not chunk.empty:
            chunk["timestamp"] = pd.to_datetime(chunk["timestamp"], utc=True)
            for column in ("open", "high", "low", "close"):
                chunk[column] = chunk[column].astype(float)
            chunk["volume"] = chunk["volume"].astype("int64")
            chunk = chunk.sort_values(["timestamp", "symbol"], kind="stable")
            for stamp, bars in chunk.groupby("timestamp", sort=True):
                yield pd.Timestamp(str(stamp)).to_pydatetime(), bars.reset_index(drop=True)
        lo = hi
