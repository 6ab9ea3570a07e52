"""The live window's Qt-free pieces: the coalescing book and the chart's forming bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workstation.gui.live_book import TickBook
from workstation.gui.live_chart import FormingBar
from workstation.market.stream.events import StreamBar, StreamQuote, StreamTrade

OPEN = datetime(2026, 10, 30, 13, 30, tzinfo=UTC)  # 09:30 New York


def _trade(symbol: str, when: datetime, price: float, size: float = 100) -> StreamTrade:
    return StreamTrade(symbol, when, price, size)


def _minute(symbol: str, start: datetime, o: float, h: float, lo: float, c: float, v: int) -> StreamBar:
    return StreamBar(symbol, start, o, h, lo, c, v)


def test_the_book_coalesces_a_burst_into_one_snapshot_per_symbol() -> None:
    wakes: list[int] = []
    book = TickBook(lambda: wakes.append(1))
    book.set_chart_symbol("AAA")
    for i in range(1000):
        book.add(_trade("AAA" if i % 2 else "BBB", OPEN + timedelta(milliseconds=i), 10 + i / 1000))
    book.add(StreamQuote("AAA", OPEN + timedelta(seconds=2), 10.9, 1, 11.1, 1))
    drained = book.drain()
    assert len(wakes) == 1  # woken once for the whole burst
    ticks = {t.symbol: t for t in drained.ticks}
    assert set(ticks) == {"AAA", "BBB"} and drained.messages == 1001
    assert ticks["AAA"].last == 10.999 and ticks["AAA"].bid == 10.9 and ticks["AAA"].ask == 11.1
    assert ticks["AAA"].volume == 500 * 100  # every trade's size counts toward the session volume
    assert len(drained.chart) == 501  # the chart symbol's messages, each one, in order
    assert book.drain().ticks == [] and len(wakes) == 1
    book.add(_trade("AAA", OPEN + timedelta(seconds=3), 11.0))
    assert len(wakes) == 2


def test_the_running_daily_bar_resets_the_session_volume() -> None:
    book = TickBook()
    book.add(_trade("AAA", OPEN, 10.0, 300))
    daily = StreamBar("AAA", datetime(2026, 10, 30, 4, tzinfo=UTC), 9.9, 10.2, 9.8, 10.1, 5000, kind="daily")
    book.add(daily)
    book.add(_trade("AAA", OPEN + timedelta(minutes=1, seconds=5), 10.15, 200))
    tick = book.drain().ticks[0]
    assert tick.volume == 5200 and tick.last == 10.15


def test_a_one_minute_chart_forms_from_trades_then_takes_the_bar() -> None:
    forming = FormingBar("1m", OPEN - timedelta(minutes=1))
    shown = forming.add(_trade("AAA", OPEN + timedelta(seconds=1), 10.0))
    assert shown is not None and (shown.timestamp, shown.open, shown.close, shown.volume) == (OPEN, 10.0, 10.0, 100)
    shown = forming.add(_trade("AAA", OPEN + timedelta(seconds=20), 10.4, 50))
    assert shown is not None and (shown.high, shown.close, shown.volume) == (10.4, 10.4, 150)
    shown = forming.add(_minute("AAA", OPEN, 10.0, 10.5, 9.9, 10.3, 1000))  # the exchange's bar wins
    assert shown is not None and (shown.high, shown.low, shown.close, shown.volume) == (10.5, 9.9, 10.3, 1000)
    assert forming.add(_trade("AAA", OPEN + timedelta(seconds=59), 11.0)) is None  # inside the bar drawn
    late = FormingBar("1m", OPEN + timedelta(minutes=5))
    assert late.add(_minute("AAA", OPEN, 10.0, 10.5, 9.9, 10.3, 1000)) is None  # never out of order


def test_an_hourly_chart_aggregates_minutes_from_the_session_open() -> None:
    forming = FormingBar("1h", OPEN - timedelta(days=1))
    for i in range(3):
        shown = forming.add(_minute("AAA", OPEN + timedelta(minutes=i), 10 + i, 10.5 + i, 9.5 + i, 10.2 + i, 100))
    assert shown is not None and shown.timestamp == OPEN
    assert (shown.open, shown.high, shown.low, shown.close, shown.volume) == (10, 12.5, 9.5, 12.2, 300)
    shown = forming.add(_trade("AAA", OPEN + timedelta(minutes=3, seconds=1), 13.0, 10))
    assert shown is not None and (shown.timestamp, shown.high, shown.close, shown.volume) == (OPEN, 13.0, 13.0, 310)
    shown = forming.add(_trade("AAA", OPEN + timedelta(hours=1, seconds=1), 14.0, 10))  # 10:30: the next bucket
    assert shown is not None and shown.timestamp == OPEN + timedelta(hours=1) and shown.volume == 10


def test_a_daily_chart_follows_the_running_daily_bar_on_its_own_timestamp() -> None:
    stored = datetime(2026, 10, 30, 20, tzinfo=UTC)  # whatever time of day the chart's daily bars carry
    forming = FormingBar("1d", stored)
    daily = StreamBar("AAA", datetime(2026, 10, 30, 4, tzinfo=UTC), 10, 10.5, 9.8, 10.2, 5000, kind="daily")
    shown = forming.add(daily)
    assert shown is not None and shown.timestamp == stored and shown.volume == 5000
    shown = forming.add(_trade("AAA", OPEN + timedelta(minutes=5), 10.6, 100))
    assert shown is not None and (shown.timestamp, shown.high, shown.close, shown.volume) == (stored, 10.6, 10.6, 5100)
    older = StreamBar("AAA", datetime(2026, 10, 29, 4, tzinfo=UTC), 10, 10.5, 9.8, 10.2, 5000, kind="daily")
    assert forming.add(older) is None
