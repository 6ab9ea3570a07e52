"""The chart's forming bar from the live messages of its symbol (Qt-free).

The chart shows bars of one interval; the feed delivers minute bars, the running daily bar, and trades
in between. ``FormingBar.add`` turns each message into the bar to show (or None when it does not touch
the chart): the caller hands the result to ``ChartPanel.update_live_bar``.

* **1m**: each minute bar is its own bar; trades form the next minute until its bar arrives.
* **5m … 1h**: minutes are aggregated on the exchange calendar (market.aggregate.LiveAggregator:
  buckets aligned to the session open), trades extend the forming bucket.
* **1d**: the running daily bar (``d``) is the day so far; trades after it extend it. The bar is the
  session's: its timestamp is the chart's own daily timestamp for that New York date.
* A message older than the chart's newest bar is not drawn (the chart never gets a bar out of order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from workstation.market.aggregate import MINUTES, LiveAggregator
from workstation.market.calendar import EXCHANGE_TZ
from workstation.market.stream.events import MarketEvent, StreamBar, StreamTrade


@dataclass(frozen=True, slots=True)
class ShownBar:
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


_NEW_YORK = ZoneInfo(EXCHANGE_TZ)


def _ny_date(moment: datetime) -> date:
    """The New York date of ``moment`` (zoneinfo: a tick's cost, where pandas costs tens of µs)."""
    return moment.astimezone(_NEW_YORK).date()


class FormingBar:
    """The live bar of one symbol at one chart interval; ``last_time`` is the chart's newest bar."""

    def __init__(self, interval: str, last_time: datetime | None) -> None:
        self.interval = interval
        self.last_time = last_time
        self._daily = interval == "1d"
        self._aggregator = LiveAggregator((interval,)) if interval in MINUTES and interval != "1m" else None
        self._base: ShownBar | None = None  # from bars: the bucket so far
        self._base_until: datetime | None = None  # trades before this are inside the base already
        self._partial: ShownBar | None = None  # trades after the base

    @property
    def supported(self) -> bool:
        return self._daily or self.interval in MINUTES

    def add(self, event: MarketEvent) -> ShownBar | None:
        if not self.supported:
            return None
        if isinstance(event, StreamBar):
            return self._bar(event)
        if isinstance(event, StreamTrade):
            return self._trade(event)
        return None  # quotes do not move a bar

    # -- bars --------------------------------------------------------------------------------------------
    def _bar(self, bar: StreamBar) -> ShownBar | None:
        daily_bar = bar.kind == "daily" or bar.interval == "1d"
        if self._daily:
            if not daily_bar:
                return None
            stamp = self._daily_stamp(bar.timestamp)
            if stamp is None:
                return None
            self._base = ShownBar(stamp, bar.open, bar.high, bar.low, bar.close, bar.volume)
            self._base_until = None  # the running day includes every trade so far
            self._partial = None
            return self._shown()
        if daily_bar or bar.interval != "1m":
            return None
        minute_end = bar.timestamp + timedelta(minutes=1)
        if self._aggregator is None:  # 1m
            shown = ShownBar(bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume)
        else:
            updated = self._aggregator.add(bar)
            if not updated:
                return None  # outside regular hours
            live = updated[0]
            shown = ShownBar(live.timestamp, live.open, live.high, live.low, live.close, live.volume)
        if self.last_time is not None and shown.timestamp < self.last_time:
            return None
        self._base = shown
        self._base_until = minute_end
        if self._partial is not None and self._partial_minute is not None and self._partial_minute < minute_end:
            self._partial = None
        return self._shown()

    def _daily_stamp(self, moment: datetime) -> datetime | None:
        """The chart's timestamp for ``moment``'s session: its newest bar's when the date matches."""
        if self.last_time is None:
            return moment
        day, last_day = _ny_date(moment), _ny_date(self.last_time)
        if day == last_day:
            return self.last_time
        return moment if day > last_day else None

    # -- trades ------------------------------------------------------------------------------------------
    _partial_minute: datetime | None = None

    def _trade(self, trade: StreamTrade) -> ShownBar | None:
        if self._base_until is not None and trade.timestamp < self._base_until:
            return None  # already inside the minute bar drawn
        bucket = self._bucket_of(trade.timestamp)
        if bucket is None:
            return None
        price, size = trade.price, float(trade.size)
        partial = self._partial
        if partial is None or partial.timestamp != bucket:
            partial = ShownBar(bucket, price, price, price, price, size)
        else:
            partial = ShownBar(
                bucket, partial.open, max(partial.high, price), min(partial.low, price), price, partial.volume + size
            )
        self._partial = partial
        self._partial_minute = trade.timestamp.replace(second=0, microsecond=0)
        return self._shown()

    def _bucket_of(self, moment: datetime) -> datetime | None:
        if self._daily:
            return self._daily_stamp(moment)
        minutes = MINUTES[self.interval]
        if self.interval == "1m":
            bucket = moment.replace(second=0, microsecond=0)
        else:
            base = self._base
            start = moment.replace(second=0, microsecond=0)
            if base is not None and base.timestamp <= start < base.timestamp + timedelta(minutes=minutes):
                bucket = base.timestamp
            else:
                session = self._aggregator.calendar.session_at(moment) if self._aggregator is not None else None
                if session is None:
                    return None
                offset = int((start - session.open).total_seconds() // 60) // minutes * minutes
                bucket = session.open + timedelta(minutes=offset)
        if self.last_time is not None and bucket < self.last_time:
            return None
        return bucket

    # -- result ------------------------------------------------------------------------------------------
    def _shown(self) -> ShownBar | None:
        base, partial = self._base, self._partial
        if partial is None:
            return base
        if base is None or partial.timestamp > base.timestamp:
            return partial
        if partial.timestamp < base.timestamp:
            return base
        return ShownBar(
            base.timestamp,
            base.open,
            max(base.high, partial.high),
            min(base.low, partial.low),
            partial.close,
            base.volume + partial.volume,
        )
