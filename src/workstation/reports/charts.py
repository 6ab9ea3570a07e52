"""Line charts as standalone SVG: embedded inline in HTML and rasterised by Qt for PDF."""

from __future__ import annotations

import math
from datetime import datetime
from html import escape

from workstation.reports.document import LineChart
from workstation.reports.formatting import format_value

WIDTH, HEIGHT = 900, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 45, 30, 40
LEGEND_SWATCH, LEGEND_CHAR_WIDTH = 18, 7  # px; the character width is a generous average at 12 px
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd")


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 12))
        value += step
    return ticks


def line_chart_svg(chart: LineChart) -> str:
    values = [v for series in chart.series.values() for v in series if v is not None and math.isfinite(v)]
    n = len(chart.x)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{MARGIN_LEFT}" y="18" font-size="14" font-weight="bold">{escape(chart.title)}</text>',
    ]
    if n < 2 or not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data</text></svg>')
        return "".join(parts)
    low, high = min(values), max(values)
    if chart.fill_below_zero:
        high = max(high, 0.0)
    if high == low:
        low, high = low - 1, high + 1
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def sx(i: int) -> float:
        return MARGIN_LEFT + plot_w * i / (n - 1)

    def sy(v: float) -> float:
        return MARGIN_TOP + plot_h * (high - v) / (high - low)

    for tick in _nice_ticks(low, high):
        y = sy(tick)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>'
        )
        label = escape(format_value(tick, chart.y_format, decimals=1 if chart.y_format == "percent" else 0))
        parts.append(f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{label}</text>')
    for j in range(5):
        i = round(j * (n - 1) / 4)
        stamp: datetime = chart.x[i]
        parts.append(
            f'<text x="{sx(i):.1f}" y="{HEIGHT - 14}" text-anchor="middle" fill="#555">{stamp:%Y-%m-%d}</text>'
        )
    parts.append(
        f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>'
    )
    # The legend sits in the title band, right-aligned: inside the plot it would cover the lines' start.
    widths = [LEGEND_SWATCH + 6 + LEGEND_CHAR_WIDTH * len(name) + 16 for name in chart.series]
    legend_x = WIDTH - MARGIN_RIGHT - sum(widths)
    for k, (name, series) in enumerate(chart.series.items()):
        color = PALETTE[k % len(PALETTE)]
        x = legend_x + sum(widths[:k])
        parts.append(
            f'<line x1="{x:.1f}" x2="{x + LEGEND_SWATCH:.1f}" y1="14" y2="14" stroke="{color}" stroke-width="3"/>'
            f'<text x="{x + LEGEND_SWATCH + 6:.1f}" y="18" fill="#333">{escape(name)}</text>'
        )
        points = " ".join(
            f"{sx(i):.1f},{sy(v):.1f}" for i, v in enumerate(series) if v is not None and math.isfinite(v)
        )
        if chart.fill_below_zero:
            zero = sy(0.0)
            parts.append(
                f'<polygon points="{sx(0):.1f},{zero:.1f} {points} {sx(n - 1):.1f},{zero:.1f}" '
                f'fill="{color}" fill-opacity="0.25" stroke="none"/>'
            )
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.5"/>')
    parts.append("</svg>")
    return "".join(parts)
