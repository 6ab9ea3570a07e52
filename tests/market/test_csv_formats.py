"""European and odd CSV files: delimiters, decimal commas, day-first dates, byte-order marks, Windows and
Latin-1 text, files without volume — detected, or forced with --delimiter/--decimal/--dayfirst/--no-volume,
the same for ``ingest csv`` and ``backtest --csv`` (one reader), with no library warning on the way."""

from __future__ import annotations

import json
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from workstation.errors import ExitCode, InvalidInputError
from workstation.market.bars import load_bars
from workstation.market.ingest import ingest_csv
from workstation.market.providers.csv_format import (
    CsvFormat,
    detect_decimal,
    detect_delimiter,
    digits_may_be_grouped,
    to_plain_numbers,
)
from workstation.trading.backtest.inputs import csv_bars

Cli = Callable[..., subprocess.CompletedProcess[str]]

# A German broker's export: cp1252, CRLF, semicolons, decimal commas with thousands dots, dd.mm.yyyy.
GERMAN = (
    "Datum;Eröffnung;Hoch;Tief;Schluss;Volumen\r\n"
    "30.12.2014;1.234,50;1.240,00;1.230,25;1.235,75;1.234.567\r\n"
    "31.12.2014;1.235,75;1.236,00;1.220,00;1.225,10;987.654\r\n"
    "02.01.2015;1.225,10;1.230,00;1.221,00;1.229,90;500\r\n"
)
GERMAN_BARS = pd.DataFrame(
    {
        "open": [1234.50, 1235.75, 1225.10],
        "high": [1240.00, 1236.00, 1230.00],
        "low": [1230.25, 1220.00, 1221.00],
        "close": [1235.75, 1225.10, 1229.90],
        "volume": [1_234_567, 987_654, 500],
    },
    index=pd.DatetimeIndex(
        [pd.Timestamp(d, tz="America/New_York").tz_convert("UTC") for d in ("2014-12-30", "2014-12-31", "2015-01-02")],
        name="timestamp",
    ),
)
# The reproduction: English headers, semicolons and decimal commas.
SEMICOLONS = (
    "Date;Open;High;Low;Close;Volume\n2014-12-30;10,5;11,25;10,0;11,0;1000\n2014-12-31;11,0;11,5;10,75;11,25;900\n"
)


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def _no_warnings(read: Callable[[], object]) -> object:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Not the reader's: a connection another test left behind may be collected meanwhile.
        warnings.simplefilter("ignore", ResourceWarning)
        result = read()
    assert [str(w.message) for w in caught] == []
    return result


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-8", "utf-8-sig", "utf-16"])
def test_german_export_in_any_encoding(engine: Engine, tmp_path: Path, encoding: str) -> None:
    path = _write(tmp_path, "SAP.csv", GERMAN, encoding)
    summary = _no_warnings(lambda: ingest_csv(engine, path))
    assert summary.rejected == 0  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(load_bars(engine, "SAP"), GERMAN_BARS, check_exact=True, check_freq=False)
    pd.testing.assert_frame_equal(csv_bars(path).bars["SAP"], GERMAN_BARS, check_exact=True, check_freq=False)


def test_latin1_bytes_that_are_not_windows_1252(engine: Engine, tmp_path: Path) -> None:
    # 0x81 is unassigned in Windows-1252, so only Latin-1 reads this file.
    path = tmp_path / "L1.csv"
    path.write_bytes(b"Date,Open,High,Low,Close,Volume,Note\n2024-01-02,1,2,0.5,1.5,10,caf\xe9 \x81\n")
    ingest_csv(engine, path)
    assert list(load_bars(engine, "L1")["close"]) == [1.5]


def test_tab_separated_with_a_byte_order_mark(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "TABS.csv", "Date\tOpen\tHigh\tLow\tClose\tVolume\n2014-12-31\t1.5\t2\t1\t1.8\t7\n", "utf-8-sig"
    )
    ingest_csv(engine, path)
    assert list(load_bars(engine, "TABS")["close"]) == [1.8]


