"""The report's tables as CSV files (one per table) or one XLSX workbook (one sheet per table)."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from workstation.reports.document import ColumnFormat, ReportDocument, Table

_XLSX_FORMATS: dict[ColumnFormat, str] = {
    "int": "#,##0",
    "number": "#,##0.00",
    "money": '"$"#,##0.00',
    "percent": "0.00%",
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
}


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value


def write_csv(document: ReportDocument, path: Path) -> list[Path]:
    """Write each table to ``<stem>.<table>.csv`` beside ``path``; a single-table report writes ``path`` itself."""
    tables = document.tables()
    written: list[Path] = []
    for table in tables:
        target = path if len(tables) == 1 else path.with_name(f"{path.stem}.{table.name}{path.suffix or '.csv'}")
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.title for c in table.columns])
            for row in table.rows:
                writer.writerow([_csv_value(row.get(c.key)) for c in table.columns])
        written.append(target)
    return written


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: the header says which one
    if isinstance(value, dict | list):
        return str(value)
    return value


def write_xlsx(document: ReportDocument, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    summary = workbook.active
    summary.title = "report"
    summary.append([document.title])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([document.subtitle])
    summary.append([f"Generated {document.generated_at.isoformat()}; times in UTC"])
    used: set[str] = {"report"}
    for table in document.tables():
        sheet = workbook.create_sheet(_unique_sheet_name(table, used))
        _fill_sheet(sheet, table, Font, get_column_letter)
    workbook.save(path)
    return path


def _unique_sheet_name(table: Table, used: set[str]) -> str:
    base = table.name[:31] or "table"
    name, n = base, 2
    while name in used:
        suffix = f"_{n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name)
    return name


def _fill_sheet(sheet: Any, table: Table, font: Any, column_letter: Any) -> None:
    sheet.append([c.title for c in table.columns])
    for cell in sheet[1]:
        cell.font = font(bold=True)
    for row in table.rows:
        sheet.append([_xlsx_value(row.get(c.key)) for c in table.columns])
    for index, column in enumerate(table.columns, start=1):
        letter = column_letter(index)
        number_format = _XLSX_FORMATS.get(column.format)
        if number_format:
            for cell in sheet[letter][1:]:
                cell.number_format = number_format
        width = max([len(column.title)] + [len(str(row.get(column.key, ""))) for row in table.rows[:200]])
        sheet.column_dimensions[letter].width = min(max(10, width + 2), 60)
    sheet.freeze_panes = "A2"
