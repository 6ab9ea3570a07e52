from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from yahoo_stub import YahooStub, chart_body, stub_session, utc

from workstation.db.models import StockInfo
from workstation.errors import WorkstationError
from workstation.market.bars import load_bars
from workstation.market.ingest import ingest_yahoo
from workstation.market.providers.yahoo import YahooRequest, fetch_yahoo

START, END = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-10", tz="UTC")


@pytest.fixture(autouse=True, scope="module")
def _yfinance_tz_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yf_tz_cache")))


@pytest.fixture
def stub() -> YahooStub:
    return YahooStub()


def _daily(n: int, first: float = 100.0) -> list[tuple]:
    return [(utc(2024, 1, 2, 5) + timedelta(days=i), first + i, first + i + 1, first + i - 1, first + i + 0.5, 1000 + i)
            for i in range(n)]  # fmt: skip


def test_daily_bars_and_metadata_are_stored(engine: Engine, stub: YahooStub) -> None:
    stub.charts["YDA"] = [(200, chart_body("YDA", _daily(3)))]
    stub.summaries["YDA"] = {
        "assetProfile": {"sector": "Technology", "industry": "Software", "country": "United States"},
        "summaryDetail": {"marketCap": {"raw": 123456789, "fmt": "123M"}},
        "quoteType": {"longName": "YDA Corporation", "exchange": "NMS"},
    }
    summary = ingest_yahoo(engine, ["yda"], start=START, end=END, session=stub_session(stub))
    assert summary.exit_code == 0
    assert summary.symbols["YDA"].inserted == 3
    bars = load_bars(engine, "YDA", "1d", source="yahoo")
    assert list(bars["close"]) == [100.5, 101.5, 102.5]
    assert bars.index[0] == pd.Timestamp("2024-01-02 05:00", tz="UTC")
    with engine.connect() as conn:
        info = conn.execute(select(StockInfo).where(StockInfo.symbol == "YDA")).one()
    assert (info.company_name, info.sector, info.industry, info.market_cap) == (
        "YDA Corporation", "Technology", "Software", 123456789,
    )  # fmt: skip
    assert (info.country, info.currency, info.exchange, info.source) == ("United States", "USD", "NMS", "yahoo")


def test_missing_metadata_stays_null(engine: Engine, stub: YahooStub) -> None:
    stub.charts["YNM"] = [(200, chart_body("YNM", _daily(2)))]
    ingest_yahoo(engine, ["YNM"], start=START, end=END, session=stub_session(stub))
    with engine.connect() as conn:
        info = conn.execute(select(StockInfo).where(StockInfo.symbol == "YNM")).one()
    # Only what the chart answer itself says: name and currency; nothing invented.
    assert (info.company_name, info.currency, info.sector, info.market_cap) == ("YNM Incorporated", "USD", None, None)


def test_rate_limit_is_retried_with_backoff(stub: YahooStub) -> None:
    # yfinance retries once itself with its other cookie strategy, so two 429s make one failed attempt.
    stub.charts["YRL"] = [(429, "Too Many Requests"), (429, "Too Many Requests"), (200, chart_body("YRL", _daily(2)))]
    sleeps: list[float] = []
    batch, _ = fetch_yahoo(["YRL"], YahooRequest(start=START, end=END), session=stub_session(stub), sleep=sleeps.append)
    assert not batch.failures
    assert len(batch.bars) == 2
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 3.0


def test_rate_limit_gives_up_after_bounded_attempts(stub: YahooStub) -> None:
    stub.charts["YRX"] = [(429, "Too Many Requests")] * 20 + [(200, chart_body("YRX", _daily(1)))]
    sleeps: list[float] = []
    batch, _ = fetch_yahoo(
        ["YRX"], YahooRequest(start=START, end=END), session=stub_session(stub), sleep=sleeps.append, max_attempts=3
    )
    assert "rate-limited by Yahoo (HTTP 429) 3 times" in batch.failures["YRX"]
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0] / 3


def test_empty_result_and_unknown_symbol_are_reported_failures(engine: Engine, stub: YahooStub) -> None:
    stub.charts["YEM"] = [(200, chart_body("YEM", []))]
    stub.charts["YOK"] = [(200, chart_body("YOK", _daily(2)))]
    summary = ingest_yahoo(engine, ["YEM", "YOK", "YUNKNOWN"], start=START, end=END, session=stub_session(stub))
    assert set(summary.failures) == {"YEM", "YUNKNOWN"}
    assert summary.failures["YEM"].startswith("Yahoo")
    assert summary.symbols["YOK"].inserted == 2
    assert summary.exit_code == 1


def test_timezone_change_intraday_bars_land_on_the_right_utc_hour(engine: Engine, stub: YahooStub) -> None:
    # The hourly bars around the end of daylight saving time (2024-11-03): 09:30 EDT = 13:30Z, 09:30 EST = 14:30Z.
    friday = utc(2024, 11, 1, 13, 30)
    monday = utc(2024, 11, 4, 14, 30)
    bars = [(friday, 10, 11, 9, 10.5, 100), (friday + timedelta(hours=1), 10.5, 11, 10, 10.8, 100),
            (monday, 10.8, 11.2, 10.1, 11, 200), (monday + timedelta(hours=1), 11, 11.5, 10.9, 11.4, 150)]  # fmt: skip
    stub.charts["YTZ"] = [(200, chart_body("YTZ", bars, granularity="60m"))]
    batch, _ = fetch_yahoo(
        ["YTZ"],
        YahooRequest(interval="1h", period="1mo"),
        session=stub_session(stub),
    )
    assert not batch.failures
    stamps = list(batch.bars["timestamp"])
    assert stamps == [pd.Timestamp(b[0]) for b in bars]
    local = [t.tz_convert("America/New_York").strftime("%H:%M") for t in stamps]
    assert local == ["09:30", "10:30", "09:30", "10:30"]
    assert set(batch.bars["interval"]) == {"1h"}


def test_intraday_history_limit_is_a_clear_usage_error(engine: Engine) -> None:
    with pytest.raises(WorkstationError, match="Yahoo keeps 15m bars for the last 60 days only") as caught:
        ingest_yahoo(engine, ["AAPL"], interval="15m", period="1y")
    assert caught.value.exit_code == 2
    with pytest.raises(WorkstationError, match="Yahoo has no '4h' bars"):
        ingest_yahoo(engine, ["AAPL"], interval="4h")


def test_since_last_fetches_only_newer_bars(engine: Engine, stub: YahooStub) -> None:
    symbol = f"YSL{engine.dialect.name[0].upper()}"  # yfinance caches answers per URL within the process
    stub.charts[symbol] = [(200, chart_body(symbol, _daily(3)))]
    session = stub_session(stub)
    ingest_yahoo(engine, [symbol], start=START, end=END, session=session)
    stub.charts[symbol] = [(200, chart_body(symbol, _daily(5)[3:]))]
    stub.requests.clear()
    summary = ingest_yahoo(engine, [symbol], end=END, since_last=True, session=session)
    assert summary.symbols[symbol].inserted == 2
    assert summary.exit_code == 0
    history_calls = [r for r in stub.requests if f"/v8/finance/chart/{symbol}" in r and "period1" in r]
    newest_stored = utc(2024, 1, 4, 5)
    assert f"period1={int((newest_stored + timedelta(days=1)).timestamp())}" in history_calls[0]
    assert len(load_bars(engine, symbol, "1d")) == 5
