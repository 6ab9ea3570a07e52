"""Alpaca's market-data websocket protocol, in one place for the client and the replay feed.

The conversation on ``{base}/v2/{feed}``: the server says ``[{"T":"success","msg":"connected"}]``; the
client sends ``{"action":"auth","key":…,"secret":…}`` and gets ``authenticated`` or an error; then
``{"action":"subscribe"|"unsubscribe", "trades":[…], "quotes":[…], "bars":[…], "updatedBars":[…],
"dailyBars":[…]}``, answered with the full current subscription (``T: subscription``). Data arrives as
arrays of messages keyed by one letter (``T`` type, ``S`` symbol, ``t`` time, ``o h l c v`` …). A
client that sends ``Content-Type: application/msgpack`` (alpaca-py does) gets msgpack frames, with
times as msgpack Timestamps; anyone else gets JSON text with RFC 3339 times.

Errors are ``{"T":"error","code":…,"msg":…}``; the codes are in ``ERRORS``. 406 (a second connection
for the account) and 405 (more symbols than the plan allows; the free plan streams IEX only, 30 symbols)
are the ones a live feed meets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import msgpack
import pandas as pd

from workstation.errors import ConfigurationError
from workstation.market.stream.events import MarketEvent, StreamBar, StreamQuote, StreamTrade

STREAM_URL_ENV = "APCA_API_STREAM_DATA_URL"
DEFAULT_STREAM_URL = "wss://stream.data.alpaca.markets"
FEEDS = ("iex", "sip")
# The subscribable channels this workstation uses, by their names in subscribe messages.
CHANNELS = ("bars", "updatedBars", "dailyBars", "trades", "quotes")
ALL_CHANNELS = (*CHANNELS, "statuses", "lulds", "corrections", "cancelErrors")
FREE_PLAN_SYMBOL_LIMIT = 30

ERRORS = {
    400: "invalid syntax",
    401: "not authenticated",
    402: "auth failed",
    403: "already authenticated",
    404: "auth timeout",
    405: "symbol limit exceeded",
    406: "connection limit exceeded",
    407: "slow client",
    409: "insufficient subscription",
    410: "invalid subscribe action for this feed",
    500: "internal error",
}
AUTH_FAILED, SYMBOL_LIMIT, CONNECTION_LIMIT, INSUFFICIENT_SUBSCRIPTION = 402, 405, 406, 409

_NEW_YORK = "America/New_York"


def stream_url(feed: str, base: str | None = None) -> str:
    """``{base}/v2/{feed}``; base from the argument, else APCA_API_STREAM_DATA_URL, else Alpaca's."""
    if feed not in FEEDS:
        raise ConfigurationError(f"unknown feed {feed!r}: use iex or sip")
    root = (base or os.environ.get(STREAM_URL_ENV) or DEFAULT_STREAM_URL).rstrip("/")
    parsed = urlparse(root)
    if parsed.scheme not in ("ws", "wss") or not parsed.netloc:
        raise ConfigurationError(f"{STREAM_URL_ENV} must be a ws:// or wss:// URL, got {root!r}")
    return f"{root}/v2/{feed}"


def describe_error(code: int | None, message: str | None, *, feed: str = "iex", symbols: int = 0) -> str:
    """One line a trader can act on."""
    text = message or ERRORS.get(code or 0, "error")
    if code == CONNECTION_LIMIT:
        return (
            f"Alpaca refused the connection (406 {text}): another connection for this account is open, or the "
            "server still holds a dropped one for 60–120 s; backing off"
        )
    if code == SYMBOL_LIMIT:
        return (
            f"Alpaca refused the subscription (405 {text}): {symbols} symbols asked; the free plan streams at most "
            f"{FREE_PLAN_SYMBOL_LIMIT} symbols (IEX only) — subscribe fewer or upgrade the data plan"
        )
    if code == INSUFFICIENT_SUBSCRIPTION:
        hint = " (the free plan streams iex only: try --feed iex)" if feed == "sip" else ""
        return f"Alpaca refused the {feed} feed (409 {text}): the account's data plan does not include it{hint}"
    if code in (401, AUTH_FAILED):
        return f"Alpaca refused the API keys ({code} {text}): check APCA_API_KEY_ID and APCA_API_SECRET_KEY"
    return f"Alpaca stream error {code}: {text}" if code else f"Alpaca stream error: {text}"


# --------------------------------------------------------------------------- reading (client side)


def to_datetime(value: Any) -> datetime:
    """A wire time (msgpack Timestamp, RFC 3339 text with up to nanoseconds, or datetime) as UTC."""
    if isinstance(value, msgpack.Timestamp):
        return value.to_datetime()  # type: ignore[no-any-return]
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    stamp = pd.Timestamp(str(value))
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime(warn=False)