@pytest.mark.parametrize(
    ("dates", "option", "expected"),
    [
        (["31.12.2014", "02.01.2015"], None, ["2014-12-31", "2015-01-02"]),  # a day above 12: day first
        (["12/31/2014", "01/02/2015"], None, ["2014-12-31", "2015-01-02"]),  # a month above 12: month first
        (["01.02.2014", "03.02.2014"], None, ["2014-02-01", "2014-02-03"]),  # ambiguous dots: day first
        (["01/02/2014", "01/03/2014"], None, ["2014-01-02", "2014-01-03"]),  # ambiguous slashes: month first
        (["01/02/2014", "03/02/2014"], True, ["2014-02-01", "2014-02-03"]),  # --dayfirst
        (["01.02.2014", "01.03.2014"], False, ["2014-01-02", "2014-01-03"]),  # --monthfirst
        (["2014-01-02", "2014-01-03"], True, ["2014-01-02", "2014-01-03"]),  # ISO is never reordered
        (["2014/01/02", "2014/01/03"], True, ["2014-01-02", "2014-01-03"]),  # nor is a year first
        (["31.12.2013", "01.02.2014"], False, ["2013-12-31", "2014-01-02"]),  # --monthfirst, where it can apply
    ],
)
def test_date_order(tmp_path: Path, dates: list[str], option: bool | None, expected: list[str]) -> None:
    rows = "".join(f"{d},1,2,0.5,1.5,10\n" for d in dates)
    path = _write(tmp_path, "D.csv", "Date,Open,High,Low,Close,Volume\n" + rows)
    bars = _no_warnings(lambda: csv_bars(path, fmt=CsvFormat(dayfirst=option), interval="1d")).bars["D"]  # type: ignore[attr-defined]
    assert [t.tz_convert("America/New_York").date().isoformat() for t in bars.index] == expected


def test_day_first_intraday_times(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "I.csv", "Date;Open;High;Low;Close;Volume\n31.12.2014 15:30;1;2;0,5;1,5;10\n"
                  "31.12.2014 15:45;1;2;0,5;1,5;10\n")  # fmt: skip
    summary = ingest_csv(engine, path)
    assert summary.interval == "15m"
    assert load_bars(engine, "I", "15m").index[0] == pd.Timestamp("2014-12-31 20:30", tz="UTC")


def test_detection_rules() -> None:
    assert detect_delimiter("Date;Open;High;Low;Close\n31.12.2014;1,5;2,0;1,0;1,8\n") == ";"
    assert detect_delimiter("Date,Open,High\n2014-01-02,1,2\n") == ","
    assert detect_delimiter("a|b|c\n1|2|3\n") == "|"
    assert detect_decimal(["1,5", "12,25"], ";") == ","
    assert detect_decimal(["1.5", "1,234.5"], ",") == "."
    assert detect_decimal(["1.234,56", "7,5"], ";") == ","
    assert detect_decimal(["1,234", "2,345"], ";") == ","  # only ambiguous cells, a comma outside quotes
    assert detect_decimal(["1,234", "2,345"], ",") == "."  # quoted commas in a comma file: thousands
    numbers = pd.Series(["1.234,56", "7,5", "1.234.567", "abc", "1,2,3"])
    assert list(to_plain_numbers(numbers, ",")) == ["1234.56", "7.5", "1234567", "abc", "1.2.3"]
    assert list(to_plain_numbers(pd.Series(["1,234.5", "10", "1,2"]), ".")) == ["1234.5", "10", "1,2"]
    assert not digits_may_be_grouped("Date,Open\n2024-01-02 09:30,1.5\n", ",")
    assert digits_may_be_grouped('Date,Open\n2024-01-02,"1,234.5"\n', ",")
    assert digits_may_be_grouped("Date;Open\n2024-01-02;1 234.5\n", ";")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("US.csv", 'Date,Open,High,Low,Close,Volume\n2024-01-02,"1,234.5","1,240.0","1,230.0","1,235.0","1,000,000"\n'),
        ("FR.csv", "Date;Open;High;Low;Close;Volume\n02/01/2024;1 234,5;1 240,0;1 230,0;1 235,0;1 000 000\n"),
        (
            "CH.csv",
            "Date;Open;High;Low;Close;Volume\n02.01.2024;1\u00a0234.5;1\u00a0240.0;1\u00a0230.0;1\u00a0235.0;1\u00a0000\u00a0000\n",
        ),
    ],
)
def test_thousands_separators(tmp_path: Path, name: str, text: str) -> None:
    bars = csv_bars(_write(tmp_path, name, text)).bars[name.split(".")[0]]
    assert bars.iloc[0].tolist() == [1234.5, 1240.0, 1230.0, 1235.0, 1_000_000]
    assert bars.index[0] == pd.Timestamp("2024-01-02 05:00", tz="UTC")


