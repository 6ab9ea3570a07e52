"""feature_build_state: the fingerprint decides tail-only vs bar-by-bar checks, and its counts stay exact."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, update

from workstation.db.models import MarketData
from workstation.db.summary import dashboard_summary
from workstation.features import store
from workstation.features.catalog import FEATURE_VERSION
from workstation.features.compute import compute_features
from workstation.features.engine import build_features
from workstation.features.state import build_state, plan_builds

StoreBars = Callable[..., None]
Mismatch = Callable[[pd.DataFrame, pd.DataFrame, float], dict[str, int]]


def _plans(engine: Engine) -> dict[str, tuple[str, object]]:
    with engine.begin() as conn:
        return {s: (p.mode, p.since) for s, p in plan_builds(conn, "1d", FEATURE_VERSION, None, False).items()}


def _state(engine: Engine, symbol: str) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(select(build_state).where(build_state.c.symbol == symbol)).mappings().one()
    return dict(row)


def _table_counts(engine: Engine, symbol: str) -> tuple[int, int, int]:
    t = store.feature_table.c
    with engine.connect() as conn:
        row = conn.execute(
            select(func.count(), func.count(t.rsi_1d), func.count(t.price_ma_short)).where(t.symbol == symbol)
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def _assert_state_matches_table(engine: Engine, symbol: str) -> None:
    state = _state(engine, symbol)
    assert (state["total_records"], state["rsi_records"], state["ma_records"]) == _table_counts(engine, symbol)
    assert state["built_through"] == store.load_features(engine, symbol, columns=["close"]).index[-1]


def test_unchanged_history_means_tail_only(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars, mismatch: Mismatch
) -> None:
    bars = make_bars(700, seed=11)
    store_bars(engine, "AAA", bars.iloc[:650])
    store_bars(engine, "BBB", make_bars(300, seed=12))
    assert _plans(engine) == {"AAA": ("full", None), "BBB": ("full", None)}
    build_features(engine)
    assert _plans(engine) == {"AAA": ("up_to_date", None), "BBB": ("up_to_date", None)}
    _assert_state_matches_table(engine, "AAA")

    store_bars(engine, "AAA", bars.iloc[650:])
    assert _plans(engine) == {"AAA": ("tail", bars.index[650]), "BBB": ("up_to_date", None)}
    summary = build_features(engine)
    outcomes = {s.symbol: (s.mode, s.since, s.rows_written, s.rows_deleted) for s in summary.symbols}
    assert outcomes == {"AAA": ("incremental", bars.index[650], 50, 0), "BBB": ("up_to_date", None, 0, 0)}
    assert mismatch(store.load_features(engine, "AAA"), compute_features(bars), 1e-6) == {}
    _assert_state_matches_table(engine, "AAA")
    assert _plans(engine)["AAA"] == ("up_to_date", None)


def test_revised_bar_in_the_middle_is_found_from_the_fingerprint(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars, mismatch: Mismatch
) -> None:
    bars = make_bars(500, seed=13)
    store_bars(engine, "AAA", bars)
    build_features(engine)
    revised_at = bars.index[321]
    with engine.begin() as conn:  # a small correction: a cent on the high
        at = MarketData.timestamp == revised_at.to_pydatetime()
        conn.execute(update(MarketData).where(at).values(high=MarketData.high + 0.01))
    bars.loc[revised_at, "high"] += 0.01
    assert _plans(engine)["AAA"] == ("check", None)
    outcome = build_features(engine).symbols[0]
    assert (outcome.mode, outcome.since, outcome.rows_written, outcome.rows_deleted) == (
        "revised",
        revised_at,
        179,
        179,
    )
    assert mismatch(store.load_features(engine, "AAA"), compute_features(bars), 1e-6) == {}
    _assert_state_matches_table(engine, "AAA")
    assert _plans(engine)["AAA"] == ("up_to_date", None)


def test_deleted_and_back_filled_bars(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars, mismatch: Mismatch
) -> None:
    bars = make_bars(400, seed=14)
    gap = bars.index[200]
    store_bars(engine, "AAA", bars.drop(index=gap))
    build_features(engine)
    assert len(store.load_features(engine, "AAA")) == 399

    store_bars(engine, "AAA", bars.loc[[gap]])  # the missing bar arrives late
    assert _plans(engine)["AAA"] == ("check", None)
    outcome = build_features(engine).symbols[0]
    assert (outcome.mode, outcome.since, outcome.rows_written, outcome.rows_deleted) == ("revised", gap, 200, 199)
    assert mismatch(store.load_features(engine, "AAA"), compute_features(bars), 1e-6) == {}
    _assert_state_matches_table(engine, "AAA")

    gone = bars.index[350]
    with engine.begin() as conn:
        conn.execute(MarketData.__table__.delete().where(MarketData.timestamp == gone.to_pydatetime()))
    assert _plans(engine)["AAA"] == ("check", None)
    outcome = build_features(engine).symbols[0]
    assert (outcome.mode, outcome.since) == ("revised", gone)
    assert mismatch(store.load_features(engine, "AAA"), compute_features(bars.drop(index=gone)), 1e-6) == {}
    _assert_state_matches_table(engine, "AAA")


def test_bar_moved_to_another_time_is_seen(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars
) -> None:
    bars = make_bars(300, seed=15)
    store_bars(engine, "AAA", bars)
    build_features(engine)
    moved_from, moved_to = bars.index[100], bars.index[100] + pd.Timedelta(hours=1)
    with engine.begin() as conn:  # same count, same prices: only the time changed
        conn.execute(
            update(MarketData).where(MarketData.timestamp == moved_from.to_pydatetime()).values(timestamp=moved_to)
        )  # fmt: skip
    assert _plans(engine)["AAA"] == ("check", None)
    outcome = build_features(engine).symbols[0]
    assert (outcome.mode, outcome.since) == ("revised", moved_from)


def test_unknown_fingerprint_is_checked_once_then_recorded(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars
) -> None:
    store_bars(engine, "AAA", make_bars(300, seed=16))
    build_features(engine)
    with engine.begin() as conn:  # as migration 0006 leaves series built before it
        conn.execute(update(build_state).values(bar_checksum=None, bar_count=None))
    assert _plans(engine)["AAA"] == ("check", None)
    outcome = build_features(engine).symbols[0]
    assert (outcome.mode, outcome.rows_written) == ("up_to_date", 0)
    assert _state(engine, "AAA")["bar_checksum"] is not None
    assert _plans(engine)["AAA"] == ("up_to_date", None)


def test_source_change_rebuilds_in_full(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars
) -> None:
    bars = make_bars(300, seed=17)
    store_bars(engine, "AAA", bars.iloc[:100], source="csv")
    build_features(engine)
    store_bars(engine, "AAA", bars, source="yahoo")  # a longer history from another vendor wins
    assert _plans(engine)["AAA"] == ("full", None)
    outcome = build_features(engine).symbols[0]
    assert (outcome.mode, outcome.source, outcome.rows_written, outcome.rows_deleted) == ("full", "yahoo", 300, 100)
    _assert_state_matches_table(engine, "AAA")


def test_summary_follows_writes_made_outside_the_builder(
    engine: Engine, make_bars: Callable[..., pd.DataFrame], store_bars: StoreBars
) -> None:
    bars = make_bars(100, seed=18)
    store_bars(engine, "AAA", bars)
    build_features(engine)
    assert dashboard_summary(engine)[0]["total_records"] == 100
    t = store.feature_table
    with engine.begin() as conn:  # someone prunes the oldest rows by hand
        conn.execute(t.delete().where(t.c.symbol == "AAA", t.c.timestamp < bars.index[30].to_pydatetime()))
    from workstation.db.summary import refresh_dashboard_summary

    refresh_dashboard_summary(engine)
    row = dashboard_summary(engine)[0]
    assert row["total_records"] == 70
    assert row["rsi_coverage"] == pytest.approx(1.0)
    assert _plans(engine)["AAA"][0] in ("check", "up_to_date")
