"""The printed report's pages: headings stay with what they introduce, table headers repeat cleanly, nothing is
lost or drawn over something else. Checked on the text positions in the written PDF (pypdf)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from workstation.reports.document import Column, LineChart, Paragraph, ReportDocument, Section, Table
from workstation.reports.render_pdf import write_pdf

T0 = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)
ROW_COUNTS = range(3, 40, 3)


@dataclass(frozen=True)
class Run:
    page: int
    x: float
    y: float  # PDF points from the bottom of the page
    size: float
    text: str


def _multiply(a: list[float], b: list[float]) -> list[float]:
    return [
        a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5],
    ]  # fmt: skip


def _page_runs(page: Any, number: int) -> list[Run]:
    found: list[Run] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        if text.strip():
            matrix = _multiply(tm, cm)
            found.append(Run(number, matrix[4], matrix[5], abs(size * matrix[3]), " ".join(text.split())))

    page.extract_text(visitor_text=visit)
    return sorted(found, key=lambda r: (-r.y, r.x))


def text_runs(path: Path) -> list[list[Run]]:
    """Every piece of text on every page with its position and size, top of the page first."""
    from pypdf import PdfReader

    pages: list[list[Run]] = []
    for number, page in enumerate(PdfReader(path).pages):
        pages.append(_page_runs(page, number))
    return pages


def _overlapping(runs: list[Run]) -> list[tuple[Run, Run]]:
    """Pairs of runs drawn over each other: lines closer than their size allows, horizontally overlapping."""
    clashes = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            if 0.5 < abs(a.y - b.y) < 0.8 * min(a.size, b.size):
                a_end, b_end = a.x + 0.5 * a.size * len(a.text), b.x + 0.5 * b.size * len(b.text)
                if a.x < b_end and b.x < a_end:
                    clashes.append((a, b))
    return clashes


def _document() -> ReportDocument:
    """Tables of 3, 6, … 39 rows and charts, so that headings and table ends fall at many places on pages."""
    sections = []
    xs = [T0 + timedelta(days=i) for i in range(40)]
    for n in ROW_COUNTS:
        rows = [{"a": f"row {i} of {n}", "b": i, "c": "x" * (i % 7)} for i in range(n)]
        columns = [Column("a", "Name"), Column("b", "Number", "int"), Column("c", "Text")]
        blocks: list[Table | Paragraph | LineChart] = [
            Paragraph(f"Text before table {n}."),
            Table(f"t{n}", f"Table with {n} rows", columns, rows),
        ]
        if n % 9 == 0:
            blocks.append(LineChart(f"Chart {n}", xs, {"line": [math.sin(i / 5) for i in range(40)]}))
        sections.append(Section(f"Section {n}", blocks))
    return ReportDocument("test", "Paging", "many tables", T0, "UTC", sections)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[list[Run]]:
    path = write_pdf(_document(), tmp_path_factory.mktemp("pdf") / "paging.pdf")
    return text_runs(path)


def _find(pages: list[list[Run]], text: str) -> list[Run]:
    return [r for runs in pages for r in runs if r.text == text]


def test_every_heading_is_printed_once(pages: list[list[Run]]) -> None:
    assert len(pages) > 5
    for n in ROW_COUNTS:
        assert len(_find(pages, f"Section {n}")) == 1
        assert len(_find(pages, f"Table with {n} rows")) == 1
        assert len(_find(pages, f"row {n - 1} of {n}")) == 1


def test_no_page_ends_with_a_heading(pages: list[list[Run]]) -> None:
    headings = {f"Section {n}" for n in ROW_COUNTS} | {f"Table with {n} rows" for n in ROW_COUNTS}
    headings |= {f"Text before table {n}." for n in ROW_COUNTS}  # a section's introduction goes with it
    for runs in pages:
        assert runs[-1].text not in headings, f"page {runs[-1].page + 1} ends with {runs[-1].text!r}"


def test_a_table_title_shares_its_page_with_the_header_and_first_rows(pages: list[list[Run]]) -> None:
    for n in ROW_COUNTS:
        (title,) = _find(pages, f"Table with {n} rows")
        for i in range(min(3, n)):
            (row,) = _find(pages, f"row {i} of {n}")
            assert row.page == title.page, f"table {n}: row {i} on page {row.page + 1}, title on {title.page + 1}"
        header = [r for r in pages[title.page] if r.text == "Name" and r.y < title.y]
        assert header and max(h.y for h in header) > _find(pages, f"row 0 of {n}")[0].y


def test_continued_tables_repeat_their_header_directly_above_the_rows(pages: list[list[Run]]) -> None:
    continued = 0
    for n in ROW_COUNTS:
        rows = [_find(pages, f"row {i} of {n}")[0] for i in range(n)]
        for previous, row in itertools.pairwise(rows):
            if row.page == previous.page:
                continue
            continued += 1
            runs = pages[row.page]
            above = [r for r in runs if r.y > row.y + 0.5]
            # Only the repeated header is above the first continued row: not a heading, not other text.
            assert {r.text for r in above} == {"Name", "Number", "Text"}, f"table {n}, page {row.page + 1}"
            assert max(r.y for r in above) - row.y < 3 * row.size
    assert continued >= 3


def test_nothing_is_drawn_over_anything_else(pages: list[list[Run]]) -> None:
    for runs in pages:
        assert _overlapping(runs) == []