def test_forced_decimal_and_delimiter(tmp_path: Path) -> None:
    # Every number is ambiguous (one separator, three digits after it): detection reads a decimal comma.
    path = _write(tmp_path, "A.csv", "Date;Open;High;Low;Close;Volume\n2024-01-02;1,234;1,500;1,100;1,200;5\n")
    assert csv_bars(path).bars["A"]["close"].iloc[0] == 1.2
    assert csv_bars(path, fmt=CsvFormat(decimal=".")).bars["A"]["close"].iloc[0] == 1200.0
    piped = _write(tmp_path, "P.csv", "Date|Open|High|Low|Close|Volume\n2024-01-02|1|2|0.5|1.5|5\n")
    assert csv_bars(piped, fmt=CsvFormat(delimiter="|")).bars["P"]["close"].iloc[0] == 1.5
    with pytest.raises(InvalidInputError, match=r"cannot find column\(s\) .* \(semicolon-separated\)"):
        csv_bars(piped, fmt=CsvFormat(delimiter=";"))


def test_more_fields_than_the_header_is_an_error_not_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, "X.csv", "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0,5,1,5,10\n")
    with pytest.raises(InvalidInputError, match="more comma-separated fields than the header") as caught:
        _no_warnings(lambda: csv_bars(path))
    assert caught.value.exit_code == ExitCode.USAGE


def test_ingest_and_backtest_cli_read_european_files_without_warnings(
    workstation_cli: Cli, db_url: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, "EU.csv", SEMICOLONS)
    done = workstation_cli("--database-url", db_url, "ingest", "csv", str(path), "--json")
    assert done.returncode == ExitCode.OK, done.stderr
    assert json.loads(done.stdout)["inserted"] == 2
    assert done.stderr == ""  # no ParserWarning, no "cannot find column(s)"
    forced = workstation_cli(
        "--database-url", db_url, "ingest", "csv", str(path), "--delimiter", ";", "--decimal", ",", "--json"
    )
    assert json.loads(forced.stdout)["unchanged"] == 2
    german = _write(tmp_path, "SAP.csv", GERMAN, "cp1252")
    backtest = workstation_cli(
        "--database-url", db_url, "backtest", "--csv", str(german), "--fast", "1", "--slow", "2", "--no-save", "--json"
    )
    assert backtest.returncode == ExitCode.OK, backtest.stderr
    assert backtest.stderr == ""
    assert json.loads(backtest.stdout)["symbols"] == ["SAP"]


def test_a_file_without_volume_needs_no_volume(workstation_cli: Cli, db_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path, "NV.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1.5,2,1,1.8\n")
    refused = workstation_cli("--database-url", db_url, "ingest", "csv", str(path))
    assert refused.returncode == ExitCode.USAGE
    assert "cannot find column(s) volume" in refused.stderr
    assert "--no-volume" in refused.stderr
    stored = workstation_cli("--database-url", db_url, "ingest", "csv", str(path), "--no-volume", "--json")
    assert stored.returncode == ExitCode.OK, stored.stderr
    assert json.loads(stored.stdout)["no_volume"] is True
    text = workstation_cli("--database-url", db_url, "ingest", "csv", str(path), "--no-volume")
    assert "volume stored as 0" in text.stderr
    with_volume = _write(tmp_path, "WV.csv", "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n")
    wrong = workstation_cli("--database-url", db_url, "ingest", "csv", str(with_volume), "--no-volume")
    assert wrong.returncode == ExitCode.USAGE
    assert "has a volume column ('Volume')" in wrong.stderr
    capped = workstation_cli(
        "--database-url", db_url, "backtest", "--csv", str(path), "--no-volume", "--max-volume-share", "0.1"
    )
    assert capped.returncode == ExitCode.USAGE
    assert "--max-volume-share needs volume" in capped.stderr


def test_no_volume_bars_store_zero(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "NV.csv", "Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n")
    summary = ingest_csv(engine, path, no_volume=True)
    assert summary.no_volume
    assert list(load_bars(engine, "NV")["volume"]) == [0]
    assert csv_bars(path, no_volume=True).summary.no_volume


def test_symbols_import_reads_european_files_too(engine: Engine, tmp_path: Path) -> None:
    from workstation.market.symbols import import_symbols_csv, list_symbols

    text = "Symbol;Name;Sector\r\nGLE;Société Générale;Financials\r\n\r\n;Nameless;\r\n"
    summary = import_symbols_csv(engine, _write(tmp_path, "meta.csv", text, "cp1252"))
    assert summary.imported == 1
    assert [r.row for r in summary.rejects] == [4]  # the blank line 3 is skipped, not rejected
    assert {r["symbol"]: r["company_name"] for r in list_symbols(engine)} == {"GLE": "Société Générale"}
