"""Online features: the catalog's latest row for a new bar, from an in-memory window of recent bars.

The live loop cannot afford to read a symbol's history and rebuild its feature tail from the database
on every bar. ``OnlineFeatures`` keeps, per symbol, the last ``WINDOW_BARS`` bars (HISTORY_BARS, the
history the incremental build replays, plus the new bar) and runs the catalog itself
(``compute_matrix``, no second definition of any feature) over that window when a bar arrives —
``update_many`` for a batch of symbols, split over helper processes when it is large (online_pool). The
incremental build rests on the same rule: with HISTORY_BARS bars of history before a bar, every
feature at that bar equals a full recompute within 1e-6 relative; with fewer bars stored than the
window holds, the window is the whole history and the row is the batch build's row exactly.

Computed rows are kept in ``pending`` and written later by ``store_rows`` (through the feature store,
off the latency path): a feature build that follows rewrites them from its own state, so storing them
never leaves duplicates or a build state that lies.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from workstation.db.models import MarketData
from workstation.features import store
from workstation.features.catalog import FEATURE_NAMES, FEATURE_VERSION, HISTORY_BARS
from workstation.features.compute import compute_matrix
from workstation.features.online_pool import batch_last_rows
from workstation.features.spec import FloatArray

Bar = tuple[float, float, float, float, float]  # open, high, low, close, volume

# The new bar plus the history an incremental build replays before the first bar it rewrites.
WINDOW_BARS = HISTORY_BARS + 1


@dataclass(frozen=True, slots=True)
class OnlineRow:
    """One symbol's catalog row at one bar (``features`` in catalog order, NaN where undefined)."""

    symbol: str
    timestamp: datetime
    source: str
    bar: Bar
    features: FloatArray

    def as_dict(self, names: Sequence[str] | None = None) -> dict[str, float]:
        wanted = FEATURE_NAMES if names is None else names
        index = {name: j for j, name in enumerate(FEATURE_NAMES)}
        return {name: float(self.features[index[name]]) for name in wanted}


class _Window:
    """The last ``size`` bars of one symbol plus its last ``keep`` computed rows (models that read sequences)."""

    def __init__(self, size: int, keep: int) -> None:
        self.stamps: deque[datetime] = deque(maxlen=size)
        self.bars: deque[Bar] = deque(maxlen=size)
        self.rows: deque[OnlineRow] = deque(maxlen=keep)

    def matrix(self) -> FloatArray:
        """The window as an (n_bars, 5) array: open, high, low, close, volume."""
        return np.array(self.bars, dtype=np.float64).reshape(len(self.bars), 5)

    def arrays(self) -> list[FloatArray]:
        matrix = self.matrix()
        return [np.ascontiguousarray(matrix[:, k]) for k in range(5)]


