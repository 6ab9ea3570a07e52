from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, text

from workstation.cli import main, run
from workstation.market.bars import load_bars
from workstation.market.demo import load_demo_universe
from workstation.market.providers.synthetic import generate_universe


def _run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--database-url", db_url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_ingest_csv_json_summary_and_exit_codes(db_url: str, shared_data: Path, tmp_path: Path) -> None:
    code, out = _run(
        db_url, "ingest", "csv", str(shared_data / "zipline_csvdir_KO_2012-2014.csv"), "--symbol", "ko", "--json"
    )
    summary = json.loads(out)
    assert code == 0
    assert set(summary) >= {"inserted", "updated", "unchanged", "rejected", "rejects", "symbols", "failures"}
    assert summary["inserted"] == 754
    assert summary["rejects"] == []
    assert summary["failures"] == {}
    ko = summary["symbols"]["KO"]
    assert set(ko) == {"inserted", "updated", "unchanged", "rejected", "first", "last", "adjustment"}
    assert ko["first"].startswith("2012-01-03")
    assert "already adjusted" in ko["adjustment"]
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10,9,11,10,5\n")
    code, out = _run(db_url, "ingest", "csv", str(bad), "--symbol", "BAD", "--json")
    assert code == 1
    assert json.loads(out)["rejects"] == [{"row": 3, "symbol": "BAD", "reason": "high < low"}]
    code, out = _run(db_url, "ingest", "csv", str(bad), "--symbol", "BAD2", "--strict", "--json")
    assert code == 1
    assert json.loads(out)["written"] is False


def _exit_code(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Through the console-script entry point, which turns user mistakes into one line and an exit code."""
    with pytest.raises(SystemExit) as caught:
        run(list(args))
    return int(caught.value.code or 0), capsys.readouterr().err


def test_usage_errors_exit_2(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_code(capsys, "--database-url", db_url, "ingest", "csv", str(tmp_path / "none.csv"))
    assert code == 2
    assert err.startswith("error: no such file")
    code, err = _exit_code(capsys, "--database-url", db_url, "ingest", "yahoo", "--symbols", "A", "--start", "nope")
    assert code == 2
    assert "--start" in err
    code, err = _exit_code(capsys, "--database-url", db_url, "ingest", "yahoo", "--symbols", "A", "--interval", "15m",
                           "--period", "2y")  # fmt: skip
    assert code == 2
    assert "last 60 days only" in err


def test_symbols_import_and_list(db_url: str, tmp_path: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "Symbol,Name,Sector,Industry,Market Cap,Exchange\n"
        "abc,ABC Corp,Technology,Software,1500000000,NASDAQ\nXYZ,XYZ Inc,,,,\n,Nameless,,,,\nQQQ1,Bad Cap,,,lots,\n"
    )
    code, out = _run(db_url, "symbols", "import", str(meta), "--json")
    summary = json.loads(out)
    assert code == 1
    assert summary["imported"] == 2
    assert [r["row"] for r in summary["rejects"]] == [4, 5]
    code, out = _run(db_url, "symbols", "list", "--json")
    rows = {r["symbol"]: r for r in json.loads(out)}
    assert rows["ABC"]["company_name"] == "ABC Corp"
    assert rows["ABC"]["market_cap"] == 1500000000
    assert rows["XYZ"]["sector"] is None
    assert rows["XYZ"]["bars"] == 0
    code, out = _run(db_url, "symbols", "list")
    assert code == 0
    assert "ABC Corp" in out


def test_demo_universe_is_deterministic_and_labelled() -> None:
    a = generate_universe(symbols=6, years=2, seed=3)
    b = generate_universe(symbols=6, years=2, seed=3)
    assert a.daily.bars.equals(b.daily.bars)
    assert a.hourly.bars.equals(b.hourly.bars)
    assert not a.daily.bars.equals(generate_universe(symbols=6, years=2, seed=4).daily.bars)
    assert all(m["company_name"].endswith("(synthetic)") for m in a.metadata.values())
    assert {m["sector"] for m in a.metadata.values()} == {"Technology", "Healthcare", "Financials", "Energy",
                                                          "Consumer", "Industrials"}  # fmt: skip
    assert len(a.daily.splits) == 2  # raw prices with splits in them, adjusted on the way in
    # Volatility clusters: the day's typical absolute move (jumps and splits clipped) persists.
    closes = a.daily.bars.pivot(index="timestamp", columns="symbol", values="close")
    typical_move = np.log(closes).diff().abs().iloc[1:].clip(upper=0.08).mean(axis=1)
    assert typical_move.autocorr(lag=5) > 0.2
    hourly = a.hourly.bars
    assert hourly.groupby("symbol").size().iloc[0] == 60 * 7


@pytest.mark.slow
def test_demo_load_stores_adjusted_bars_and_reload_is_a_no_op(engine: Engine) -> None:
    summary = load_demo_universe(engine, symbols=6, years=2, seed=3)
    assert summary.exit_code == 0
    split = [s for s, v in summary.symbols.items() if v.adjustment.startswith("split")]
    assert len(split) == 2
    assert all("raw prices" in summary.symbols[s].adjustment for s in split)
    for symbol in split:
        daily = load_bars(engine, symbol, "1d", source="synthetic")
        assert daily["close"].pct_change().abs().max() < 0.35  # the split left no cliff behind
    hourly = load_bars(engine, split[0], "1h")
    daily = load_bars(engine, split[0], "1d")
    assert len(hourly) == 420
    assert hourly["close"].iloc[-1] == pytest.approx(daily["close"].iloc[-1])
    again = load_demo_universe(engine, symbols=6, years=2, seed=3)
    assert again.inserted == 0
    assert again.updated == 0
    assert again.unchanged == summary.inserted
    with engine.connect() as conn:
        names = conn.execute(text("SELECT company_name, source FROM stock_info")).all()
    assert all(n.endswith("(synthetic)") and s == "synthetic" for n, s in names)


def test_demo_load_cli(db_url: str) -> None:
    code, out = _run(db_url, "demo", "load", "--symbols", "3", "--years", "1", "--json")
    assert code == 0
    assert json.loads(out)["inserted"] == 3 * (len(load_bars(create_engine(db_url), "TEC01")) + 420)
