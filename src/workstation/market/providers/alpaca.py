"""Alpaca market data through alpaca-py's StockHistoricalDataClient.

Credentials come from APCA_API_KEY_ID / APCA_API_SECRET_KEY and the data URL from APCA_API_DATA_URL
(passed as ``url_override``, which is also how tests point it at a local server). alpaca-py follows
``next_page_token`` itself and retries HTTP 429 a few times; what still fails becomes a one-line reason.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import pandas as pd

from workstation.errors import ConfigurationError, InvalidInputError
from workstation.jobs import CancelToken, ProgressCallback, ProgressUpdate, no_progress
from workstation.market.frame import ProviderBatch, empty_bars
from workstation.vendor_warnings import importing_alpaca

SOURCE = "alpaca"
TIMEFRAMES = {"1Min": "1m", "5Min": "5m", "15Min": "15m", "30Min": "30m", "1Hour": "1h", "1Day": "1d", "1Week": "1wk"}
FEEDS = ("iex", "sip")
ADJUSTMENTS = ("raw", "split", "dividend", "all")
# Symbols per request: Alpaca pages across all of them, so a moderate group keeps pages useful.
GROUP_SIZE = 50

# Wrong keys (401) or a data subscription that does not cover the request (403): a configuration to fix,
# not a symbol that failed (ProviderBatch.access_refused; ingest alpaca exits 2).
REFUSED_ACCESS = (401, 403)
_STATUS_HINTS = {
    401: "Alpaca refused the API keys (HTTP 401): check APCA_API_KEY_ID and APCA_API_SECRET_KEY",
    403: "Alpaca refused the request (HTTP 403): the account's data subscription does not cover it "
    "(use --feed iex, or a more recent --start for SIP data)",
    422: "Alpaca rejected the request parameters (HTTP 422)",
    429: "Alpaca rate limit (HTTP 429) still hit after alpaca-py's retries; try again later",
}


def make_client(url_override: str | None = None, *, key_id: str | None = None, secret_key: str | None = None) -> Any:
    """The historical data client; keys from the arguments (the live feed passes its own) or the environment."""
    with importing_alpaca():
        from alpaca.data.historical import StockHistoricalDataClient

    key = key_id or os.environ.get("APCA_API_KEY_ID")
    secret = secret_key or os.environ.get("APCA_API_SECRET_KEY")
    if not key or not secret:
        raise ConfigurationError("Alpaca market data needs APCA_API_KEY_ID and APCA_API_SECRET_KEY in the environment")
    url = url_override or os.environ.get("APCA_API_DATA_URL") or None
    return StockHistoricalDataClient(api_key=key, secret_key=secret, url_override=url)


def describe_api_error(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    message = ""
    try:
        message = str(json.loads(str(exc)).get("message", ""))
    except (ValueError, AttributeError):
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    base = _STATUS_HINTS.get(status or 0, f"Alpaca answered HTTP {status}" if status else "Alpaca request failed")
    return f"{base}: {message}" if message else base


def fetch_alpaca(
    symbols: list[str],
    *,
    timeframe: str = "1Day",
    start: datetime | None = None,
    end: datetime | None = None,
    feed: str = "iex",
    adjustment: str = "split",
    starts: dict[str, datetime] | None = None,
    client: Any = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ProviderBatch:
    """Bars for ``symbols``; with ``starts`` (the --since last case) each symbol is asked from its own start."""
    with importing_alpaca():
        from alpaca.common.exceptions import APIError
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.requests import StockBarsRequest
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    if timeframe not in TIMEFRAMES:
        raise InvalidInputError(f"unknown timeframe {timeframe!r}: use one of {', '.join(TIMEFRAMES)}")
    if feed not in FEEDS:
        raise InvalidInputError(f"unknown feed {feed!r}: use iex or sip")
    if adjustment not in ADJUSTMENTS:
        raise InvalidInputError(f"unknown adjustment {adjustment!r}: use {', '.join(ADJUSTMENTS)}")
    client = client or make_client()
    amount = int("".join(ch for ch in timeframe if ch.isdigit()))
    unit = {"Min": TimeFrameUnit.Minute, "Hour": TimeFrameUnit.Hour, "Day": TimeFrameUnit.Day,
            "Week": TimeFrameUnit.Week}[timeframe.lstrip("0123456789")]  # fmt: skip
    interval = TIMEFRAMES[timeframe]
    groups: dict[datetime | None, list[str]] = {}
    for symbol in symbols:
        groups.setdefault((starts or {}).get(symbol, start), []).append(symbol)
    requests_to_make = [
        (group_start, names[i : i + GROUP_SIZE])
        for group_start, names in groups.items()
        for i in range(0, len(names), GROUP_SIZE)
    ]
    frames: list[pd.DataFrame] = []
    failures: dict[str, str] = {}
    refused: str | None = None
    for done, (group_start, names) in enumerate(requests_to_make):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(ProgressUpdate(done, len(requests_to_make), f"Alpaca {names[0]}…"))
        request = StockBarsRequest(
            symbol_or_symbols=names,
            timeframe=TimeFrame(amount, unit),
            start=group_start,
            end=end,
            feed=DataFeed(feed),
            adjustment=Adjustment(adjustment),
        )
        try:
            barset = client.get_stock_bars(request)
        except APIError as exc:
            reason = describe_api_error(exc)
            if getattr(exc, "status_code", None) in REFUSED_ACCESS:
                refused = refused or reason
            failures.update(dict.fromkeys(names, reason))
            continue
        except OSError as exc:  # connection refused, DNS, timeouts (requests' errors are OSErrors)
            failures.update({name: f"cannot reach Alpaca: {type(exc).__name__}" for name in names})
            continue
        data = getattr(barset, "data", {}) or {}
        for name in names:
            bars = data.get(name) or []
            if not bars:
                failures[name] = f"Alpaca returned no {timeframe} bars ({feed} feed) for the range"
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "row": range(1, len(bars) + 1),
                        "symbol": name,
                        "interval": interval,
                        "timestamp": pd.to_datetime([b.timestamp for b in bars], utc=True),
                        "open": [b.open for b in bars],
                        "high": [b.high for b in bars],
                        "low": [b.low for b in bars],
                        "close": [b.close for b in bars],
                        "volume": [b.volume for b in bars],
                        "source": SOURCE,
                    }
                )
            )
    progress(ProgressUpdate(len(requests_to_make), len(requests_to_make), "Alpaca done"))
    bars_frame = pd.concat(frames, ignore_index=True) if frames else empty_bars()
    # Alpaca applies the adjustment itself; its split events are not in the bars answer.
    return ProviderBatch(
        bars=bars_frame, failures=failures, prices_adjusted=adjustment != "raw", access_refused=refused
    )