def session_date_midnight(moment: datetime) -> datetime:
    """Midnight New York of ``moment``'s New York date, in UTC: the timestamp of a stored daily bar."""
    local = pd.Timestamp(moment).tz_convert(_NEW_YORK).normalize()
    return local.tz_convert("UTC").to_pydatetime()


_BAR_KINDS = {"b": "bar", "u": "updated", "d": "daily"}


def decode(message: dict[str, Any]) -> MarketEvent | None:
    """A data message as a domain object; None for anything that is not a bar, trade or quote."""
    kind = message.get("T")
    symbol = message.get("S")
    if symbol is None:
        return None
    synthetic = bool(message.get("synthetic", False))
    if kind in _BAR_KINDS:
        when = to_datetime(message["t"])
        daily = kind == "d"
        return StreamBar(
            symbol=str(symbol),
            timestamp=session_date_midnight(when) if daily else when,
            open=float(message["o"]),
            high=float(message["h"]),
            low=float(message["l"]),
            close=float(message["c"]),
            volume=int(message["v"]),
            kind=_BAR_KINDS[kind],  # type: ignore[arg-type]
            trade_count=int(message["n"]) if message.get("n") is not None else None,
            vwap=float(message["vw"]) if message.get("vw") is not None else None,
            interval="1d" if daily else "1m",
            synthetic=synthetic,
        )
    if kind == "t":
        conditions = message.get("c") or ()
        return StreamTrade(
            symbol=str(symbol),
            timestamp=to_datetime(message["t"]),
            price=float(message["p"]),
            size=float(message["s"]),
            exchange=message.get("x"),
            trade_id=message.get("i"),
            conditions=tuple(conditions) if isinstance(conditions, list | tuple) else (str(conditions),),
            synthetic=synthetic,
        )
    if kind == "q":
        return StreamQuote(
            symbol=str(symbol),
            timestamp=to_datetime(message["t"]),
            bid_price=float(message["bp"]),
            bid_size=float(message["bs"]),
            ask_price=float(message["ap"]),
            ask_size=float(message["as"]),
            synthetic=synthetic,
        )
    return None


# --------------------------------------------------------------------------- writing (server side)


def control(kind: str, msg: str) -> dict[str, Any]:
    return {"T": kind, "msg": msg}


def error(code: int) -> dict[str, Any]:
    return {"T": "error", "code": code, "msg": ERRORS.get(code, "error")}


def subscription(subscribed: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """The server's answer to (un)subscribe: every channel with its current symbols."""
    answer: dict[str, Any] = {"T": "subscription"}
    for channel in ALL_CHANNELS:
        answer[channel] = sorted(subscribed.get(channel, ()))
    return answer


def bar_message(
    kind: str,
    symbol: str,
    start: datetime,
    o: float,
    h: float,
    low: float,
    c: float,
    v: int,
    *,
    trades: int,
    vwap: float,
    synthetic: bool,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "T": kind,
        "S": symbol,
        "o": o,
        "h": h,
        "l": low,
        "c": c,
        "v": v,
        "t": start,
        "n": trades,
        "vw": vwap,
    }
    if synthetic:
        message["synthetic"] = True
    return message


def trade_message(
    symbol: str, when: datetime, price: float, size: int, trade_id: int, *, synthetic: bool
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "T": "t",
        "S": symbol,
        "i": trade_id,
        "x": "V",
        "p": price,
        "s": size,
        "c": ["@"],
        "z": "C",
        "t": when,
    }
    if synthetic:
        message["synthetic"] = True
    return message


def quote_message(symbol: str, when: datetime, bid: float, ask: float, size: int, *, synthetic: bool) -> dict[str, Any]:
    message: dict[str, Any] = {
        "T": "q",
        "S": symbol,
        "bx": "V",
        "bp": bid,
        "bs": size,
        "ax": "V",
        "ap": ask,
        "as": size,
        "c": ["R"],
        "z": "C",
        "t": when,
    }
    if synthetic:
        message["synthetic"] = True
    return message


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def pack(messages: list[dict[str, Any]], *, binary: bool) -> bytes | str:
    """One frame: msgpack (times as Timestamps) for binary clients, else JSON text."""
    if binary:
        return msgpack.packb(messages, datetime=True)  # type: ignore[no-any-return]
    return json.dumps(messages, default=_rfc3339, separators=(",", ":"))


def unpack(frame: bytes | str) -> Any:
    """A client's frame (msgpack or JSON) as Python data."""
    if isinstance(frame, bytes):
        return msgpack.unpackb(frame)
    return json.loads(frame)
