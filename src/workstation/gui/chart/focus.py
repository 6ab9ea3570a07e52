"""A request to show a stretch of one symbol on the chart with marks on it (a backtest trade's entry and exit).

Any panel asks through ``WorkstationContext.focus_chart``; the chart switches symbol (and interval) if
needed, and once those bars are on screen it adds the marks and shows the range with some bars either side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ChartMark:
    time: datetime
    price: float
    up: bool  # a buy (entry of a long) points up
    label: str


@dataclass(frozen=True, slots=True)
class ChartFocus:
    symbol: str
    start: datetime
    end: datetime
    interval: str | None = None
    marks: tuple[ChartMark, ...] = field(default_factory=tuple)
    key: str = "focus"  # the markers' key (markerClicked tells them from fills and predictions)
