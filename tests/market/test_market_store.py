"""The bar store's fast paths keep every guarantee: exact change detection, per-symbol FK check, batches."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, delete, text

from workstation.db.models import MarketData
from workstation.db.partitions import ensure_partitions
from workstation.jobs import ProgressUpdate
from workstation.market import pgwrite
from workstation.market.bars import load_bars
from workstation.market.frame import normalise_bars
from workstation.market.pgcopy import encode_copy_binary, stored_bar_records
from workstation.market.store import store_bars

SYMBOLS = ("A", "BCD", "EFGHIJ")  # different lengths: different COPY row sizes in one payload


def make_bars(symbols: tuple[str, ...] = SYMBOLS, n: int = 40, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2024-03-01 14:30", periods=n, freq="h", tz="UTC")
    close = np.round(rng.uniform(20, 400, (len(symbols), n)), 4).ravel()
    return normalise_bars(
        pd.DataFrame(
            {
                "row": np.arange(1, len(symbols) * n + 1),
                "symbol": np.repeat(symbols, n),
                "interval": "1h",
                "timestamp": np.tile(stamps, len(symbols)),
                "open": close,
                "high": close + 1.5,
                "low": close - 1.25,
                "close": close,
                "volume": rng.integers(0, 10**9, len(symbols) * n),
                "source": "test",
            }
        )
    )


def counts(result: object) -> dict[str, tuple[int, int, int]]:
    return {s: (c.inserted, c.updated, c.unchanged) for s, c in result.counts.items()}  # type: ignore[attr-defined]


def stored(engine: Engine, symbol: str) -> pd.DataFrame:
    return load_bars(engine, symbol, "1h", source="test")


@pytest.fixture(params=["bulk", "plain"])
def fk_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run PostgreSQL stores through the per-symbol FK path even for small batches, or never."""
    monkeypatch.setattr(pgwrite, "BULK_FK_MIN_ROWS", 1 if request.param == "bulk" else 10**12)
    return str(request.param)


def test_reload_detects_each_kind_of_change_exactly(engine: Engine, fk_path: str) -> None:
    bars = make_bars()
    first = store_bars(engine, bars)
    assert counts(first) == dict.fromkeys(SYMBOLS, (40, 0, 0)) and not first.failures
    assert np.allclose(stored(engine, "EFGHIJ")["close"], bars.loc[bars["symbol"] == "EFGHIJ", "close"])

    again = bars.copy()
    a = again.index[again["symbol"] == "A"]
    again.loc[a[3], "close"] += 0.000001  # one millionth: the stored precision
    # Compensating revisions keep every per-symbol sum, count and range: only a row comparison sees them.
    b = again.index[again["symbol"] == "BCD"]
    again.loc[b[5], "high"] += 0.25
    again.loc[b[6], "high"] -= 0.25
    va, vb = again.loc[b[7], "volume"], again.loc[b[8], "volume"]
    again.loc[b[7], "volume"], again.loc[b[8], "volume"] = vb, va
    # A deleted bar comes back; a bar after the stored range is new.
    deleted = bars.loc[again.index[again["symbol"] == "EFGHIJ"][10], "timestamp"].to_pydatetime()
    with engine.begin() as conn:
        gone = conn.execute(delete(MarketData).where(MarketData.symbol == "EFGHIJ", MarketData.timestamp == deleted))
        assert gone.rowcount == 1
    extra = again[again["symbol"] == "EFGHIJ"].tail(1).copy()
    extra["timestamp"] += pd.Timedelta(hours=1)
    again = pd.concat([again, extra], ignore_index=True)

    result = store_bars(engine, again)
    assert not result.failures
    assert counts(result) == {"A": (0, 1, 39), "BCD": (0, 4, 36), "EFGHIJ": (2, 0, 39)}
    assert stored(engine, "A")["close"].iloc[3] == pytest.approx(bars.loc[a[3], "close"] + 0.000001, abs=1e-9)
    assert stored(engine, "BCD")["volume"].iloc[7] == vb
    assert len(stored(engine, "EFGHIJ")) == 41

    settled = store_bars(engine, again)
    assert counts(settled) == {"A": (0, 0, 40), "BCD": (0, 0, 40), "EFGHIJ": (0, 0, 41)}


