"""A requests transport adapter that answers like Yahoo's chart and quote endpoints, offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

Handler = Callable[[str, dict[str, list[str]]], tuple[int, Any]]


def chart_body(
    symbol: str,
    bars: list[tuple[datetime, float, float, float, float, int]],
    *,
    granularity: str = "1d",
    tz: str = "America/New_York",
    splits: dict[datetime, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """A /v8/finance/chart/{symbol} answer as Yahoo sends it (epoch seconds, parallel value lists)."""
    offset = int(datetime.now(ZoneInfo(tz)).utcoffset().total_seconds())  # type: ignore[union-attr]
    period = {"timezone": "EST", "start": 0, "end": 0, "gmtoffset": offset}
    events: dict[str, Any] = {}
    if splits:
        events["splits"] = {
            str(int(t.timestamp())): {
                "date": int(t.timestamp()),
                "numerator": n,
                "denominator": d,
                "splitRatio": f"{n}:{d}",
            }
            for t, (n, d) in splits.items()
        }
    result: dict[str, Any] = {
        "meta": {
            "currency": "USD", "symbol": symbol, "exchangeName": "NMS", "fullExchangeName": "NasdaqGS",
            "instrumentType": "EQUITY", "firstTradeDate": 345479400, "regularMarketTime": 1700000000,
            "hasPrePostMarketData": True, "gmtoffset": offset, "timezone": "EST", "exchangeTimezoneName": tz,
            "regularMarketPrice": bars[-1][4] if bars else 1.0, "longName": f"{symbol} Incorporated",
            "shortName": f"{symbol} Inc.", "chartPreviousClose": 1.0, "priceHint": 2,
            "currentTradingPeriod": {"pre": period, "regular": period, "post": period},
            "dataGranularity": granularity, "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        },
    }  # fmt: skip
    if bars:
        result["timestamp"] = [int(b[0].timestamp()) for b in bars]
        quote = {
            "open": [b[1] for b in bars], "high": [b[2] for b in bars], "low": [b[3] for b in bars],
            "close": [b[4] for b in bars], "volume": [b[5] for b in bars],
        }  # fmt: skip
        result["indicators"] = {"quote": [quote], "adjclose": [{"adjclose": [b[4] for b in bars]}]}
    else:
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
    if events:
        result["events"] = events
    if granularity.endswith(("m", "h")):  # intraday answers list each day's regular session
        result["meta"]["tradingPeriods"] = _trading_periods(bars, tz)
    return {"chart": {"result": [result], "error": None}}


def _trading_periods(bars: list[tuple[datetime, float, float, float, float, int]], tz: str) -> list[Any]:
    zone = ZoneInfo(tz)
    days = sorted({b[0].astimezone(zone).date() for b in bars})
    periods = []
    for day in days:
        opens = datetime(day.year, day.month, day.day, 9, 30, tzinfo=zone)
        closes = datetime(day.year, day.month, day.day, 16, 0, tzinfo=zone)
        offset = int(opens.utcoffset().total_seconds())  # type: ignore[union-attr]
        name = opens.tzname()
        periods.append(
            [{"timezone": name, "start": int(opens.timestamp()), "end": int(closes.timestamp()), "gmtoffset": offset}]
        )
    return periods


def no_data_body(symbol: str) -> dict[str, Any]:
    error = {"code": "Not Found", "description": f"No data found, symbol may be delisted: {symbol}"}
    return {"chart": {"result": None, "error": error}}


class YahooStub(BaseAdapter):
    """Routes by path; ``charts[symbol]`` is a list of answers served in turn (the last one repeats)."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[tuple[int, Any]]] = {}
        self.summaries: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        url = urlparse(request.url or "")
        self.requests.append(f"{url.netloc}{url.path}?{url.query}")
        query = parse_qs(url.query)
        status, body = 404, {"error": "not found"}
        if url.netloc == "fc.yahoo.com":
            status, body = 404, ""
        elif url.path.endswith("/v1/test/getcrumb"):
            status, body = 200, "stubcrumb"
        elif url.path.startswith("/v8/finance/chart/"):
            symbol = url.path.rsplit("/", 1)[1]
            answers = self.charts.get(symbol)
            if answers:
                is_tz_probe = query.get("range") == ["1d"] and "period1" not in query
                status, body = answers[0] if (is_tz_probe or len(answers) == 1) else answers.pop(0)
                if is_tz_probe and status == 429:
                    status, body = 200, _first_ok(answers)
            else:
                status, body = 404, no_data_body(symbol)
        elif url.path.startswith("/v10/finance/quoteSummary/"):
            symbol = url.path.rsplit("/", 1)[1]
            if symbol in self.summaries:
                status, body = 200, {"quoteSummary": {"result": [self.summaries[symbol]], "error": None}}
        elif url.path.startswith("/v7/finance/quote"):
            status, body = 200, {"quoteResponse": {"result": [], "error": None}}
        return _response(request, status, body)

    def close(self) -> None:
        pass


def _first_ok(answers: list[tuple[int, Any]]) -> Any:
    return next(body for status, body in answers if status == 200)


def _response(request: PreparedRequest, status: int, body: Any) -> Response:
    response = Response()
    response.status_code = status
    response._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    response.headers["Content-Type"] = "text/plain" if isinstance(body, str) else "application/json"
    response.url = request.url or ""
    response.request = request
    response.encoding = "utf-8"
    return response


def stub_session(stub: YahooStub) -> requests.Session:
    session = requests.Session()
    session.mount("https://", stub)
    session.mount("http://", stub)
    return session


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
