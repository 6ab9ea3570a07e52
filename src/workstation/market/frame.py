"""The bar frame every provider returns and every later stage (validation, adjustment, store) takes.

One row per bar, columns ``BAR_FRAME_COLUMNS``: ``timestamp`` is tz-aware UTC (the bar's start; a daily
bar starts at midnight New York time), prices are float64, ``volume`` int64, and ``row`` is the number a
person would use to find the bar in the source (the CSV line, the position in the API answer) so a
rejected bar can be reported precisely. Corporate actions travel next to the bars in ``ProviderBatch``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

BAR_FRAME_COLUMNS = ("row", "symbol", "interval", "timestamp", "open", "high", "low", "close", "volume", "source")
PRICE_COLUMNS = ("open", "high", "low", "close")
SPLIT_COLUMNS = ("symbol", "timestamp", "ratio")

# Intervals as market_data stores them, with their length (used for --since last and limits).
INTERVALS: dict[str, pd.Timedelta] = {
    "1m": pd.Timedelta(minutes=1),
    "2m": pd.Timedelta(minutes=2),
    "5m": pd.Timedelta(minutes=5),
    "15m": pd.Timedelta(minutes=15),
    "30m": pd.Timedelta(minutes=30),
    "1h": pd.Timedelta(hours=1),
    "1d": pd.Timedelta(days=1),
    "1wk": pd.Timedelta(weeks=1),
    "1mo": pd.Timedelta(days=30),
}


def is_intraday(interval: str) -> bool:
    return interval in INTERVALS and INTERVALS[interval] < pd.Timedelta(days=1)


def empty_bars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "symbol": pd.Series(dtype="object"),
            "interval": pd.Series(dtype="object"),
            "timestamp": pd.Series(dtype="datetime64[us, UTC]"),
            **{c: pd.Series(dtype="float64") for c in PRICE_COLUMNS},
            "volume": pd.Series(dtype="int64"),
            "source": pd.Series(dtype="object"),
        }
    )


def empty_splits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype="object"),
            "timestamp": pd.Series(dtype="datetime64[us, UTC]"),
            "ratio": pd.Series(dtype="float64"),
        }
    )


@dataclass
class Reject:
    """A bar that was not stored, with where to find it and why."""

    row: int | None
    symbol: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"row": self.row, "symbol": self.symbol, "reason": self.reason}


@dataclass
class ProviderBatch:
    """What a provider hands over: raw bars (not yet validated), split events, rows it could not parse,
    and symbols it could not fetch at all (symbol -> one-line reason)."""

    bars: pd.DataFrame
    splits: pd.DataFrame = field(default_factory=empty_splits)
    rejects: list[Reject] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    # Set when the provider already delivers split-adjusted prices (Yahoo, Alpaca adjustment=split):
    # the split events are then informational and must not be applied again.
    prices_adjusted: bool = False
    # Set when the provider refused the credentials or the subscription (HTTP 401/403): the reason. Every
    # symbol asked for failed for it, and will again until the configuration changes.
    access_refused: str | None = None
    # Set when the source has no volume at all (a CSV read with --no-volume): volume is 0 on every bar,
    # which does not mean that nothing traded.
    no_volume: bool = False


def normalise_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a provider's frame to the bar-frame dtypes (UTC timestamps at microsecond precision)."""
    out = frame.loc[:, list(BAR_FRAME_COLUMNS)].copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True).astype("datetime64[us, UTC]")
    for column in PRICE_COLUMNS:
        out[column] = out[column].astype(np.float64)
    out["volume"] = out["volume"].astype(np.int64)
    out["row"] = out["row"].astype(np.int64)
    for column in ("symbol", "interval", "source"):
        out[column] = out[column].astype(object)
    return out.reset_index(drop=True)
