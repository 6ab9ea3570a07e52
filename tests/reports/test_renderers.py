"""Each renderer writes the same document faithfully: HTML, PDF (text extracted), CSV and XLSX."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from workstation.reports.document import Column, KeyValues, LineChart, Paragraph, ReportDocument, Section, Table
from workstation.reports.formatting import format_value
from workstation.reports.render_html import render_html
from workstation.reports.render_pdf import write_pdf
from workstation.reports.render_tabular import write_csv, write_xlsx

T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


@pytest.fixture
def document() -> ReportDocument:
    xs = [T0 + timedelta(days=i) for i in range(60)]
    equity = [100_000 + 500 * math.sin(i / 7) + 40 * i for i in range(60)]
    peak = [max(equity[: i + 1]) for i in range(60)]
    drawdown = [(e - p) / p for e, p in zip(equity, peak, strict=True)]
    fills = Table(
        "fills",
        "Fills",
        [Column("timestamp", "Time", "datetime"), Column("side", "Side"), Column("quantity", "Quantity", "int"),
         Column("price", "Price", "money", 6), Column("commission", "Commission", "money")],
        [{"timestamp": T0, "side": "buy", "quantity": 1000, "price": Decimal("2.518518"),
          "commission": Decimal("2.518518")}],
    )  # fmt: skip
    return ReportDocument(
        kind="backtest",
        title="Backtest: sma_cross on ORCL",
        subtitle="fast 15, slow 30",
        generated_at=T0,
        timezone="America/New_York",
        sections=[
            Section(
                "Performance",
                [
                    KeyValues("Metrics", [("Total return", 0.1234, "percent"), ("Final value", 1234567.891, "money")]),
                    LineChart("Equity", xs, {"equity": equity}, "money"),
                    LineChart("Drawdown", xs, {"drawdown": drawdown}, "percent", fill_below_zero=True),
                    Paragraph("Synthetic example for the renderer test."),
                ],
            ),
            Section("Trades", [fills]),
        ],
    )


def test_formatting_is_for_people() -> None:
    assert format_value(1234567.891, "money") == "$1,234,567.89"
    assert format_value(-0.05, "percent") == "-5.00%"
    assert format_value(1234567, "int") == "1,234,567"
    assert format_value(T0, "datetime", tz="America/New_York") == "2024-01-02 16:00"
    assert format_value(None, "number") == ""


def test_html_is_self_contained(document: ReportDocument) -> None:
    html = render_html(document)
    assert html.count("<svg") == 2
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "<h2>Performance</h2>" in html and "<h2>Trades</h2>" in html
    assert "12.34%" in html and "$1,234,567.89" in html
    assert "2024-01-02 16:00" in html  # UTC 21:00 shown in New York time
    assert "times in America/New_York" in html


def test_pdf_has_the_text(document: ReportDocument, tmp_path: Path) -> None:
    from pypdf import PdfReader

    path = write_pdf(document, tmp_path / "report.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    words = " ".join(text.split())
    assert "Backtest: sma_cross on ORCL" in words
    assert "12.34%" in words
    assert "$2.518518" in words
    assert "America/New_York" in words


def test_csv_writes_one_file_per_table(document: ReportDocument, tmp_path: Path) -> None:
    files = write_csv(document, tmp_path / "report.csv")
    assert [f.name for f in files] == ["report.metrics.csv", "report.fills.csv"]
    with files[1].open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Time", "Side", "Quantity", "Price", "Commission"]
    assert rows[1][1:4] == ["buy", "1000", "2.518518"]


def test_xlsx_has_a_sheet_per_table(document: ReportDocument, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(write_xlsx(document, tmp_path / "report.xlsx"))
    assert workbook.sheetnames == ["report", "metrics", "fills"]
    fills = workbook["fills"]
    assert [c.value for c in fills[1]] == ["Time", "Side", "Quantity", "Price", "Commission"]
    assert fills["D2"].value == pytest.approx(2.518518)
    assert fills["D2"].number_format.startswith('"$"')


def test_a_process_that_wrote_a_pdf_can_still_open_widgets(tmp_path: Path) -> None:
    # Qt allows one application object per process: the PDF writer must not leave a bare
    # QGuiApplication behind, or the window (or a GUI test on the same worker) cannot start.
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from pathlib import Path
        from workstation.reports.document import Paragraph, ReportDocument, Section
        from workstation.reports.render_pdf import write_pdf
        from datetime import UTC, datetime
        doc = ReportDocument(kind="activity", title="t", subtitle="s", generated_at=datetime.now(UTC), timezone="UTC",
                             sections=[Section("One", [Paragraph("text")])])
        write_pdf(doc, Path({str(tmp_path / "r.pdf")!r}))
        from PySide6.QtWidgets import QApplication, QLabel
        assert isinstance(QApplication.instance(), QApplication)
        QLabel("still works")
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
