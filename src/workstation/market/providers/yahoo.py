"""Yahoo Finance through yfinance: daily and intraday bars plus company metadata.

yfinance hides failures as empty frames by default; we switch that off so an unknown symbol or an
outage is an error for that symbol, and an empty answer is reported too. Prices are fetched with
auto_adjust=False: Yahoo's Open/High/Low/Close are split-adjusted but not dividend-adjusted, which is
what market_data stores. A rate limit (HTTP 429) is retried with exponential backoff and jitter.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import requests

from workstation.errors import InvalidInputError, WorkstationError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.market.frame import INTERVALS, ProviderBatch, empty_bars, empty_splits, is_intraday

log = logging.getLogger(__name__)

SOURCE = "yahoo"
YAHOO_INTERVALS = ("1m", "2m", "5m", "15m", "30m", "1h", "1d", "1wk", "1mo")
# How far back Yahoo serves each intraday interval.
HISTORY_LIMIT = {
    "1m": pd.Timedelta(days=30),
    "2m": pd.Timedelta(days=60),
    "5m": pd.Timedelta(days=60),
    "15m": pd.Timedelta(days=60),
    "30m": pd.Timedelta(days=60),
    "1h": pd.Timedelta(days=730),
}
_PERIOD_UNITS = {"d": "days", "wk": "weeks", "mo": "months", "y": "years"}


@dataclass
class YahooRequest:
    interval: str = "1d"
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    period: str | None = None
    # Per-symbol start overriding ``start`` (the --since last case).
    starts: dict[str, pd.Timestamp] = field(default_factory=dict)


def period_length(period: str) -> pd.DateOffset | None:
    """'2y' -> 2 years, '60d' -> 60 days; None for 'max'/'ytd'. Raises on nonsense."""
    if period in ("max", "ytd"):
        return None
    for suffix, unit in _PERIOD_UNITS.items():
        number = period[: -len(suffix)]
        if period.endswith(suffix) and number.isdigit() and int(number) > 0:
            return pd.DateOffset(**{unit: int(number)})  # type: ignore[arg-type]
    raise InvalidInputError(f"bad period {period!r}: use e.g. 5d, 3mo, 2y, ytd or max")


def check_request(request: YahooRequest, now: pd.Timestamp | None = None) -> None:
    """Refuse what Yahoo cannot serve, with a message that says what it can."""
    if request.interval not in YAHOO_INTERVALS:
        raise InvalidInputError(
            f"Yahoo has no {request.interval!r} bars: use one of {', '.join(YAHOO_INTERVALS)}",
        )
    if request.period and (request.start is not None and request.end is not None):
        raise InvalidInputError("give --period or --start/--end, not all three")
    if request.start is not None and request.end is not None and request.end <= request.start:
        raise InvalidInputError("--end must be after --start")
    limit = HISTORY_LIMIT.get(request.interval)
    if limit is None:
        return
    now = now or pd.Timestamp.now(tz="UTC")
    earliest = now - limit
    asked = request.start
    if request.period:
        length = period_length(request.period)
        asked = earliest - pd.Timedelta(days=1) if length is None else now - length
    if asked is not None and asked < earliest - pd.Timedelta(hours=1):
        raise InvalidInputError(
            f"Yahoo keeps {request.interval} bars for the last {limit.days} days only "
            f"(since {earliest.date()}); ask for a later --start or a shorter --period, or use 1d bars",
        )


def _chart_frame(history: pd.DataFrame, symbol: str, interval: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    index = pd.DatetimeIndex(history.index)
    if index.tz is None:  # yfinance always localises; be safe rather than guess
        raise WorkstationError(f"{symbol}: Yahoo returned timestamps without a time zone")
    stamps = index.tz_convert("UTC")
    bars = pd.DataFrame(
        {
            "row": range(1, len(history) + 1),
            "symbol": symbol,
            "interval": interval,
            "timestamp": stamps,
            "open": history["Open"].to_numpy(),
            "high": history["High"].to_numpy(),
            "low": history["Low"].to_numpy(),
            "close": history["Close"].to_numpy(),
            "volume": history["Volume"].to_numpy(),
            "source": SOURCE,
        }
    )
    splits = empty_splits()
    if "Stock Splits" in history.columns:
        ratios = pd.to_numeric(history["Stock Splits"], errors="coerce").to_numpy()
        mask = (ratios > 0) & (abs(ratios - 1) > 1e-9)
        splits = pd.DataFrame({"symbol": symbol, "timestamp": stamps[mask], "ratio": ratios[mask]})
    return bars, splits


def metadata_from_yahoo(chart_meta: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """stock_info fields from the chart's metadata and (when it loaded) the quote summary."""

    def first(*values: Any) -> Any:
        return next((v for v in values if v not in (None, "", 0)), None)

    return {
        "company_name": first(info.get("longName"), info.get("shortName"), chart_meta.get("longName"),
                              chart_meta.get("shortName")),
        "sector": first(info.get("sector")),
        "industry": first(info.get("industry")),
        "market_cap": first(info.get("marketCap")),
        "country": first(info.get("country")),
        "currency": first(info.get("currency"), chart_meta.get("currency")),
        "exchange": first(info.get("exchange"), chart_meta.get("exchangeName"), info.get("fullExchangeName")),
    }  # fmt: skip