def test_batches_in_parallel_count_everything_and_fail_alone(engine: Engine, fk_path: str) -> None:
    symbols = tuple(f"S{i}" for i in range(7))
    bars = make_bars(symbols, n=30)
    # Bypassing validation, one bar breaks a CHECK constraint: only its batch (S3 alone) must fail.
    broken = bars.index[(bars["symbol"] == "S3")][4]
    bars.loc[broken, "low"] = bars.loc[broken, "high"] + 1
    updates: list[ProgressUpdate] = []
    result = store_bars(engine, bars, batch_rows=30, workers=2, progress=updates.append)
    assert set(result.failures) == {"S3"} and "not stored" in result.failures["S3"]
    assert counts(result) == {s: (30, 0, 0) for s in symbols if s != "S3"}
    assert stored(engine, "S3").empty  # nothing of the failed batch is half-written
    assert updates[-1].done == updates[-1].total == len(bars)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM market_data")).scalar_one() == 6 * 30


def test_bulk_copy_refuses_a_symbol_without_stock_info(pg_engine: Engine) -> None:
    bars = make_bars(("KNOWN", "GHOST"), n=25)
    ensure_partitions(pg_engine, "market_data", bars["timestamp"])  # store_bars does this; write_batch does not
    with pg_engine.begin() as conn:
        conn.execute(text("INSERT INTO stock_info (symbol) VALUES ('KNOWN')"))
    missing = pytest.raises(pgwrite.MissingSymbolsError, match="no stock_info row for GHOST: bars not stored")
    with missing, pg_engine.begin() as conn:
        pgwrite.write_batch(conn, bars, bulk_fk_min_rows=1)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM market_data")).scalar_one() == 0
        # The constraint itself is untouched and valid.
        assert conn.execute(
            text(
                "SELECT convalidated FROM pg_constraint WHERE conname = 'fk_market_data_symbol_stock_info'"
                " AND conrelid = 'market_data'::regclass"
            )
        ).scalar_one()


def test_bulk_copy_restores_triggers_and_the_fk_still_guards_other_writes(pg_engine: Engine) -> None:
    bars = make_bars(("AAA",), n=25)
    ensure_partitions(pg_engine, "market_data", bars["timestamp"])
    with pg_engine.begin() as conn:
        conn.execute(text("INSERT INTO stock_info (symbol) VALUES ('AAA')"))
        written = pgwrite.write_batch(conn, bars, bulk_fk_min_rows=1)
        assert written.by_symbol == {"AAA": [25, 0, 0]}
        assert conn.execute(text("SHOW session_replication_role")).scalar_one() == "origin"
        with pytest.raises(Exception, match="fk_market_data_symbol_stock_info"), conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO market_data (symbol, interval, timestamp, open, high, low, close, volume, "
                    "source) VALUES ('NOPE', '1h', now(), 1, 1, 1, 1, 1, 'x')"
                )
            )
    with pg_engine.connect() as conn:
        assert conn.execute(text("SHOW session_replication_role")).scalar_one() == "origin"


def test_bulk_path_is_not_used_when_market_data_has_a_user_trigger(pg_engine: Engine) -> None:
    ensure_partitions(pg_engine, "market_data", make_bars(("AAA",), n=25)["timestamp"])
    with pg_engine.begin() as conn:
        conn.execute(text("CREATE TABLE bars_seen (n bigint NOT NULL DEFAULT 0)"))
        conn.execute(text("INSERT INTO bars_seen VALUES (0)"))
        conn.execute(
            text(
                "CREATE FUNCTION count_bar() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN UPDATE bars_seen SET n = n + 1; RETURN NEW; END $$"
            )
        )
        conn.execute(
            text("CREATE TRIGGER count_bars AFTER INSERT ON market_data FOR EACH ROW EXECUTE FUNCTION count_bar()")
        )
        conn.execute(text("INSERT INTO stock_info (symbol) VALUES ('AAA')"))
        assert not pgwrite.bulk_fk_allowed(conn.connection.dbapi_connection.cursor())  # type: ignore[union-attr]
        pgwrite.write_batch(conn, make_bars(("AAA",), n=25), bulk_fk_min_rows=1)
        assert conn.execute(text("SELECT n FROM bars_seen")).scalar_one() == 25


def test_encoder_round_trip_of_stored_records() -> None:
    bars = make_bars(n=3)
    payload = encode_copy_binary(bars)
    assert payload.startswith(b"PGCOPY\n\xff\r\n\x00") and payload.endswith(b"\xff\xff")
    packed = np.array([(1, 2, 3, 4, 5, 6)], dtype=">i8").tobytes()
    assert stored_bar_records(packed).tolist() == [(1, 2, 3, 4, 5, 6)]


