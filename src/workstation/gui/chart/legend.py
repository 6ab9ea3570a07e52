"""Pane legends: each indicator's name with its parameters and its value at the crosshair (or the last bar).

A legend sits in the top-left corner of its pane (a child of the pane's ViewBox, so it stays put
while the data pans) and lists groups: ``SMA(20) 123.45``, ``BB(20, 2) 130.20 / 125.10 / 120.00``.
A group with a link (the indicator's key) is clickable: the chart opens that indicator's parameters.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsTextItem

FloatArray = NDArray[np.float64]


@dataclass(slots=True)
class LegendGroup:
    title: str
    color: str
    link: str | None = None  # what a click on the title asks for (an indicator key)
    lines: list[FloatArray] = field(default_factory=list)


def format_value(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}" if magnitude >= 100_000 else f"{value:,.2f}"
    return f"{value:.2f}" if magnitude >= 1 else f"{value:.4f}"


class PaneLegend:
    def __init__(self, view_box: pg.ViewBox, on_link: object = None) -> None:
        self._groups: dict[str, LegendGroup] = {}
        self._header = ""  # a first line above the groups (the price pane's OHLC readout), HTML
        self._index = -1
        self._text_color = "#b2b5be"
        self.item = QGraphicsTextItem()
        self.item.setParentItem(view_box)
        self.item.setPos(4, 0)
        self.item.setZValue(1000)
        self.item.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.item.setOpenExternalLinks(False)
        if callable(on_link):
            self.item.linkActivated.connect(on_link)

    def set_group(self, key: str, group: LegendGroup) -> None:
        self._groups[key] = group
        self._render()

    def remove_group(self, key: str) -> None:
        if self._groups.pop(key, None) is not None:
            self._render()

    def clear(self) -> None:
        self._groups.clear()
        self._render()

    def groups(self) -> dict[str, LegendGroup]:
        return dict(self._groups)

    def set_text_color(self, color: str) -> None:
        self._text_color = color
        self._render()

    def set_header(self, html_text: str) -> None:
        if html_text != self._header:
            self._header = html_text
            self._render()

    def show_index(self, index: int) -> None:
        """Values at bar ``index`` (-1: the last bar)."""
        if index != self._index:
            self._index = index
            self._render()

    def text(self) -> str:
        """The legend as plain text (tests, accessibility)."""
        return self.item.toPlainText()

    def _render(self) -> None:
        parts = []
        for group in self._groups.values():
            title = html.escape(group.title)
            color = QColor(group.color).name()
            if group.link:
                title = f'<a href="{html.escape(group.link)}" style="color:{color}; text-decoration:none">{title}</a>'
            else:
                title = f'<span style="color:{color}">{title}</span>'
            values = " / ".join(format_value(self._value(line)) for line in group.lines)
            parts.append(f"{title} <span style='color:{self._text_color}'>{values}</span>")
        body = "&nbsp;&nbsp;".join(parts)
        self.item.setHtml(f"{self._header}<br>{body}" if self._header and body else self._header or body)

    def _value(self, line: FloatArray) -> float:
        if len(line) == 0:
            return math.nan
        index = len(line) - 1 if self._index < 0 or self._index >= len(line) else self._index
        return float(line[index])
