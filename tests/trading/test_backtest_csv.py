"""``backtest --csv`` reads a file the way ``ingest csv`` does: same bars, same backtest, either way.

The backtest once had its own, weaker CSV reader: it failed on an unnamed date index, merged a
four-ticker file into one series, kept zero prices and the last of duplicate dates, skipped split
adjustment and stamped daily bars at 00:00 UTC. Each of those is a case below.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from workstation.errors import ExitCode, InvalidInputError
from workstation.market.bars import load_bars
from workstation.market.ingest import ingest_csv
from workstation.trading.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from workstation.trading.backtest.inputs import csv_bars
from workstation.trading.brokers.paper import CommissionModel
from workstation.trading.strategies.sma_cross import SmaCross

Cli = Callable[..., subprocess.CompletedProcess[str]]
QUANDL = "zipline_QUANDL_WIKI_AAPL_BRKA_MSFT_ZEN_2014.csv"

# (file, --symbol, symbol the bars are stored under)
REAL_FILES = [
    ("orcl-1995-2014.txt", None, "ORCL"),
    ("nvda-1999-2014.txt", None, "NVDA"),
    ("zipline_csvdir_KO_2012-2014.csv", "KO", "KO"),
    (QUANDL, "AAPL", "AAPL"),
    (QUANDL, "BRK_A", "BRK_A"),
    (QUANDL, "MSFT", "MSFT"),
    (QUANDL, "ZEN", "ZEN"),
    ("GOOG.csv", None, "GOOG"),  # backtesting.py's layout, written from the ORCL file below
]


def _goog_like(shared_data: Path, folder: Path) -> Path:
    """backtesting.py's GOOG.csv layout: an unnamed date index, then Open,High,Low,Close,Volume."""
    frame = pd.read_csv(shared_data / "orcl-1995-2014.txt", index_col="Date")
    path = folder / "GOOG.csv"
    frame[["Open", "High", "Low", "Close", "Volume"]].rename_axis(None).to_csv(path)
    assert path.read_text().startswith(",Open,High,Low,Close,Volume\n1995-01-03,")
    return path


def _file(name: str, shared_data: Path, folder: Path) -> Path:
    return _goog_like(shared_data, folder) if name == "GOOG.csv" else shared_data / name


def _sma(bars: dict[str, pd.DataFrame]) -> BacktestResult:
    # Cash enough for 100 BRK_A shares (about $200,000 each in 2014).
    config = BacktestConfig(cash=Decimal(100_000_000), commission=CommissionModel(rate=Decimal("0.001")))
    return run_backtest(bars, SmaCross(10, 30, Decimal(100)), config)


@pytest.mark.parametrize(("name", "symbol", "stored_as"), REAL_FILES, ids=[f"{f[0]}:{f[2]}" for f in REAL_FILES])
def test_file_and_ingested_file_give_identical_bars_and_backtests(
    engine: Engine, shared_data: Path, tmp_path: Path, name: str, symbol: str | None, stored_as: str
) -> None:
    path = _file(name, shared_data, tmp_path)
    from_file = csv_bars(path, symbol=symbol)
    assert list(from_file.bars) == [stored_as]
    summary = ingest_csv(engine, path, symbol=symbol)
    assert summary.rejected == from_file.summary.rejected == 0
    stored = load_bars(engine, stored_as, "1d")
    pd.testing.assert_frame_equal(from_file.bars[stored_as], stored, check_exact=True, check_freq=False)
    in_memory, after_ingest = _sma(from_file.bars), _sma({stored_as: stored})
    assert len(in_memory.fills) == len(after_ingest.fills) > 0
    assert float(in_memory.final_value) == pytest.approx(float(after_ingest.final_value), rel=1e-9)
    for key, value in in_memory.metrics.items():
        other = after_ingest.metrics[key]
        assert (value is None and other is None) or value == pytest.approx(other, rel=1e-9, abs=1e-12), key


