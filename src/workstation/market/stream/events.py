"""What the live feed delivers: plain, immutable domain objects, and the feed's health.

* ``StreamBar``: one bar as the exchange feed reported it. ``kind`` says which stream it came from:
  ``bar`` (a finished minute), ``updated`` (a late correction of a minute already sent), ``daily`` (the
  running daily bar of the session), ``stored`` (read back from the database by a consumer process).
  ``timestamp`` is the bar's start in UTC as Alpaca sends it in ``t``; a daily bar's is the session's
  date at midnight New York (how market_data stores daily bars). Prices are floats as on the wire;
  code that trades converts to Decimal.
* ``StreamTrade`` / ``StreamQuote``: ticks. ``synthetic`` is True when the replay feed made them up
  from bars (never for Alpaca's own data).
* ``FeedStatus``: connected / reconnecting / stale / …, messages per second, lag behind exchange
  time, and who owns the connection. Owners publish it in their lease row, so every process can show it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

BarKind = Literal["bar", "updated", "daily", "stored"]
FeedState = Literal[
    "starting",  # not connected yet
    "connecting",  # the first connection is being made
    "connected",  # authenticated and subscribed; data flows
    "reconnecting",  # the connection dropped or was refused; waiting or retrying
    "stale",  # connected, but no market data for longer than the stale threshold during the session
    "consumer",  # another process owns the connection; bars come from the database
    "stopped",
    "failed",  # a fatal error (bad keys, no subscription for the feed): see ``last_error``
]


@dataclass(frozen=True, slots=True)
class StreamBar:
    symbol: str
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int
    kind: BarKind = "bar"
    trade_count: int | None = None
    vwap: float | None = None
    interval: str = "1m"
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class StreamTrade:
    symbol: str
    timestamp: datetime
    price: float
    size: float
    exchange: str | None = None
    trade_id: int | None = None
    conditions: tuple[str, ...] = ()
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class StreamQuote:
    symbol: str
    timestamp: datetime
    bid_price: float
    bid_size: float
    ask_price: float
    ask_size: float
    synthetic: bool = False


MarketEvent = StreamBar | StreamTrade | StreamQuote


@dataclass(frozen=True)
class FeedStatus:
    """A snapshot of the feed's health, cheap to copy and to publish."""

    state: FeedState = "starting"
    owner: bool = False  # this process holds the data connection
    owner_description: str | None = None  # who does ("feed run, pid 4242 on host")
    feed: str = "iex"
    url: str | None = None
    symbols: tuple[str, ...] = ()
    messages_per_second: float = 0.0
    lag_seconds: float | None = None  # now − exchange time of the newest tick (or bar end)
    last_message_at: datetime | None = None  # wall clock, UTC
    last_bar_at: datetime | None = None  # start of the newest minute bar seen
    connections: int = 0  # successful connections so far (1 = never dropped)
    failures: int = 0  # consecutive failed attempts (0 while connected)
    last_error: str | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> FeedStatus:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["symbols"] = list(self.symbols)
        for key in ("last_message_at", "last_bar_at", "updated_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedStatus:
        values = dict(data)
        values["symbols"] = tuple(values.get("symbols") or ())
        for key in ("last_message_at", "last_bar_at", "updated_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})
