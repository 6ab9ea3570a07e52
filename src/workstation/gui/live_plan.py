"""Which live data the window streams, decided off the GUI thread (Qt-free).

* ``alpaca``: Alpaca keys are configured (environment, keyring or the settings file): the account's data
  connection, as its owner or — while ``feed run`` or another window holds it — as a consumer.
* ``demo``: no keys (or keys, but a database holding nothing but the demo universe), and the database
  holds the synthetic demo universe: a local ReplayServer plays the
  universe's last stored session (its hourly bars split into synthetic minutes, trades and quotes) in a
  loop, streamed through the same client as Alpaca. Everything it sends is labelled synthetic; the lease
  is the demo's own (a second window on the same database consumes the first one's stored bars).
* ``off``: neither, or turned off (setting ``live/mode`` = off, ``live/demo_replay`` = false, or the
  environment variable ``WORKSTATION_LIVE`` = off|demo|alpaca|auto, which ``workstation gui --live``
  sets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Engine, func, select

from workstation.db.models import MarketData
from workstation.market.calendar import xnys
from workstation.market.providers.synthetic import SOURCE as DEMO_SOURCE

LiveMode = Literal["off", "alpaca", "demo"]
LIVE_ENV = "WORKSTATION_LIVE"
DEMO_KEY = "demo-replay"  # the demo's lease account (never the Alpaca account's)
DEMO_INTERVAL = "1h"


@dataclass(frozen=True)
class LivePlan:
    mode: LiveMode
    reason: str  # why (shown in the status bar's tooltip when off)
    key_id: str = ""
    secret_key: str = ""
    feed: str = "iex"
    source: str = "alpaca"  # market_data.source of what the owner stores
    demo_symbols: tuple[str, ...] = ()
    demo_start: datetime | None = None


def wanted_mode(setting: str, demo_replay: bool) -> str:
    """auto | off | demo | alpaca, the environment winning over the settings."""
    chosen = (os.environ.get(LIVE_ENV) or setting or "auto").strip().lower()
    if chosen not in ("auto", "off", "demo", "alpaca"):
        chosen = "auto"
    if chosen == "auto" and not demo_replay:
        chosen = "auto-no-demo"
    return chosen


def plan_live(engine: Engine, wanted: str, feed: str = "iex") -> LivePlan:
    if wanted == "off":
        return LivePlan("off", "live data turned off")
    if wanted in ("auto", "auto-no-demo", "alpaca"):
        from workstation.credentials import load_alpaca_credentials

        found = load_alpaca_credentials()
        demo_only = wanted == "auto" and _demo_only(engine)
        if found is not None and not demo_only:  # keys, but only the demo's made-up symbols: the demo wins
            keys = found[0]
            return LivePlan("alpaca", f"Alpaca {feed.upper()} feed", keys.key_id, keys.secret_key, feed)
        if wanted == "alpaca":
            return LivePlan("off", "no Alpaca keys: set them in Settings")
    if wanted in ("auto", "demo"):
        symbols, start = demo_universe(engine)
        if symbols and start is not None:
            return LivePlan(
                "demo", "demo replay of synthetic data", DEMO_KEY, DEMO_KEY, "iex", DEMO_SOURCE, symbols, start
            )
        if wanted == "demo":
            return LivePlan("off", "no demo universe: File → Load demo universe")
    if wanted == "auto-no-demo":
        return LivePlan("off", "no Alpaca keys; the demo replay is turned off")
    return LivePlan("off", "no Alpaca keys and no demo universe")


def _demo_only(engine: Engine) -> bool:
    """Does the database hold the demo universe and no other bars (made-up symbols Alpaca does not know)?"""
    m = MarketData
    with engine.connect() as conn:
        demo = conn.execute(select(m.symbol).where(m.source == DEMO_SOURCE).limit(1)).first()
        other = conn.execute(select(m.symbol).where(m.source != DEMO_SOURCE).limit(1)).first()
    return demo is not None and other is None


def demo_universe(engine: Engine) -> tuple[tuple[str, ...], datetime | None]:
    """The demo's symbols and where its replay starts: the open of the last session with hourly bars."""
    m = MarketData
    with engine.connect() as conn:
        last = conn.execute(
            select(func.max(m.timestamp)).where(m.source == DEMO_SOURCE, m.interval == DEMO_INTERVAL)
        ).scalar()
        if last is None:
            return (), None
        symbols = conn.execute(
            select(m.symbol).where(m.source == DEMO_SOURCE, m.interval == DEMO_INTERVAL, m.timestamp == last)
        ).scalars()
        names = tuple(sorted(str(s) for s in symbols))
    session = xnys().session_at(last if last.tzinfo else last.replace(tzinfo=UTC))
    return names, session.open if session is not None else last