def test_backtest_cli_from_the_file_equals_after_ingest(
    workstation_cli: Cli, db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    path = _goog_like(shared_data, tmp_path)
    strategy = ["--fast", "10", "--slow", "30", "--qty", "100", "--commission-rate", "0.001", "--json", "--no-save"]
    from_file = workstation_cli("--database-url", db_url, "backtest", "--csv", str(path), *strategy)
    assert from_file.returncode == ExitCode.OK, from_file.stderr
    ingested = workstation_cli("--database-url", db_url, "ingest", "csv", str(path), "--json")
    assert ingested.returncode == ExitCode.OK, ingested.stderr
    stored = workstation_cli("--database-url", db_url, "backtest", "--symbol", "GOOG", *strategy)
    assert stored.returncode == ExitCode.OK, stored.stderr
    a, b = json.loads(from_file.stdout), json.loads(stored.stdout)
    assert a["input"] == {"rejected": 0, "rejects": [], "adjustment": {"GOOG": "none"}, "interval": "1d",
                          "no_volume": False}  # fmt: skip
    assert a["fills"] == b["fills"]
    assert a["final_value"] == pytest.approx(b["final_value"], rel=1e-9)
    for key, value in a["metrics"].items():
        assert value == pytest.approx(b["metrics"][key], rel=1e-9, abs=1e-12), key


def test_long_file_without_symbol_is_a_usage_error_naming_the_symbols(
    workstation_cli: Cli, shared_data: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bt.db'}"
    done = workstation_cli("--database-url", url, "backtest", "--csv", str(shared_data / QUANDL), "--json")
    assert done.returncode == ExitCode.USAGE
    error = json.loads(done.stdout)
    assert error["error"] == f"{QUANDL} holds 4 symbols (AAPL, BRK_A, MSFT, ZEN): pick one with --symbol"
    missing = workstation_cli("--database-url", url, "backtest", "--csv", str(shared_data / QUANDL), "--symbol", "IBM")
    assert missing.returncode == ExitCode.USAGE
    assert "has no rows for IBM; it holds AAPL, BRK_A, MSFT, ZEN" in missing.stderr


def test_split_in_a_raw_file_is_applied_and_daily_bars_sit_at_new_york_midnight(shared_data: Path) -> None:
    read = csv_bars(shared_data / QUANDL, symbol="AAPL")
    bars = read.bars["AAPL"]
    assert read.summary.symbols["AAPL"].adjustment.startswith("split 7:1 on 2014-06-09: raw prices")
    assert bars.loc["2014-06-06 04:00", "close"] == pytest.approx(645.57 / 7, abs=1e-6)
    assert bars.index[0] == pd.Timestamp("2014-01-02 05:00", tz="UTC")  # EST midnight
    assert bars["close"].pct_change().abs().max() < 0.1


def test_zero_prices_and_duplicate_dates_are_handled_like_ingest(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    rows = [f"2024-01-{d:02d},10,11,9,10.{d},100" for d in range(2, 30)]
    rows.insert(5, "2024-01-06,0,11,9,10,100")  # a zero price
    rows.insert(9, "2024-01-09,12,13,11,12.5,100")  # the same date again, later in the file
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    read = csv_bars(path)
    reasons = {r.row: r.reason for r in read.summary.rejects}
    assert reasons == {
        7: "open must be > 0; low > open",
        11: "duplicate timestamp 2024-01-09 05:00:00+00:00 (kept row 10)",
    }
    bars = read.bars["ODD"]
    assert bars.loc["2024-01-09 05:00", "close"] == 10.9  # the first of the two, as ingest keeps
    assert (bars[["open", "high", "low", "close"]] > 0).all().all()
    ingest_csv(engine, path)
    pd.testing.assert_frame_equal(bars, load_bars(engine, "ODD"), check_exact=True, check_freq=False)


def test_rejected_rows_run_on_the_good_ones_and_exit_1_unless_strict(workstation_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    rows = [f"2024-{m:02d}-{d:02d},10,11,9,{10 + (d % 7) / 10},100" for m in (1, 2, 3) for d in range(1, 29)]
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join([*rows, "2024-04-01,10,9,11,10,5"]) + "\n")
    url = f"sqlite:///{tmp_path / 'bt.db'}"
    args = ["--database-url", url, "backtest", "--csv", str(path), "--symbol", "B", "--fast", "2", "--slow", "5"]
    partial = workstation_cli(*args, "--json")
    assert partial.returncode == ExitCode.REFUSED, partial.stderr
    payload = json.loads(partial.stdout)
    assert payload["input"]["rejects"] == [{"row": 86, "symbol": "B", "reason": "high < low"}]
    assert payload["run_id"].startswith("bt-")
    strict = workstation_cli(*args, "--strict")
    assert strict.returncode == ExitCode.REFUSED
    assert "nothing run (--strict)" in strict.stderr
    assert strict.stdout == ""


def test_end_date_includes_that_days_bar(shared_data: Path) -> None:
    from workstation.cli.backtest import _when

    read = csv_bars(
        shared_data / "orcl-1995-2014.txt", start=_when("2014-12-01", "--start"), end=_when("2014-12-31", "--end",
        end_of_day=True),
    )  # fmt: skip
    bars = read.bars["ORCL"]
    assert bars.index[0].date().isoformat() == "2014-12-01"
    assert bars.index[-1] == pd.Timestamp("2014-12-31 05:00", tz="UTC")


def test_symbol_names_a_one_symbol_file(shared_data: Path) -> None:
    read = csv_bars(shared_data / "orcl-1995-2014.txt", symbol="OR1")
    assert list(read.bars) == ["OR1"]
    with pytest.raises(InvalidInputError, match="holds 4 symbols"):
        csv_bars(shared_data / QUANDL)
