"""The exchange calendar (XNYS): holidays, early closes, daylight saving, and the rules that use it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import Engine

from workstation.market.calendar import session_open_at, xnys
from workstation.market.providers.synthetic import generate_universe
from workstation.market.store import store_bars
from workstation.monitoring.alerts import evaluate_alerts


def test_holidays_have_no_session() -> None:
    calendar = xnys()
    assert calendar.session_on(date(2025, 7, 4)) is None  # Independence Day
    assert calendar.session_on(date(2025, 4, 18)) is None  # Good Friday: NYSE closed, not a federal holiday
    assert calendar.session_on(date(2025, 10, 13)) is not None  # Columbus Day: federal holiday, NYSE open
    noon_on_holiday = datetime(2025, 7, 4, 16, 0, tzinfo=UTC)
    assert not calendar.is_open(noon_on_holiday)
    assert session_open_at(noon_on_holiday) is None
    # The current session on the holiday is the one before it; the next one is the day after.
    assert calendar.current_session(noon_on_holiday).day == date(2025, 7, 3)
    assert calendar.next_session(noon_on_holiday).day == date(2025, 7, 7)


def test_early_close_and_daylight_saving() -> None:
    calendar = xnys()
    half_day = calendar.session_on(date(2025, 11, 28))  # the day after Thanksgiving closes at 13:00
    assert half_day is not None and half_day.early_close
    assert (half_day.open, half_day.close) == (datetime(2025, 11, 28, 14, 30, tzinfo=UTC),
                                               datetime(2025, 11, 28, 18, 0, tzinfo=UTC))  # fmt: skip
    assert half_day.minutes == 210
    assert len(half_day.minute_starts()) == 210
    assert calendar.is_open(datetime(2025, 11, 28, 17, 59, tzinfo=UTC))
    assert not calendar.is_open(datetime(2025, 11, 28, 18, 0, tzinfo=UTC))
    summer = calendar.session_on(date(2025, 7, 3))  # also an early close, in daylight saving time
    assert summer is not None and summer.close == datetime(2025, 7, 3, 17, 0, tzinfo=UTC)
    full = calendar.session_on(date(2025, 11, 26))
    assert full is not None and not full.early_close and full.minutes == 390
    assert full.open == datetime(2025, 11, 26, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert calendar.session_on(date(2025, 6, 11)).open == datetime(2025, 6, 11, 13, 30, tzinfo=UTC)  # type: ignore[union-attr]


def test_sessions_and_vectorised_opens() -> None:
    calendar = xnys()
    days = [s.day for s in calendar.sessions(date(2025, 12, 22), date(2026, 1, 5))]
    assert date(2025, 12, 25) not in days and date(2026, 1, 1) not in days
    assert date(2025, 12, 24) in days  # an early close, still a session
    stamps = pd.DatetimeIndex(
        ["2025-11-28 14:29", "2025-11-28 14:30", "2025-11-28 17:59", "2025-11-28 18:00", "2025-07-04 15:00"], tz="UTC"
    )
    opens = calendar.regular_opens(stamps)
    assert opens.isna().tolist() == [True, False, False, True, True]
    assert opens[1] == pd.Timestamp("2025-11-28 14:30", tz="UTC")


def test_far_dates_rebuild_the_calendar() -> None:
    assert xnys().session_on(date(1995, 3, 1)) is not None
    assert xnys().session_on(date(1995, 12, 25)) is None


def _minute_bar(engine: Engine, symbol: str, start: datetime) -> None:
    frame = pd.DataFrame(
        {"row": [1], "symbol": [symbol], "interval": ["1m"], "timestamp": [pd.Timestamp(start)], "open": [10.0],
         "high": [10.0], "low": [10.0], "close": [10.0], "volume": [1], "source": ["test"]}
    )  # fmt: skip
    assert not store_bars(engine, frame).failures


def test_stale_data_alert_follows_the_calendar(engine: Engine) -> None:
    """Quiet data is normal on a holiday and after an early close; during the session it is stale."""
    _minute_bar(engine, "AAPL", datetime(2025, 11, 28, 15, 0, tzinfo=UTC))

    def stale(now: datetime) -> bool:
        return any(a.rule == "market_data_stale" for a in evaluate_alerts(engine, now=now))

    assert stale(datetime(2025, 11, 28, 17, 30, tzinfo=UTC))  # 12:30 on the half day: 2.5 h without a bar
    assert not stale(datetime(2025, 11, 28, 18, 30, tzinfo=UTC))  # 13:30: closed early, not stale
    assert not stale(datetime(2025, 11, 27, 17, 30, tzinfo=UTC))  # Thanksgiving: a weekday, no session


def test_demo_universe_trades_on_exchange_sessions() -> None:
    universe = generate_universe(symbols=2, years=1, seed=3, end="2025-12-05")
    daily = universe.daily.bars
    local_days = set(daily["timestamp"].dt.tz_convert("America/New_York").dt.date)
    assert date(2025, 4, 18) not in local_days  # Good Friday
    assert date(2025, 10, 13) in local_days  # Columbus Day
    hourly = universe.hourly.bars
    symbol = str(hourly["symbol"].iloc[0])
    on_half_day = hourly["timestamp"].dt.tz_convert("America/New_York").dt.date == date(2025, 11, 28)
    half_day = hourly[(hourly["symbol"] == symbol) & on_half_day]
    starts = half_day["timestamp"].dt.tz_convert("America/New_York").dt.strftime("%H:%M").tolist()
    assert starts == ["09:30", "10:30", "11:30", "12:30"]  # nothing after the 13:00 close
    day_bar = daily[(daily["symbol"] == symbol)
                    & (daily["timestamp"].dt.tz_convert("America/New_York").dt.date == date(2025, 11, 28))]  # fmt: skip
    assert half_day["close"].iloc[-1] == day_bar["close"].iloc[0]  # the folded last bar ends at the day's close
    assert half_day["high"].max() <= day_bar["high"].iloc[0] + 1e-9
    assert half_day["low"].min() >= day_bar["low"].iloc[0] - 1e-9