def test_migrations_0007_and_0017_make_one_covering_key_of_the_bar_records_and_revert(pg_engine: Engine) -> None:
    from workstation.db.migrate import downgrade, upgrade

    def indexes() -> dict[str, str]:
        with pg_engine.connect() as conn:
            rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'market_data'"))
            return dict(rows.all())

    merged = indexes()
    assert set(merged) == {"pk_market_data", "ix_market_data_chart"}
    assert "UNIQUE" in merged["ix_market_data_chart"] and "INCLUDE (bar_record)" in merged["ix_market_data_chart"]
    with pg_engine.connect() as conn:
        # The table is empty: forbid the scans a planner prefers there, the question is what the index can serve.
        conn.execute(text("SET enable_seqscan = off"))
        conn.execute(text("SET enable_bitmapscan = off"))
        plan = conn.execute(
            text(
                "EXPLAIN SELECT timestamp, bar_record FROM market_data WHERE symbol = 'A' "
                "AND interval = '1d' AND timestamp >= now() - interval '1 year' ORDER BY timestamp"
            )
        ).all()
        # market_data is partitioned (0011): each range scans its own copy of the index.
        children = conn.execute(
            text("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'ix_market_data_chart'::regclass")
        ).scalars()
        chart_indexes = {"ix_market_data_chart", *children}
    scans = [line.strip().removeprefix("->").strip() for (line,) in plan if "Scan" in line]
    assert scans and all(any(s.startswith(f"Index Only Scan using {i} ") for i in chart_indexes) for s in scans), scans
    downgrade(pg_engine, "0001")
    assert set(indexes()) == {
        "pk_market_data",
        "ix_market_data_chart",
        "uq_market_data_symbol_interval_timestamp_source",
    }
    upgrade(pg_engine)
    assert indexes() == merged


def test_a_role_that_may_not_skip_triggers_gets_the_plain_fk_path(pg_engine: Engine) -> None:
    role = f"ws_bars_writer_{os.getpid()}"
    ensure_partitions(pg_engine, "market_data", make_bars(("AAA",), n=25)["timestamp"])
    with pg_engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER"))
        conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        conn.execute(text("INSERT INTO stock_info (symbol) VALUES ('AAA')"))
    try:
        with pg_engine.begin() as conn:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            assert not pgwrite.bulk_fk_allowed(conn.connection.dbapi_connection.cursor())  # type: ignore[union-attr]
            written = pgwrite.write_batch(conn, make_bars(("AAA",), n=25), bulk_fk_min_rows=1)
            assert written.by_symbol == {"AAA": [25, 0, 0]}
        with pytest.raises(Exception, match="fk_market_data_symbol_stock_info"), pg_engine.begin() as conn:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            pgwrite.write_batch(conn, make_bars(("GHOST",), n=25), bulk_fk_min_rows=1)
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_the_bar_record_is_the_row_after_inserts_and_revisions(pg_engine: Engine) -> None:
    bars = make_bars(("AAA",), n=30)
    ensure_partitions(pg_engine, "market_data", bars["timestamp"])
    with pg_engine.begin() as conn:
        conn.execute(text("INSERT INTO stock_info (symbol) VALUES ('AAA')"))
        pgwrite.write_batch(conn, bars)
    revised = bars.copy()
    revised.loc[revised.index[:5], "close"] = revised["close"].iloc[:5] + 0.000001
    revised.loc[revised.index[5:8], "volume"] = revised["volume"].iloc[5:8] + 1
    with pg_engine.begin() as conn:
        counts = pgwrite.write_batch(conn, revised)
    assert counts.by_symbol["AAA"] == [0, 8, 22]
    with pg_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT extract(epoch FROM timestamp), open, high, low, close, volume, bar_record FROM market_data")
        ).all()
    assert len(rows) == 30
    for epoch, *prices, volume, record in rows:
        (stamp, *micros, stored_volume) = stored_bar_records(bytes(record)).tolist()[0]
        assert stamp == int(epoch * 1_000_000) - 946_684_800_000_000  # PostgreSQL's epoch is 2000-01-01
        assert micros == [int(p * 1_000_000) for p in prices] and stored_volume == volume
    loaded = load_bars(pg_engine, "AAA", "1h")
    assert np.array_equal(loaded["close"].to_numpy(), np.round(revised["close"].to_numpy() * 1_000_000) / 1_000_000)
    assert np.array_equal(loaded["volume"].to_numpy(), revised["volume"].to_numpy())