class OnlineFeatures:
    """Per-symbol windows; ``update`` returns the new bar's catalog row (see the module docstring)."""

    def __init__(self, *, window: int = WINDOW_BARS, keep_rows: int = 1) -> None:
        if window < 1 or keep_rows < 1:
            raise ValueError("window and keep_rows must be positive")
        self.window = window
        self.keep_rows = keep_rows
        self._windows: dict[str, _Window] = {}
        self.pending: list[OnlineRow] = []  # computed, not stored yet

    def symbols(self) -> list[str]:
        return list(self._windows)

    def last_timestamp(self, symbol: str) -> datetime | None:
        window = self._windows.get(symbol)
        return window.stamps[-1] if window is not None and window.stamps else None

    def prime(self, symbol: str, bars: pd.DataFrame, *, source: str = "") -> None:
        """Fill ``symbol``'s window from stored bars (``load_bars`` frame, oldest first); the last
        ``keep_rows`` rows are computed too, so a sequence model has its inputs from the first bar on."""
        window = self._windows[symbol] = _Window(self.window, self.keep_rows)
        tail = bars.iloc[-(self.window + self.keep_rows - 1) :]
        values = tail[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
        stamps = [pd.Timestamp(ts).to_pydatetime() for ts in tail.index]
        if len(values) == 0:
            return
        matrix = compute_matrix(*(np.ascontiguousarray(values[:, k]) for k in range(5)))
        for i, (stamp, bar) in enumerate(zip(stamps, values.tolist(), strict=True)):
            window.stamps.append(stamp)
            window.bars.append(tuple(bar))
            if i >= len(values) - self.keep_rows:
                # Rows computed with fewer than `window` bars before them when the tail is longer
                # than the window would differ: recompute those from their own window.
                first = max(0, i + 1 - self.window)
                row = matrix[i] if first == 0 else compute_matrix(*(values[first : i + 1].T.copy()))[-1]
                window.rows.append(OnlineRow(symbol, stamp, source, tuple(bar), row))

    def update(
        self,
        symbol: str,
        timestamp: datetime,
        bar: tuple[float, float, float, float, float],
        *,
        source: str = "",
    ) -> OnlineRow:
        """Append a bar (a bar at the window's last timestamp replaces it: a revision) and compute its row."""
        window = self._advance(symbol, timestamp, bar)
        features = compute_matrix(*window.arrays())[-1].copy()
        return self._record(window, symbol, source, features)

    def update_many(self, bars: Sequence[tuple[str, datetime, Bar, str]]) -> list[OnlineRow]:
        """``update`` for a batch of (symbol, timestamp, bar, source), in order; the rows of a batch with
        many symbols are computed in this process and helper processes at once (online_pool)."""
        out: list[OnlineRow] = []
        start = 0
        while start < len(bars):
            # A share holds each symbol once: a second bar of a symbol needs the first one's window.
            seen: set[str] = set()
            end = start
            while end < len(bars) and bars[end][0] not in seen:
                seen.add(bars[end][0])
                end += 1
            for symbol, stamp, _bar, _source in bars[start:end]:  # nothing moves when one bar is refused
                self._check_order(symbol, stamp)
            windows = [self._advance(symbol, stamp, bar) for symbol, stamp, bar, _source in bars[start:end]]
            matrices = [window.matrix() for window in windows]
            for (symbol, _stamp, _bar, source), window, features in zip(
                bars[start:end], windows, batch_last_rows(matrices), strict=True
            ):
                out.append(self._record(window, symbol, source, features))
            start = end
        return out

    def _check_order(self, symbol: str, timestamp: datetime) -> None:
        window = self._windows.get(symbol)
        if window is not None and window.stamps and timestamp < window.stamps[-1]:
            raise ValueError(f"{symbol}: bar {timestamp} is older than the window's last bar {window.stamps[-1]}")

    def _advance(self, symbol: str, timestamp: datetime, bar: Bar) -> _Window:
        self._check_order(symbol, timestamp)
        window = self._windows.get(symbol)
        if window is None:
            window = self._windows[symbol] = _Window(self.window, self.keep_rows)
        if window.stamps and timestamp == window.stamps[-1]:
            window.stamps.pop()
            window.bars.pop()
            if window.rows and window.rows[-1].timestamp == timestamp:
                window.rows.pop()
        window.stamps.append(timestamp)
        window.bars.append(tuple(float(x) for x in bar))  # type: ignore[arg-type]
        return window

    def _record(self, window: _Window, symbol: str, source: str, features: FloatArray) -> OnlineRow:
        row = OnlineRow(symbol, window.stamps[-1], source, window.bars[-1], features)
        window.rows.append(row)
        self.pending.append(row)
        return row

    def recent_rows(self, symbol: str) -> list[OnlineRow]:
        """The last ``keep_rows`` computed rows of ``symbol``, oldest first."""
        window = self._windows.get(symbol)
        return list(window.rows) if window is not None else []

    def take_pending(self) -> list[OnlineRow]:
        rows, self.pending = self.pending, []
        return rows


def store_rows(engine: Engine, interval: str, rows: Iterable[OnlineRow]) -> int:
    """Write online rows to feature_engineered_data (replacing rows at the same bars), one transaction."""
    by_symbol: dict[tuple[str, str], list[OnlineRow]] = {}
    for row in rows:
        by_symbol.setdefault((row.symbol, row.source), []).append(row)
    if not by_symbol:
        return 0
    table = store.feature_table
    written = 0
    with engine.begin() as conn:
        for symbol, source in [key for key in by_symbol if not key[1]]:
            # Bars read from the store carry no source: the feature row takes its bar's.
            mine = by_symbol.pop((symbol, source))
            found = conn.execute(
                select(MarketData.source)
                .where(MarketData.symbol == symbol, MarketData.interval == interval)
                .order_by(MarketData.timestamp.desc())
                .limit(1)
            ).scalar()
            by_symbol.setdefault((symbol, str(found or "unknown")), []).extend(mine)
        for (symbol, source), mine in by_symbol.items():
            stamps = [r.timestamp for r in mine]
            conn.execute(
                table.delete().where(
                    table.c.symbol == symbol,
                    table.c.interval == interval,
                    table.c.feature_version == FEATURE_VERSION,
                    table.c.timestamp.in_(stamps),
                )
            )
            written += store.write_rows(
                conn,
                symbol=symbol,
                interval=interval,
                source=source,
                version=FEATURE_VERSION,
                timestamps=pd.DatetimeIndex(pd.to_datetime(stamps, utc=True)),
                bars=np.array([r.bar for r in mine], dtype=np.float64),
                features=np.vstack([r.features for r in mine]),
            )
    return written
