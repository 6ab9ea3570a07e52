"""Backtest and trading reports: the numbers shown are the stored results, in every format."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from workstation.db.engine import create_db_engine
from workstation.db.models import Fill, Order
from workstation.market.ingest import ingest_csv
from workstation.reports.period import ReportPeriod
from workstation.reports.render_html import render_html
from workstation.reports.trading import build_trading_report


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workstation", "--database-url", db_url, *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def backtest_db(db_url: str, shared_data: Path) -> tuple[str, dict[str, object]]:
    result = _cli(
        db_url, "backtest", "--strategy", "sma_cross", "--fast", "15", "--slow", "30",
        "--csv", str(shared_data / "orcl-1995-2014.txt"), "--cash", "100000", "--qty", "1000",
        "--commission-rate", "0.001", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return db_url, json.loads(result.stdout)


@pytest.mark.slow
def test_backtest_report_in_all_formats(backtest_db: tuple[str, dict[str, object]], tmp_path: Path) -> None:
    db_url, stored = backtest_db
    final_value = f"${float(stored['final_value']):,.2f}"  # type: ignore[arg-type]
    for fmt in ("html", "pdf", "csv", "xlsx"):
        result = _cli(db_url, "report", "--kind", "backtest", "--out", str(tmp_path / f"bt.{fmt}"))
        assert result.returncode == 0, result.stderr
    html = (tmp_path / "bt.html").read_text()
    for section in ("Summary", "Performance", "Monthly returns", "Trades", "Fills", "Positions at the end"):
        assert section in html
    assert final_value in html
    assert "$2.5185" in html  # the first fill: 1,000 ORCL on 1995-05-16 at 2.518518
    assert html.count("<svg") == 2  # equity and drawdown

    from pypdf import PdfReader

    pdf_text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(tmp_path / "bt.pdf").pages)
    assert final_value in pdf_text
    assert "Monthly returns" in pdf_text

    from openpyxl import load_workbook

    workbook = load_workbook(tmp_path / "bt.xlsx")
    assert {"metrics", "monthly_returns", "trades", "fills", "positions"} <= set(workbook.sheetnames)
    fills = workbook["fills"]
    assert fills["E2"].value == pytest.approx(2.518518)
    assert fills.max_row - 1 == len(stored["fills"])  # type: ignore[arg-type]
    trades_csv = (tmp_path / "bt.trades.csv").read_text().splitlines()
    assert len(trades_csv) - 1 == len(stored["trades"])  # type: ignore[arg-type]


def test_unknown_backtest_is_a_clear_error(db_url: str, tmp_path: Path) -> None:
    result = _cli(db_url, "report", "--kind", "backtest", "--out", str(tmp_path / "x.html"))
    assert result.returncode == 1  # nothing stored to report on yet: refused, not a usage error
    assert "no stored backtest" in result.stderr
    assert "Traceback" not in result.stderr


def _seed_account(engine: Engine, shared_data: Path) -> None:
    summary = ingest_csv(engine, shared_data / "orcl-1995-2014.txt", symbol="ORCL")
    assert summary.rejected == 0
    buy_at = datetime(2014, 6, 2, 15, 0, tzinfo=UTC)
    sell_at = datetime(2014, 9, 2, 15, 0, tzinfo=UTC)
    with Session(engine) as session:
        for order_id, side, at, price in (("o-buy", "buy", buy_at, "40"), ("o-sell", "sell", sell_at, "42")):
            session.add(
                Order(
                    order_id=order_id,
                    symbol="ORCL",
                    side=side,
                    quantity=Decimal(100),
                    order_type="market",
                    status="filled",
                    broker="paper",
                    filled_quantity=Decimal(100),
                    created_at=at,
                )
            )
            session.flush()
            session.add(
                Fill(
                    fill_id=f"f-{order_id}",
                    order_id=order_id,
                    symbol="ORCL",
                    quantity=Decimal(100),
                    price=Decimal(price),
                    commission=Decimal("1.00"),
                    timestamp=at,
                    cumulative_quantity=Decimal(100),
                )
            )
        session.commit()  # fmt: skip


def test_trading_report_rebuilds_equity_from_fills(engine: Engine, shared_data: Path) -> None:
    _seed_account(engine, shared_data)
    document = build_trading_report(engine, ReportPeriod(date(2014, 1, 1), date(2014, 12, 31)))
    tables = {t.name: t for t in document.tables()}
    metrics = {r["metric"]: r["value"] for r in tables["metrics"].rows}
    assert metrics["Fills"] == 2
    assert metrics["Commission"] == Decimal("2.00")
    assert metrics["Realised P&L (all time, before commission)"] == Decimal(200)
    # Flat at the end: equity = 100,000 + 200 − 2 commission.
    assert metrics["Equity at the end"] == pytest.approx(100_198.0)
    (trade,) = tables["trades"].rows
    assert trade["pnl"] == Decimal(198)
    assert tables["positions"].rows == []
    assert tables["monthly_returns"].rows[0]["year"] == "2014"


def test_trading_report_cli(db_url: str, shared_data: Path, tmp_path: Path) -> None:
    engine = create_db_engine(db_url)
    _seed_account(engine, shared_data)
    engine.dispose()
    result = _cli(db_url, "report", "--kind", "trading", "--out", str(tmp_path / "t.xlsx"), "--from", "2014-01-01")
    assert result.returncode == 0, result.stderr
    from openpyxl import load_workbook

    assert load_workbook(tmp_path / "t.xlsx")["fills"].max_row == 3


def _add_fill(session: Session, order_id: str, side: str, quantity: int, price: str, at: datetime) -> None:
    session.add(
        Order(order_id=order_id, symbol="ORCL", side=side, quantity=Decimal(quantity), order_type="market",
              status="filled", broker="paper", filled_quantity=Decimal(quantity), created_at=at)
    )  # fmt: skip
    session.flush()
    session.add(
        Fill(fill_id=f"f-{order_id}", order_id=order_id, symbol="ORCL", quantity=Decimal(quantity),
             price=Decimal(price), commission=Decimal("1.00"), timestamp=at, cumulative_quantity=Decimal(quantity))
    )  # fmt: skip


def test_partly_closed_round_trip_shows_what_is_still_open(engine: Engine, shared_data: Path) -> None:
    """Bought 10 at 40, sold 5 at 42: the round trip reached 10 shares and 5 are still open."""
    assert ingest_csv(engine, shared_data / "orcl-1995-2014.txt", symbol="ORCL").rejected == 0
    from workstation.market.bars import load_bars

    last_close = Decimal(str(load_bars(engine, "ORCL", "1d")["close"].iloc[-1]))
    with Session(engine) as session:
        _add_fill(session, "o-buy", "buy", 10, "40", datetime(2014, 6, 2, 15, 0, tzinfo=UTC))
        _add_fill(session, "o-sell", "sell", 5, "42", datetime(2014, 9, 2, 15, 0, tzinfo=UTC))
        session.commit()
    document = build_trading_report(engine, ReportPeriod(date(2014, 1, 1), date(2014, 12, 31)))
    tables = {t.name: t for t in document.tables()}
    (trade,) = tables["trades"].rows
    assert trade["quantity"] == 10  # the largest size of the round trip
    assert trade["open_quantity"] == 5
    assert trade["status"] == "partly closed, rest open (marked)"
    # 5 × (42 − 40) realised + 5 × (last close − 40) marked − 2 × 1.00 commission (the trip's average exit
    # price is kept to six decimals, so the sum may differ in the sixth).
    assert abs(trade["pnl"] - (Decimal(10) + 5 * (last_close - 40) - 2)) < Decimal("0.00001")
    (position,) = tables["positions"].rows
    assert (position["quantity"], position["average_price"], position["mark"]) == (5, 40, last_close)
    assert position["unrealised_pnl"] == 5 * (last_close - 40)
    html = render_html(document)
    assert "partly closed, rest open (marked)" in html
    assert "<th>Still open</th>" in html
