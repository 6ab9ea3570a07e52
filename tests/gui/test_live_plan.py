"""What the window streams: Alpaca with keys, the demo replay on the demo universe, or nothing (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from workstation.gui.live_plan import DEMO_KEY, plan_live, wanted_mode
from workstation.market.demo import load_demo_universe


def test_the_plan_follows_keys_the_demo_universe_and_the_settings(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert plan_live(engine, "auto").mode == "off"  # an empty database and no keys
    load_demo_universe(engine, symbols=2, years=1, seed=3)
    plan = plan_live(engine, "auto")
    assert plan.mode == "demo" and plan.key_id == DEMO_KEY and plan.source == "synthetic"
    assert len(plan.demo_symbols) == 2 and plan.demo_start is not None
    assert plan.demo_start.hour in (13, 14) and plan.demo_start.minute == 30  # the last session's open (UTC)
    assert plan_live(engine, wanted_mode("auto", demo_replay=False)).mode == "off"
    monkeypatch.setenv("APCA_API_KEY_ID", "key")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "secret")
    assert plan_live(engine, "auto").mode == "demo"  # only made-up symbols: Alpaca would stream nothing
    assert plan_live(engine, "alpaca").mode == "alpaca"
    monkeypatch.setenv("WORKSTATION_LIVE", "off")
    assert wanted_mode("auto", demo_replay=True) == "off"