def _chart_meta(ticker: Any) -> dict[str, Any]:
    """The fields we use from the chart answer's metadata (yfinance's mapping is lazy and may raise)."""
    out: dict[str, Any] = {}
    try:
        meta = ticker.history_metadata
        for key in ("currency", "exchangeName", "longName", "shortName", "exchangeTimezoneName"):
            try:
                out[key] = meta[key]
            except (KeyError, TypeError):
                continue
    except Exception as exc:  # never let metadata spoil the bars
        log.debug("no chart metadata: %s", exc)
    return out


def _describe(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(exc, requests.HTTPError) and response is not None:
        path = (response.url or "").split("?", 1)[0].split("finance.yahoo.com", 1)[-1]
        hint = " (unknown symbol?)" if response.status_code == 404 else ""
        return f"HTTP {response.status_code} from {path}{hint}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def fetch_yahoo(
    symbols: list[str],
    request: YahooRequest,
    *,
    session: requests.Session | None = None,
    max_attempts: int = 5,
    base_delay: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    with_metadata: bool = True,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[ProviderBatch, dict[str, dict[str, Any]]]:
    """Bars for ``symbols`` (one request per symbol) and their metadata, failures reported per symbol."""
    import yfinance as yf
    from yfinance.exceptions import YFRateLimitError

    check_request(request)
    yf.config.debug.hide_exceptions = False  # errors must surface, not become empty frames
    frames: list[pd.DataFrame] = [empty_bars()]
    split_frames: list[pd.DataFrame] = [empty_splits()]
    failures: dict[str, str] = {}
    metadata: dict[str, dict[str, Any]] = {}
    fetch_interval = "60m" if request.interval == "1h" else request.interval
    for number, symbol in enumerate(symbols, start=1):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(ProgressUpdate(number - 1, len(symbols), f"Yahoo {symbol}"))
        ticker = yf.Ticker(symbol, session=session)
        start = request.starts.get(symbol, request.start)
        kwargs: dict[str, Any] = {"interval": fetch_interval, "auto_adjust": False, "actions": True}
        if start is not None:
            kwargs["start"] = start
            if request.end is not None:
                kwargs["end"] = request.end
            if start >= (request.end or pd.Timestamp.now(tz="UTC")):
                metadata[symbol] = {}
                continue  # up to date: nothing newer can exist yet
        else:
            kwargs["period"] = request.period or ("max" if not is_intraday(request.interval) else "60d")
            if request.end is not None:
                kwargs.pop("period")
                kwargs["end"] = request.end
                kwargs["start"] = request.end - (period_length(request.period or "1y") or pd.DateOffset(years=1))
        history: pd.DataFrame | None = None
        for attempt in range(1, max_attempts + 1):
            try:
                history = ticker.history(**kwargs)
                break
            except YFRateLimitError:
                if attempt == max_attempts:
                    failures[symbol] = f"rate-limited by Yahoo (HTTP 429) {max_attempts} times; try again later"
                    break
                delay = min(60.0, base_delay * 2 ** (attempt - 1)) * (0.5 + random.random())
                log.warning("%s: Yahoo rate limit, retrying in %.1fs (attempt %d)", symbol, delay, attempt)
                sleep(delay)
            except Exception as exc:  # yfinance raises many types (YF*Error, HTTP, JSON, KeyError on odd answers)
                failures[symbol] = f"Yahoo: {_describe(exc)}"
                break
        if history is None:
            continue
        if history.empty:
            failures[symbol] = f"Yahoo returned no {request.interval} bars (unknown symbol or nothing in the range)"
            continue
        bars, splits = _chart_frame(history, symbol, request.interval)
        frames.append(bars)
        split_frames.append(splits)
        if with_metadata:
            chart_meta = _chart_meta(ticker)
            info: dict[str, Any] = {}
            try:
                info = dict(ticker.info or {})
            except Exception as exc:  # metadata is a bonus: missing fields stay NULL
                log.warning("%s: no company metadata from Yahoo (%s)", symbol, _describe(exc))
            metadata[symbol] = metadata_from_yahoo(chart_meta, info)
    progress(ProgressUpdate(len(symbols), len(symbols), "Yahoo done"))
    bars = pd.concat([f for f in frames if not f.empty] or [empty_bars()], ignore_index=True)
    splits = pd.concat([f for f in split_frames if not f.empty] or [empty_splits()], ignore_index=True)
    return ProviderBatch(bars=bars, splits=splits, failures=failures, prices_adjusted=True), metadata


def interval_length(interval: str) -> pd.Timedelta:
    return INTERVALS[interval]
