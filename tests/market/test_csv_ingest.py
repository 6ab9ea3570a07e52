from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text

from workstation.db.models import MarketData, StockInfo
from workstation.errors import WorkstationError
from workstation.market.bars import load_bars
from workstation.market.ingest import ingest_csv

# file, --symbol, expected rows per symbol, interval
SHARED_FILES = [
    ("orcl-1995-2014.txt", None, {"ORCL": 5036}, "1d"),
    ("nvda-1999-2014.txt", None, {"NVDA": 4012}, "1d"),
    (
        "zipline_QUANDL_WIKI_AAPL_BRKA_MSFT_ZEN_2014.csv",
        None,
        {"AAPL": 252, "BRK_A": 252, "MSFT": 252, "ZEN": 160},
        "1d",
    ),
    ("zipline_csvdir_KO_2012-2014.csv", "KO", {"KO": 754}, "1d"),
    ("yfinance_EA-15m-no-bad-divs.csv", "EA", {"EA": 319}, "15m"),
]


def _count(engine: Engine, symbol: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(MarketData).where(MarketData.symbol == symbol)) or 0)


@pytest.mark.parametrize(("name", "symbol", "rows", "interval"), SHARED_FILES, ids=[f[0] for f in SHARED_FILES])
def test_every_shared_file_imports_and_reimport_is_a_no_op(
    engine: Engine, shared_data: Path, name: str, symbol: str | None, rows: dict[str, int], interval: str
) -> None:
    summary = ingest_csv(engine, shared_data / name, symbol=symbol)
    assert summary.rejected == 0
    assert not summary.failures
    assert summary.interval == interval
    assert {s: v.inserted for s, v in summary.symbols.items()} == rows
    for sym, count in rows.items():
        assert _count(engine, sym) == count
        with engine.connect() as conn:  # the foreign key's row exists, metadata unknown stays NULL
            info = conn.execute(select(StockInfo).where(StockInfo.symbol == sym)).one()
        assert info.source == "csv"
        assert info.company_name is None
    again = ingest_csv(engine, shared_data / name, symbol=symbol)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, sum(rows.values()))
    assert again.exit_code == 0


def test_quandl_aapl_split_is_adjusted_and_recorded(engine: Engine, shared_data: Path) -> None:
    summary = ingest_csv(engine, shared_data / "zipline_QUANDL_WIKI_AAPL_BRKA_MSFT_ZEN_2014.csv")
    decision = summary.symbols["AAPL"].adjustment
    assert decision.startswith("split 7:1 on 2014-06-09: raw prices")
    assert "divided by 7" in decision
    assert summary.symbols["MSFT"].adjustment == "none"
    bars = load_bars(engine, "AAPL", "1d")
    assert bars["close"].pct_change().abs().max() < 0.1  # no fake 85% crash
    before = bars.loc["2014-06-06"]
    assert before["close"].iloc[0] == pytest.approx(645.57 / 7, abs=1e-6)
    assert before["volume"].iloc[0] == 12497800 * 7
    assert bars.loc["2014-06-09"]["close"].iloc[0] == pytest.approx(93.70)
    # Stored like every daily bar: midnight New York time, in UTC.
    assert bars.index[0] == pd.Timestamp("2014-01-02 05:00", tz="UTC")


def test_already_adjusted_ko_file_is_not_adjusted_twice(engine: Engine, shared_data: Path) -> None:
    summary = ingest_csv(engine, shared_data / "zipline_csvdir_KO_2012-2014.csv", symbol="KO")
    decision = summary.symbols["KO"].adjustment
    assert "split 2:1 on 2012-08-13" in decision
    assert "already adjusted" in decision
    assert "not applied" in decision
    bars = load_bars(engine, "KO", "1d")
    assert bars.loc["2012-08-10"]["close"].iloc[0] == pytest.approx(39.395)
    assert bars["close"].pct_change().abs().max() < 0.1


def test_intraday_file_keeps_zero_volume_bars_and_converts_to_utc(engine: Engine, shared_data: Path) -> None:
    ingest_csv(engine, shared_data / "yfinance_EA-15m-no-bad-divs.csv", symbol="EA")
    bars = load_bars(engine, "EA", "15m")
    assert len(bars) == 319
    assert int((bars["volume"] == 0).sum()) == 143
    assert bars.index[0] == pd.Timestamp("2026-05-26 08:00", tz="UTC")  # 04:00 EDT


MALFORMED = """Date,Open,High,Low,Close,Volume
2024-01-02,10,11,9,10.5,1000
2024-01-03,abc,11,9,10.5,1000
2024-01-04,10,9,11,10,1000
2024-01-05,10,11,9,10.5,1000
2024-01-05,10,11,9,10.6,1000
not-a-date,10,11,9,10.5,1000
2024-01-08,10,11,9,,1000

2024-01-10,-1,11,9,10,1000
2024-01-11,10,11,9,12,-5
2024-01-12,10,11,9,10.5,2000
"""


