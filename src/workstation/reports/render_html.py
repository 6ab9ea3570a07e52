"""One self-contained HTML file: inline CSS, charts as inline SVG, no external requests."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from workstation.reports.charts import line_chart_svg
from workstation.reports.document import ColumnFormat, KeyValues, LineChart, Paragraph, ReportDocument, Table
from workstation.reports.formatting import format_value

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 32px; color: #1d2733; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 2px solid #1f77b4; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.meta { color: #5b6775; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 12px; }
th, td { border: 1px solid #d5dbe1; padding: 4px 8px; }
th { background: #eef2f6; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.when { white-space: nowrap; }
tr:nth-child(even) td { background: #f8fafc; }
p.note { color: #5b6775; font-size: 11px; }
.chart { margin: 8px 0 16px; }
"""

NUMERIC = {"int", "number", "money", "percent"}
WHEN = {"datetime", "date"}  # a number or a time never wraps: a row stays one line high (and one page)


def _cell_class(fmt: ColumnFormat) -> str:
    return ' class="num"' if fmt in NUMERIC else ' class="when"' if fmt in WHEN else ""


def _table_html(table: Table, tz: str) -> str:
    head = "".join(f"<th>{escape(c.title)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for c in table.columns:
            text = escape(format_value(row.get(c.key), c.format, decimals=c.decimals, tz=tz))
            cls = _cell_class(c.format)
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not table.rows:
        body.append(f'<tr><td colspan="{len(table.columns)}">none</td></tr>')
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return f'<h3>{escape(table.title)}</h3><table data-name="{escape(table.name)}"><thead><tr>{head}</tr></thead>' + (
        f"<tbody>{''.join(body)}</tbody></table>{note}"
    )


def _key_values_html(block: KeyValues, tz: str) -> str:
    rows = "".join(
        f"<tr><th>{escape(k)}</th>"
        + "".join(f"<td{_cell_class(f)}>{escape(format_value(one, f, tz=tz))}</td>" for one in block.values(v))
        + "</tr>"
        for k, v, f in block.items
    )
    head = ""
    if len(block.value_titles) > 1:
        head = "<thead><tr><th></th>" + "".join(f"<th>{escape(t)}</th>" for t in block.value_titles) + "</tr></thead>"
    return f"<h3>{escape(block.title)}</h3><table>{head}{rows}</table>"


def _inline_svg(chart: LineChart, _index: int) -> str:
    return f'<div class="chart">{line_chart_svg(chart)}</div>'


def render_html(document: ReportDocument, chart_html: Callable[[LineChart, int], str] = _inline_svg) -> str:
    """The report as HTML. ``chart_html`` decides how a chart is embedded (inline SVG by default)."""
    tz = document.timezone
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(document.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(document.title)}</h1>",
        f'<p class="meta">{escape(document.subtitle)}<br>Generated '
        f"{escape(format_value(document.generated_at, 'datetime', tz=tz))} · times in {escape(tz)}</p>",
    ]
    charts = 0
    for section in document.sections:
        parts.append(f"<h2>{escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                parts.append(_table_html(block, tz))
            elif isinstance(block, KeyValues):
                parts.append(_key_values_html(block, tz))
            elif isinstance(block, LineChart):
                parts.append(chart_html(block, charts))
                charts += 1
            elif isinstance(block, Paragraph):
                parts.append(f"<p>{escape(block.text)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def write_html(document: ReportDocument, path: Path) -> Path:
    path.write_text(render_html(document), encoding="utf-8")
    return path