def test_malformed_csv_keeps_good_rows_and_reports_each_bad_one(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(MALFORMED)
    summary = ingest_csv(engine, path, symbol="BAD")
    reasons = {r.row: r.reason for r in summary.rejects}
    assert set(reasons) == {3, 4, 6, 7, 8, 10, 11}
    assert "open is not a number: 'abc'" in reasons[3]
    assert "high < low" in reasons[4]
    assert "duplicate timestamp" in reasons[6]
    assert "kept row 5" in reasons[6]
    assert "timestamp does not parse" in reasons[7]
    assert "close missing" in reasons[8]
    assert "open must be > 0" in reasons[10]
    assert "close > high" in reasons[11]
    assert "volume must be >= 0" in reasons[11]
    assert all(r.symbol == "BAD" for r in summary.rejects)
    assert summary.symbols["BAD"].inserted == 3
    assert summary.exit_code == 1
    assert list(load_bars(engine, "BAD")["close"]) == [10.5, 10.5, 10.5]


def test_strict_writes_nothing_when_a_row_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(MALFORMED)
    summary = ingest_csv(engine, path, symbol="BAD", strict=True)
    assert summary.aborted
    assert summary.rejected == 7
    assert summary.inserted == 0
    assert _count(engine, "BAD") == 0


def test_missing_columns_is_a_usage_error(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Date,Open,High,Close\n2024-01-02,1,2,1.5\n")
    with pytest.raises(WorkstationError, match=r"cannot find column\(s\) low, volume") as caught:
        ingest_csv(engine, path, symbol="X")
    assert caught.value.exit_code == 2


def test_revised_bar_is_updated_and_counted(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "rev.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10,11,9,10.5,1000\n")
    ingest_csv(engine, path, symbol="REV")
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10,11,9,10.75,1100\n"
        "2024-01-04,10,11,9,10.5,1000\n"
    )
    summary = ingest_csv(engine, path, symbol="REV")
    counts = summary.symbols["REV"]
    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 1)
    bars = load_bars(engine, "REV")
    assert list(bars["close"]) == [10.5, 10.75, 10.5]
    assert bars["volume"].iloc[1] == 1100


def test_long_layout_mapping_unnamed_index_and_naive_intraday_times(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        ",Ticker,When,O,H,L,Last,Vol\n"
        "0,aaa,2024-03-08 09:30,1,2,0.5,1.5,10\n"
        "1,bbb,2024-03-08 09:30,5,6,4,5.5,20\n"
        "2,aaa,2024-03-11 09:30,1.5,2,1,1.8,10\n"
    )
    columns = {"timestamp": "When", "close": "Last"}
    summary = ingest_csv(engine, path, interval="1h", tz="America/New_York", columns=columns, source="vendor")
    assert {s: v.inserted for s, v in summary.symbols.items()} == {"AAA": 2, "BBB": 1}
    bars = load_bars(engine, "AAA", "1h", source="vendor")
    # EST before the DST change on 2024-03-10, EDT after it.
    assert list(bars.index) == [pd.Timestamp("2024-03-08 14:30", tz="UTC"), pd.Timestamp("2024-03-11 13:30", tz="UTC")]
    only_b = ingest_csv(engine, path, symbol="BBB", interval="1h", columns=columns, source="vendor")
    assert set(only_b.symbols) == {"BBB"}
    assert only_b.unchanged == 1


def test_declared_daily_interval_for_intraday_file_is_refused(engine: Engine, shared_data: Path) -> None:
    with pytest.raises(WorkstationError, match="holds 15m bars"):
        ingest_csv(engine, shared_data / "yfinance_EA-15m-no-bad-divs.csv", symbol="EA", interval="1d")


def test_sqlite_and_postgres_store_identical_prices(engine: Engine, shared_data: Path) -> None:
    ingest_csv(engine, shared_data / "zipline_QUANDL_WIKI_AAPL_BRKA_MSFT_ZEN_2014.csv")
    with engine.connect() as conn:
        total = conn.execute(text("SELECT sum(close * volume) FROM market_data WHERE symbol = 'BRK_A'")).scalar()
    raw = pd.read_csv(shared_data / "zipline_QUANDL_WIKI_AAPL_BRKA_MSFT_ZEN_2014.csv")
    brk = raw[raw["ticker"] == "BRK_A"]
    assert float(total) == pytest.approx(float(np.sum(brk["close"] * brk["volume"])))
